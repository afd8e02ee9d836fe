import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as vscode from 'vscode';
import { startEmulatedRealm, type EmulatedRealm } from '../../core/emulated-realm/launcher';
import { RealmClient, type ImageResult } from '../../core/protocol/client';
import { createRealmFs } from '../../core/transport/backends';
import type {
  SshAuthenticationError,
  SshRealmFs,
  SshRealmFsOptions,
} from '../../core/transport/ssh';
import { checkTfliteModelFile } from '../../core/realm-runtime/model-file';
import { ResultsWriter, newResultsPath, thumbnailPath } from '../../core/results';
import { inferenceSection, readInferenceSettings, type InferenceSettings } from '../settings';
import { ensureThumbnail, type ResultsPanel } from './results-panel';

/** Outcome of a classify command, returned to its caller (tests use it). */
export type BatchOutcome =
  | { kind: 'done'; resultsFile: string; results: ImageResult[]; cancelled: boolean }
  | { kind: 'rejected'; message: string };

/** Shared parts of the inference feature, owned by `activate`. */
export interface InferenceContext {
  extensionUri: vscode.Uri;
  log: vscode.LogOutputChannel;
  panel: ResultsPanel;
  /** Folder that receives `.cca/`: the first workspace folder, or the extension's storage. */
  baseDir(): string;
  /** Realm processes running now, stopped on deactivation. */
  realms: Set<EmulatedRealm>;
  /** SSH passwords and key passphrases. */
  secrets: vscode.SecretStorage;
}

let batchRunning = false;
let runningBatch: AbortController | undefined;

/** Cancels the running batch, as its notification's Cancel button does; returns false if none. */
export function cancelBatch(): boolean {
  if (!runningBatch) return false;
  runningBatch.abort();
  return true;
}

/**
 * Classifies images in the emulated realm with a progress notification that can cancel. Each
 * result is saved to a new results file and shown in the results view as it arrives.
 */
export async function classifyImages(
  context: InferenceContext,
  images: string[],
): Promise<BatchOutcome> {
  if (batchRunning) {
    return reject('A batch is already running; wait for it or cancel it first.');
  }
  let settings: InferenceSettings;
  try {
    settings = readInferenceSettings();
  } catch (error) {
    return failed(context, error);
  }
  const problem = checkInputs(settings);
  if (problem) {
    context.log.error(problem.message);
    void vscode.window.showErrorMessage(problem.message, 'Open Settings').then((choice) => {
      if (choice === 'Open Settings') {
        void vscode.commands.executeCommand('workbench.action.openSettings', problem.setting);
      }
    });
    return { kind: 'rejected', message: problem.message };
  }

  batchRunning = true;
  try {
    return await runBatch(context, settings, images);
  } catch (error) {
    // Connecting to the realm failed (host key, login, unreachable board): nothing was sent.
    return failed(context, error);
  } finally {
    batchRunning = false;
  }
}

function failed(context: InferenceContext, error: unknown): BatchOutcome {
  const message = error instanceof Error ? error.message : String(error);
  context.log.error(`Classification did not start: ${message}`);
  void vscode.window.showErrorMessage(`Classification did not start: ${message}`);
  return { kind: 'rejected', message };
}

async function runBatch(
  context: InferenceContext,
  settings: InferenceSettings,
  images: string[],
): Promise<BatchOutcome> {
  const { log } = context;
  const writer = await ResultsWriter.create(newResultsPath(context.baseDir()));
  const sharedDir = settings.sharedFolder ?? (await mkdtemp(path.join(os.tmpdir(), 'cca-shared-')));
  log.info(
    `Run started: ${images.length} image(s), ${describeBackend(settings)}, model ` +
      `${settings.model}, shared folder ${sharedDir}, results ${writer.file}`,
  );
  await context.panel.startLive(writer.file);

  const controller = new AbortController();
  runningBatch = controller;
  let results: ImageResult[];
  try {
    results = await vscode.window.withProgress(
      {
        location: vscode.ProgressLocation.Notification,
        title: `Classifying in ${describeBackend(settings)}`,
        cancellable: true,
      },
      async (progress, token) => {
        token.onCancellationRequested(() => controller.abort());
        return classifyWithRealm(context, settings, sharedDir, images, controller.signal, {
          onStart: (image, position) =>
            progress.report({
              message: `${position + 1}/${images.length} ${path.basename(image)}`,
              increment: position === 0 ? 0 : 100 / images.length,
            }),
          onResult: async (result, position) => {
            await writer.append(result);
            await ensureThumbnail(result.image, thumbnailPath(writer.file, position));
            await context.panel.addLiveResult(result);
          },
        });
      },
    );
  } finally {
    runningBatch = undefined;
    if (!settings.sharedFolder) await rm(sharedDir, { recursive: true, force: true });
    await context.panel.endLive();
  }

  const failed = results.filter((r) => r.error).length;
  const cancelled = controller.signal.aborted;
  log.info(
    `Run ended${cancelled ? ' (cancelled)' : ''}: ${results.length - failed} classified, ` +
      `${failed} failed; results in ${writer.file}`,
  );
  return { kind: 'done', resultsFile: writer.file, results, cancelled };
}

