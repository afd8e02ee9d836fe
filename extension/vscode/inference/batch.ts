import { existsSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import * as vscode from 'vscode';
import { startEmulatedRealm, type EmulatedRealm } from '../../core/emulated-realm/launcher';
import { RealmClient, type ImageResult } from '../../core/protocol/client';
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
  const settings = readInferenceSettings();
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
  } finally {
    batchRunning = false;
  }
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
    `Run started: ${images.length} image(s), model ${settings.model}, shared folder ` +
      `${sharedDir}, results ${writer.file}`,
  );
  await context.panel.startLive(writer.file);

  const controller = new AbortController();
  runningBatch = controller;
  let results: ImageResult[];
  try {
    results = await vscode.window.withProgress(
      {
        location: vscode.ProgressLocation.Notification,
        title: 'Classifying in the emulated realm',
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
  const client = new RealmClient({
    sharedDir,
    timeoutMs: settings.timeoutMs,
    pollMs: settings.pollMs,
    realmStatus: () => realm?.status(),
    log: context.log,
  });
  await client.open();
  try {
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
  }
}

function checkInputs(
  settings: InferenceSettings,
): { message: string; setting: string } | undefined {
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
