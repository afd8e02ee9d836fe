import { statSync } from 'node:fs';
import * as vscode from 'vscode';
import { imageExtensions, isImageFile, listImages } from '../../core/image-files';
import { requireTrust } from '../trust';
import { cancelBatch, classifyImages, type BatchOutcome, type InferenceContext } from './batch';

export const commandIds = {
  classifyImages: 'ccaRealmStudio.classifyImages',
  classifyInRealm: 'ccaRealmStudio.classifyInRealm',
  showResults: 'ccaRealmStudio.showResults',
  cancelClassification: 'ccaRealmStudio.cancelClassification',
} as const;

/** Registers the inference commands. */
export function registerInferenceCommands(context: InferenceContext): vscode.Disposable[] {
  return [
    vscode.commands.registerCommand(
      commandIds.classifyImages,
      async (uri?: vscode.Uri, uris?: vscode.Uri[]) => {
        const chosen = selection(uri, uris) ?? (await pickImages());
        return chosen ? classifyTrusted(context, chosen) : undefined;
      },
    ),
    vscode.commands.registerCommand(
      commandIds.classifyInRealm,
      async (uri?: vscode.Uri, uris?: vscode.Uri[]) => {
        const chosen = selection(uri, uris);
        return chosen ? classifyTrusted(context, chosen) : undefined;
      },
    ),
    vscode.commands.registerCommand(commandIds.showResults, () => context.panel.show()),
    vscode.commands.registerCommand(commandIds.cancelClassification, () => {
      if (!cancelBatch()) void vscode.window.showInformationMessage('No batch is running.');
    }),
  ];
}

/** Classifies the chosen images, in a trusted workspace only (it starts the realm process). */
function classifyTrusted(
  context: InferenceContext,
  chosen: vscode.Uri[],
): Promise<BatchOutcome | undefined> {
  if (!requireTrust('Classify in Realm')) {
    return Promise.resolve({ kind: 'rejected', message: 'the workspace is not trusted' });
  }
  return classifyUris(context, chosen);
}

/** Returns the Explorer's selection: every selected item, or the clicked one alone. */
function selection(uri?: vscode.Uri, uris?: vscode.Uri[]): vscode.Uri[] | undefined {
  if (Array.isArray(uris) && uris.length > 0) return uris;
  if (uri instanceof vscode.Uri) return [uri];
  return undefined;
}

async function pickImages(): Promise<vscode.Uri[] | undefined> {
  const choice = await vscode.window.showQuickPick(
    [
      { label: 'Image files…', detail: imageExtensions.join(', '), folders: false },
      { label: 'A folder of images…', detail: 'every image directly in it', folders: true },
    ],
    { title: 'Classify images in the realm' },
  );
  if (!choice) return undefined;
  return vscode.window.showOpenDialog({
    canSelectFiles: !choice.folders,
    canSelectFolders: choice.folders,
    canSelectMany: true,
    defaultUri: vscode.workspace.workspaceFolders?.[0]?.uri,
    openLabel: 'Classify in Realm',
    filters: choice.folders ? undefined : { Images: imageExtensions.map((e) => e.slice(1)) },
  });
}

async function classifyUris(
  context: InferenceContext,
  uris: vscode.Uri[],
): Promise<BatchOutcome | undefined> {
  const images: string[] = [];
  for (const uri of uris) {
    if (uri.scheme !== 'file') {
      context.log.warn(`Skipping ${uri.toString()}: only local files can be classified`);
      continue;
    }
    const isFolder = statSync(uri.fsPath, { throwIfNoEntry: false })?.isDirectory() ?? false;
    if (!isFolder && !isImageFile(uri.fsPath)) {
      context.log.info(`Skipping ${uri.fsPath}: not an image (${imageExtensions.join(', ')})`);
      continue;
    }
    images.push(...listImages(uri.fsPath));
  }
  if (images.length === 0) {
    const message = `No images (${imageExtensions.join(', ')}) in the selection.`;
    void vscode.window.showWarningMessage(message);
    return { kind: 'rejected', message };
  }
  return classifyImages(context, images);
}