/** Takes the shared folder's lock, then starts the realm, so a busy folder is left alone. */
async function classifyWithRealm(
  context: InferenceContext,
  settings: InferenceSettings,
  sharedDir: string,
  images: string[],
  signal: AbortSignal,
  callbacks: {
    onStart: (image: string, position: number) => void;
    onResult: (result: ImageResult, position: number) => Promise<void>;
  },
): Promise<ImageResult[]> {
  let realm: EmulatedRealm | undefined;
  const backend = createRealmFs({
    backend: settings.backend,
    sharedFolder: sharedDir,
    realmFolder: settings.realmFolder,
    ssh: sshOptions(context, settings),
  });
  const client = new RealmClient({
    sharedDir: backend.sharedDir,
    fs: backend.fs,
    toRealmPath: backend.toRealmPath,
    useFileEvents: backend.kind !== 'ssh',
    timeoutMs: settings.timeoutMs,
    pollMs: settings.pollMs,
    realmStatus: () => realm?.status(),
    log: context.log,
  });
  try {
    if (backend.kind === 'ssh') await connectSsh(context, settings, backend.fs as SshRealmFs);
    await client.open();
  } catch (error) {
    await backend.close();
    throw error;
  }
  try {
    // A realm on the FVP replies through the share or SSH; only the emulated one starts here.
    if (backend.kind !== 'emulated') {
      return await client.classify(images, { signal, ...callbacks });
    }
    realm = startEmulatedRealm({
      script: vscode.Uri.joinPath(context.extensionUri, 'dist', 'emulated-realm.js').fsPath,
      // In desktop VS Code this is Electron, which the launcher runs in Node mode.
      nodePath: process.execPath,
      model: settings.model,
      labels: settings.labels,
      sharedDir,
      log: context.log,
    });
    context.realms.add(realm);
    void realm.exited.then(() => client.wake());
    return await client.classify(images, { signal, ...callbacks });
  } finally {
    if (realm) {
      await realm.stop();
      context.realms.delete(realm);
    }
    await client.close();
    await backend.close();
  }
}

/** Names where the realm side runs, for the progress title and the log. */
function describeBackend(settings: InferenceSettings): string {
  switch (settings.backend) {
    case 'emulated':
      return 'the emulated realm';
    case 'fvpShare':
      return 'the realm on the FVP (9p share)';
    case 'ssh':
      return `the realm on the FVP (SSH ${settings.ssh.user}@${settings.ssh.host}:${settings.ssh.port})`;
  }
}

/** Key of an SSH password in SecretStorage, per user, host and port. */
export function sshPasswordKey(settings: InferenceSettings): string {
  const { user, host, port } = settings.ssh;
  return `ccaRealmStudio.ssh.password:${user}@${host}:${port}`;
}

/** Key of a private key's passphrase in SecretStorage. */
function sshPassphraseKey(keyFile: string): string {
  return `ccaRealmStudio.ssh.passphrase:${keyFile}`;
}

/**
 * The SSH connection options: the host key prompt on first contact, and the password and key
 * passphrase from SecretStorage, asked for once and stored.
 */
