import * as vscode from 'vscode';
import { resolveSettingPath } from '../../core/setting-paths';

/** Section of every setting of the consoles feature. */
export const consolesSection = 'ccaRealmStudio.consoles';

/** The four UARTs of the FVP, in port order. */
export const uarts = ['terminal_0', 'terminal_1', 'terminal_2', 'terminal_3'] as const;
export type Uart = (typeof uarts)[number];

/** Role of each UART on the reference stack, for readable terminal names. */
export const uartRoles: Record<Uart, string> = {
  terminal_0: 'TF-A and normal world',
  terminal_1: 'UART 1',
  terminal_2: 'UART 2',
  terminal_3: 'RMM',
};

export interface ConsoleSettings {
  host: string;
  /** Fallback ports per UART, used until the FVP's output names the real ones. */
  ports: Record<Uart, number>;
  /** Absolute folder of the per-UART log files. */
  logFolder: string;
  logMaxBytes: number;
  /** A file that receives the FVP's stdout, read for its `Listening ... on port` lines. */
  fvpOutputFile: string | undefined;
  autoLogin: boolean;
  user: string;
}

/** Reads the console settings of the first workspace folder. */
export function readConsoleSettings(): ConsoleSettings {
  const folder = vscode.workspace.workspaceFolders?.[0];
  const config = vscode.workspace.getConfiguration(consolesSection, folder);
  const base = folder?.uri.fsPath;
  const configured = config.get<number[]>('ports', [5000, 5001, 5002, 5003]);
  const ports = Object.fromEntries(
    uarts.map((uart, i) => [uart, validPort(configured[i]) ?? 5000 + i]),
  ) as Record<Uart, number>;
  const fvpOutputFile = config.get<string>('fvpOutputFile', '').trim();

  return {
    host: config.get<string>('host', '127.0.0.1').trim() || '127.0.0.1',
    ports,
    logFolder: resolveSettingPath(config.get<string>('logFolder', '.cca/consoles'), base),
    logMaxBytes: Math.max(4096, config.get<number>('logMaxBytes', 10 * 1024 * 1024)),
    fvpOutputFile: fvpOutputFile ? resolveSettingPath(fvpOutputFile, base) : undefined,
    autoLogin: config.get<boolean>('autoLogin', false),
    user: config.get<string>('user', 'root'),
  };
}

function validPort(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isInteger(value) && value > 0 && value < 65536
    ? value
    : undefined;
}
