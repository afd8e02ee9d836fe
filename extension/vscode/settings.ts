import * as vscode from 'vscode';
import { resolveSettingPath } from '../core/setting-paths';
import {
  defaultRealmSharedFolder,
  realmBackendKinds,
  type RealmBackendKind,
} from '../core/transport/backends';

/** Section of every setting of the inference feature. */
export const inferenceSection = 'ccaRealmStudio.inference';

/** Where the realm side of the protocol runs: see RealmBackendKind. */
export type InferenceBackend = RealmBackendKind;

/** Connection settings of the `ssh` backend. */
export interface SshSettings {
  host: string;
  port: number;
  user: string;
  /** A private key file, or undefined to use a password from SecretStorage. */
  privateKey: string | undefined;
  knownHostsFile: string;
}

/** The inference settings, read once per run, with paths resolved. */
export interface InferenceSettings {
  /** Absolute path of the .tflite model. */
  model: string;
  /** Absolute path of the labels file. */
  labels: string;
  /**
   * The shared folder: for `emulated`, a folder here or undefined for a new temporary folder
   * per run; for `fvpShare`, the host folder the FVP exports (default the stack's share
   * folder); for `ssh`, a path in the normal world.
   */
  sharedFolder: string | undefined;
  backend: InferenceBackend;
  /** The shared folder's path inside the realm, written into signalling.txt. */
  realmFolder: string;
  ssh: SshSettings;
  /** Per-image timeout, in milliseconds. */
  timeoutMs: number;
  /** Polling interval of the shared folder, in milliseconds. */
  pollMs: number;
}

/** Reads the inference settings for a workspace folder (the first one when not given). */
export function readInferenceSettings(folder?: vscode.WorkspaceFolder): InferenceSettings {
  const scope = folder ?? vscode.workspace.workspaceFolders?.[0];
  const config = vscode.workspace.getConfiguration(inferenceSection, scope);
  const base = scope?.uri.fsPath;
  const sharedFolder = config.get<string>('sharedFolder', '').trim();
  const backend = config.get<string>('backend', 'emulated');
  if (!(realmBackendKinds as readonly string[]).includes(backend)) {
    throw new Error(
      `Invalid ${inferenceSection}.backend '${backend}': expected ${realmBackendKinds.join(', ')}.`,
    );
  }
  const kind = backend as InferenceBackend;
  const stackShare = vscode.workspace
    .getConfiguration('ccaRealmStudio.stack', scope)
    .get<string>('shareDir', '${workspaceFolder}/shared_with_fvp')
    .trim();
  const shared =
    kind === 'ssh'
      ? sharedFolder || defaultRealmSharedFolder
      : sharedFolder !== ''
        ? resolveSettingPath(sharedFolder, base)
        : kind === 'fvpShare' && stackShare !== ''
          ? resolveSettingPath(stackShare, base)
          : undefined;
  const privateKey = config.get<string>('ssh.privateKey', '').trim();

  return {
    model: resolveSettingPath(
      config.get<string>('model', 'realm/mobilenet_v1_1.0_224.tflite'),
      base,
    ),
    labels: resolveSettingPath(config.get<string>('labels', 'realm/labels.txt'), base),
    sharedFolder: shared,
    backend: kind,
    realmFolder: config.get<string>('realmFolder', defaultRealmSharedFolder),
    ssh: {
      host: config.get<string>('ssh.host', '127.0.0.1'),
      port: config.get<number>('ssh.port', 8022),
      user: config.get<string>('ssh.user', 'root'),
      privateKey: privateKey === '' ? undefined : resolveSettingPath(privateKey, base),
      knownHostsFile: resolveSettingPath(
        config.get<string>('ssh.knownHostsFile', '~/.ssh/known_hosts'),
        base,
      ),
    },
    timeoutMs: positiveNumber(config.get<number>('timeoutMs'), 120_000),
    pollMs: positiveNumber(config.get<number>('pollMs'), 200),
  };
}

function positiveNumber(value: number | undefined, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : fallback;
}