function sshOptions(context: InferenceContext, settings: InferenceSettings): SshRealmFsOptions {
  const { ssh } = settings;
  return {
    host: ssh.host,
    port: ssh.port,
    username: ssh.user,
    privateKeyFile: ssh.privateKey,
    knownHostsFile: ssh.knownHostsFile,
    log: context.log,
    onStateChange: (state, message) => context.log.info(`SSH ${state}: ${message}`),
    confirmUnknownHost: async (key) => {
      const trust = 'Trust and Connect';
      const choice = await vscode.window.showWarningMessage(
        `The host [${key.host}]:${key.port} is not in ${key.knownHostsFile}. Its ${key.keyType} ` +
          `key fingerprint is ${key.fingerprint}. Trust it and add it to known_hosts?`,
        { modal: true },
        trust,
      );
      return choice === trust;
    },
    password: async (target) => {
      const stored = await context.secrets.get(sshPasswordKey(settings));
      if (stored !== undefined) return stored;
      const entered = await vscode.window.showInputBox({
        title: `Password for ${target}`,
        prompt: "Stored in VS Code's secret storage for the next connections",
        password: true,
        ignoreFocusOut: true,
      });
      if (entered !== undefined) await context.secrets.store(sshPasswordKey(settings), entered);
      return entered;
    },
    passphrase: async (keyFile) => {
      const key = sshPassphraseKey(keyFile);
      const stored = await context.secrets.get(key);
      if (stored !== undefined) return stored;
      const entered = await vscode.window.showInputBox({
        title: `Passphrase of ${keyFile}`,
        password: true,
        ignoreFocusOut: true,
      });
      if (entered !== undefined) await context.secrets.store(key, entered);
      return entered;
    },
  };
}

/**
 * Connects before the batch, so that a host key or login problem shows first. A rejected
 * password is deleted from SecretStorage.
 */
async function connectSsh(
  context: InferenceContext,
  settings: InferenceSettings,
  fs: SshRealmFs,
): Promise<void> {
  try {
    await fs.connect();
  } catch (error) {
    // The transport module is loaded only with the ssh backend, so its classes are checked by name.
    const authError = isAuthenticationError(error) ? error : undefined;
    if (authError?.passwordRejected) {
      await context.secrets.delete(sshPasswordKey(settings));
    }
    // A stored passphrase that no longer decrypts the key is deleted, so the next run prompts again.
    if (authError && settings.ssh.privateKey && /passphrase .* is wrong/.test(authError.message)) {
      await context.secrets.delete(sshPassphraseKey(settings.ssh.privateKey));
    }
    throw error;
  }
}

function checkInputs(
  settings: InferenceSettings,
): { message: string; setting: string } | undefined {
  if (settings.backend === 'fvpShare' && !settings.sharedFolder) {
    return {
      message:
        `The fvpShare backend needs the host folder the FVP exports: set ${inferenceSection}.sharedFolder ` +
        'or ccaRealmStudio.stack.shareDir.',
      setting: `${inferenceSection}.sharedFolder`,
    };
  }
  if (settings.backend !== 'emulated') {
    // The realm on the FVP has its own model; only a local shared folder can be checked here.
    if (settings.backend === 'fvpShare' && !existsSync(settings.sharedFolder ?? '')) {
      return {
        message: `Shared folder not found: ${settings.sharedFolder}. Boot the FVP with the stack modifications, or fix ${inferenceSection}.sharedFolder.`,
        setting: `${inferenceSection}.sharedFolder`,
      };
    }
    return undefined;
  }
  if (!existsSync(settings.model)) {
    return {
      message:
        `Model not found: ${settings.model}. Set ${inferenceSection}.model to the realm's ` +
        '.tflite model (GuaranTEE keeps mobilenet_v1_1.0_224.tflite in realm/).',
      setting: `${inferenceSection}.model`,
    };
  }
  const notModel = checkTfliteModelFile(settings.model);
  if (notModel) return { message: notModel, setting: `${inferenceSection}.model` };
  if (!existsSync(settings.labels)) {
    return {
      message: `Labels file not found: ${settings.labels}. Set ${inferenceSection}.labels.`,
      setting: `${inferenceSection}.labels`,
    };
  }
  if (settings.sharedFolder && !existsSync(settings.sharedFolder)) {
    return {
      message: `Shared folder not found: ${settings.sharedFolder}. Create it or clear ${inferenceSection}.sharedFolder.`,
      setting: `${inferenceSection}.sharedFolder`,
    };
  }
  return undefined;
}

function reject(message: string): BatchOutcome {
  void vscode.window.showWarningMessage(message);
  return { kind: 'rejected', message };
}

function isAuthenticationError(error: unknown): error is SshAuthenticationError {
  return error instanceof Error && error.name === 'SshAuthenticationError';
}
