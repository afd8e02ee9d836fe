import { mkdirSync, statSync } from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import { readAppended } from '../../core/protocol/shared-folder';
import { FvpPortMap } from '../../core/telnet/fvp-ports';
import { TelnetConsole, type ConsoleState } from '../../core/telnet/console';
import { TextTail } from '../../core/telnet/text-tail';
import { readConsoleSettings, uartRoles, uarts, type ConsoleSettings, type Uart } from './settings';

/** Key of the normal-world password in VS Code's SecretStorage. */
export const passwordSecretKey = 'ccaRealmStudio.consoles.password';

// A login prompt, or a shell prompt possibly followed by a terminal query: busybox ash sends a
// cursor position request (ESC [ 6 n) after each prompt.
const escape = String.fromCharCode(0x1b);
const shellPrompt = new RegExp(`[#$] *(?:${escape}\\[[0-9;?]*[A-Za-z])*$`, 'm');
export const loginOrShellPrompt = new RegExp(
  `login: *$|[#$] *(?:${escape}\\[[0-9;?]*[A-Za-z])*$`,
  'm',
);

// Output kept per console for terminals that open later, in characters (about 2 MB of text).
const scrollbackLimit = 2_000_000;

/** Endpoint of a console task: a UART of the FVP, or any telnet endpoint from tasks.json. */
export interface ConsoleTarget {
  /** Unique key: the UART name, or `host:port` for a custom endpoint. */
  key: string;
  label: string;
  host: string;
  /** A fixed port, or undefined to use the discovered or configured port of `uart`. */
  port?: number;
  uart?: Uart;
  logFile: string;
  /** A UART file the FVP writes (its `out_file` parameter): its earlier part is shown first. */
  uartFile?: string;
  autoLogin: boolean;
}

/** A running console with the output kept for terminals that attach later. */
export class ManagedConsole {
  readonly console: TelnetConsole;
  /**
   * Size of the UART file when the console connected: the file's part up to here is what the
   * board printed before, and the telnet output covers the rest.
   */
  readonly uartFileEnd: number;
  private readonly scrollback = new TextTail(scrollbackLimit);
  private readonly listeners = new Set<(text: string) => void>();

  constructor(
    readonly target: ConsoleTarget,
    port: () => number | undefined,
    settings: ConsoleSettings,
    log: vscode.LogOutputChannel,
  ) {
    mkdirSync(path.dirname(target.logFile), { recursive: true });
    this.uartFileEnd = target.uartFile
      ? (statSync(target.uartFile, { throwIfNoEntry: false })?.size ?? 0)
      : 0;
    this.console = new TelnetConsole({
      name: target.label,
      host: target.host,
      port,
      logFile: target.logFile,
      logMaxBytes: settings.logMaxBytes,
      logKeep: 3,
      reconnect: { initialDelayMs: 250, maxDelayMs: 5000 },
      log,
    });
    this.console.onData((text) => {
      this.scrollback.append(text);
      for (const listener of this.listeners) listener(text);
    });
  }

  /** Sends the kept output, then every new output, to `listener`. */
  attach(listener: (text: string) => void): vscode.Disposable {
    const kept = this.scrollback.text();
    if (kept) listener(kept);
    this.listeners.add(listener);
    return { dispose: () => this.listeners.delete(listener) };
  }

  /** The output kept so far (the tail of at most about 2 MB). */
  get output(): string {
    return this.scrollback.text();
  }
}

/**
 * Owns the console connections, shared by task terminals and by commands that send lines or
 * wait for prompts. Ports come from the FVP's output when a file of it is configured, else
 * from the settings.
 */
export class ConsoleManager implements vscode.Disposable {
  private readonly consoles = new Map<string, ManagedConsole>();
  private readonly portMap = new FvpPortMap();
  private fvpOutputOffset = 0;
  private fvpOutputTimer: NodeJS.Timeout | undefined;
  private readonly stateEmitter = new vscode.EventEmitter<{ key: string; state: ConsoleState }>();
  readonly onDidChangeState = this.stateEmitter.event;

  constructor(
    private readonly secrets: vscode.SecretStorage,
    private readonly log: vscode.LogOutputChannel,
  ) {
    // A UART that the FVP moved to another port reconnects there without waiting for backoff.
    this.portMap.onChange((terminal, port) => {
      this.log.info(`FVP output: ${terminal} listens on port ${port}`);
      this.consoles.get(terminal)?.console.reconnectNow();
    });
  }

  /** Targets of the four FVP UARTs from the current settings. */
  defaultTargets(): ConsoleTarget[] {
    const settings = readConsoleSettings();
    return uarts.map((uart) => ({
      key: uart,
      label: `${uart} (${uartRoles[uart]})`,
      host: settings.host,
      uart,
      logFile: path.join(settings.logFolder, `${uart}.log`),
      autoLogin: uart === 'terminal_0' && settings.autoLogin,
    }));
  }

