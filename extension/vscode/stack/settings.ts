import os from 'node:os';
import path from 'node:path';
import * as vscode from 'vscode';
import { expandPath } from '../../core/stack/layout';

/** Section of the stack lifecycle settings. */
export const stackSection = 'ccaRealmStudio.stack';

/** The stack settings, read once per step run, with paths expanded. */
export interface StackSettings {
  /** The workspace folder the settings were read for. */
  workspaceFolder: string | undefined;
  root: string;
  dockerRepo: string;
  image: string;
  docker: string;
  manifestUrl: string;
  manifest: string;
  tag: string;
  /** `repo sync -j`; the number of processors when the setting is 0. */
  jobs: number;
  /** The FVP folder setting, unexpanded (the prerequisites check expands it and explains errors). */
  fvpDir: string;
  /** The 9p host folder, or undefined when the setting is empty. */
  shareDir: string | undefined;
  /** The user (uid:gid) of in-container commands, or undefined for the current user. */
  containerUser: { uid: number; gid: number } | undefined;
  minFreeBytes: number;
  /** The folder laid over the realm's root file system by the modified buildroot script. */
  realmOverlay: string;
  /** The folder laid over the normal world's root file system. */
  normalWorldOverlay: string;
  /** The raw realm profile entries; parse them with parseRealmProfile. */
  realmProfiles: unknown[];
}

/**
 * Reads the stack settings. Paths may use `~`, `${workspaceFolder}`, `$VAR`, `${VAR}` and
 * `${env:VAR}`; a relative path is taken from the workspace folder. An unknown variable throws
 * an error that names it.
 */
export function readStackSettings(): StackSettings {
  const folder = vscode.workspace.workspaceFolders?.[0];
  const config = vscode.workspace.getConfiguration(stackSection, folder);
  const base = folder?.uri.fsPath;
  const env = { ...process.env, workspaceFolder: base };
  const resolve = (value: string): string => {
    const expanded = expandPath(value.trim(), env, os.homedir());
    return path.resolve(base ?? os.homedir(), expanded);
  };
  const share = config.get<string>('shareDir', '').trim();
  const jobs = config.get<number>('jobs', 0);
  return {
    workspaceFolder: base,
    root: resolve(config.get<string>('root', '${workspaceFolder}/rme-stack')),
    dockerRepo: resolve(config.get<string>('dockerRepo', '${workspaceFolder}/docker')),
    image: config.get<string>('image', 'aemfvp-builder'),
    docker: config.get<string>('docker', 'docker'),
    manifestUrl: config.get<string>('manifestUrl', ''),
    manifest: config.get<string>('manifest', 'pinned-aemfvp-a-rme.xml'),
    tag: config.get<string>('tag', 'refs/tags/AEMFVP-A-RME-2023.12.22'),
    jobs: Number.isInteger(jobs) && jobs > 0 ? jobs : os.availableParallelism(),
    fvpDir: config.get<string>('fvpDir', ''),
    shareDir: share === '' ? undefined : resolve(share),
    containerUser: parseUser(config.get<string>('containerUser', '')),
    minFreeBytes: config.get<number>('minFreeDiskGB', 100) * 1e9,
    realmOverlay: resolve(config.get<string>('realmOverlay', '${workspaceFolder}/realm')),
    normalWorldOverlay: resolve(
      config.get<string>('normalWorldOverlay', '${workspaceFolder}/normal_world'),
    ),
    realmProfiles: config.get<unknown[]>('realmProfiles', []),
  };
}

function parseUser(value: string): { uid: number; gid: number } | undefined {
  const match = /^\s*(\d+):(\d+)\s*$/.exec(value);
  if (!match) {
    if (value.trim() !== '') {
      throw new Error(
        `Invalid ccaRealmStudio.stack.containerUser '${value}': expected uid:gid, such as 1000:1000.`,
      );
    }
    return undefined;
  }
  return { uid: Number(match[1]), gid: Number(match[2]) };
}
