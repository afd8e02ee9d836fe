import * as vscode from 'vscode';
import { resolveSettingPath } from '../core/setting-paths';

/** Section of every setting of the inference feature. */
export const inferenceSection = 'ccaRealmStudio.inference';

/** Backend that runs the realm side of the protocol; only the emulated realm exists so far. */
export type InferenceBackend = 'emulated';

/** The inference settings, read once per run, with paths resolved. */
export interface InferenceSettings {
  /** Absolute path of the .tflite model. */
  model: string;
  /** Absolute path of the labels file. */
  labels: string;
  /** Absolute path of the shared folder, or undefined for a new temporary folder per run. */
  sharedFolder: string | undefined;
  backend: InferenceBackend;
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

  return {
    model: resolveSettingPath(
      config.get<string>('model', 'realm/mobilenet_v1_1.0_224.tflite'),
      base,
    ),
    labels: resolveSettingPath(config.get<string>('labels', 'realm/labels.txt'), base),
    sharedFolder: sharedFolder === '' ? undefined : resolveSettingPath(sharedFolder, base),
    backend: 'emulated',
    timeoutMs: positiveNumber(config.get<number>('timeoutMs'), 120_000),
    pollMs: positiveNumber(config.get<number>('pollMs'), 200),
  };
}

function positiveNumber(value: number | undefined, fallback: number): number {
  return typeof value === 'number' && Number.isFinite(value) && value > 0 ? value : fallback;
}