  /** Returns the console for a target, connecting it first if it is not running. */
  open(target: ConsoleTarget): ManagedConsole {
    const existing = this.consoles.get(target.key);
    if (existing) return existing;

    const settings = readConsoleSettings();
    this.watchFvpOutput(settings);
    const port = (): number | undefined =>
      target.port ?? (target.uart ? this.portFor(target.uart, settings) : undefined);
    const managed = new ManagedConsole(target, port, settings, this.log);
    this.consoles.set(target.key, managed);
    managed.console.onState((state, detail) => {
      this.stateEmitter.fire({ key: target.key, state });
      if (state === 'connected' && target.autoLogin) void this.autoLogin(managed, settings);
      this.log.debug(`${target.label}: ${state} ${detail}`);
    });
    managed.console.start();
    return managed;
  }

  /** Stops a console and removes it from the open consoles. */
  async close(key: string): Promise<void> {
    const managed = this.consoles.get(key);
    this.consoles.delete(key);
    await managed?.console.stop();
  }

  get(key: string): ManagedConsole | undefined {
    return this.consoles.get(key);
  }

  /** Sends a line to a running console; throws when it is not open. */
  sendLine(key: string, line: string): void {
    this.require(key).console.sendLine(line);
  }

  /**
   * Waits for a pattern in a console's output (see TelnetConsole.waitFor). With `includeRecent`
   * a prompt printed just before the call also counts.
   */
  waitFor(
    key: string,
    pattern: RegExp | string,
    timeoutMs: number,
    includeRecent = true,
  ): Promise<string> {
    return this.require(key).console.waitFor(pattern, timeoutMs, { includeRecent });
  }

  /**
   * Reads FVP output that the product received itself (boot.sh's stdout), for the ports the FVP
   * chose; a console whose port moved reconnects there.
   */
  pushFvpOutput(text: string): void {
    this.portMap.push(text);
  }

  /**
   * Brings a console to a shell prompt: logs in with `user` and the stored password at a
   * `login:` prompt, and returns at once at a shell prompt. Throws with the fix when no
   * password is stored or no prompt comes within `timeoutMs`.
   */
  async ensureShell(key: string, user: string, timeoutMs: number): Promise<void> {
    const telnet = this.require(key).console;
    telnet.sendLine('');
    const prompt = await telnet.waitFor(loginOrShellPrompt, timeoutMs, { includeRecent: false });
    if (!/login: *$/m.test(prompt)) return;
    const password = await this.secrets.get(passwordSecretKey);
    if (password === undefined) {
      throw new Error(
        `${key} asks for a login and no password is stored: run "CCA: Set Console Password"`,
      );
    }
    telnet.sendLine(user);
    await telnet.waitFor(/[Pp]assword: *$/m, 15_000);
    telnet.sendLine(password);
    try {
      await telnet.waitFor(shellPrompt, 30_000);
    } catch {
      // The wait's own error quotes the last console line, which could echo the password.
      throw new Error(`${key}: no shell prompt within 30 s after logging in as ${user}`);
    }
    this.log.info(`${key}: logged in as ${user}`);
  }

  dispose(): void {
    clearInterval(this.fvpOutputTimer);
    for (const managed of this.consoles.values()) void managed.console.stop();
    this.consoles.clear();
    this.stateEmitter.dispose();
  }

  private require(key: string): ManagedConsole {
    const managed = this.consoles.get(key);
    if (!managed) {
      throw new Error(`Console ${key} is not open; run "CCA: Open FVP Consoles" first`);
    }
    return managed;
  }

  private portFor(uart: Uart, settings: ConsoleSettings): number {
    return this.portMap.get(uart) ?? settings.ports[uart];
  }

  /** Reads the FVP's stdout file as it grows, for the ports the FVP chose. */
  private watchFvpOutput(settings: ConsoleSettings): void {
    const file = settings.fvpOutputFile;
    if (!file || this.fvpOutputTimer) return;
    const read = async (): Promise<void> => {
      try {
        const appended = await readAppended(file, this.fvpOutputOffset);
        this.fvpOutputOffset = appended.nextOffset;
        if (appended.text) this.portMap.push(appended.text);
      } catch (error) {
        this.log.warn(`Reading FVP output ${file} failed: ${String(error)}`);
      }
    };
    void read();
    this.fvpOutputTimer = setInterval(() => void read(), 500);
  }

  /**
   * Logs in on the normal-world console: sends the user at `login:` and the password from
   * SecretStorage at `Password:`. A console already at a shell prompt is left alone.
   */
  private async autoLogin(managed: ManagedConsole, settings: ConsoleSettings): Promise<void> {
    const { console: telnet, target } = managed;
    try {
      const password = await this.secrets.get(passwordSecretKey);
      if (password === undefined) {
        this.log.warn(
          `${target.label}: auto-login is on but no password is stored; run "CCA: Set Console Password"`,
        );
        return;
      }
      telnet.sendLine('');
      const prompt = await telnet.waitFor(loginOrShellPrompt, 120_000, { includeRecent: false });
      if (!/login: *$/m.test(prompt)) return;
      telnet.sendLine(settings.user);
      await telnet.waitFor(/[Pp]assword: *$/m, 15_000);
      telnet.sendLine(password);
      this.log.info(`${target.label}: logged in as ${settings.user}`);
    } catch (error) {
      this.log.warn(`${target.label}: auto-login failed: ${String(error)}`);
    }
  }
}
