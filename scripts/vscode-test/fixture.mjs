// The per-run folders of a VS Code test run: a workspace with the sample images and settings
// that point at the data folder's model and labels, and empty user-data and extensions folders.
import { copyFile, mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';

const IMAGE_EXTENSIONS = new Set(['.bmp', '.png', '.jpg', '.jpeg']);

/** The model and labels that the workspace settings name, relative to the data folder. */
export const MODEL_FILE = 'models/mobilenet_v1_0.75_192_quant.tflite';
export const LABELS_FILE = 'labels/labels.txt';

// Keeps the workbench quiet and the same on every run: no welcome page, no trust prompt and
// no update, telemetry or AI sign-in requests, and no empty chat side bar.
const USER_SETTINGS = {
  'workbench.startupEditor': 'none',
  'workbench.tips.enabled': false,
  'workbench.enableExperiments': false,
  'security.workspace.trust.enabled': false,
  'telemetry.telemetryLevel': 'off',
  'update.mode': 'none',
  'extensions.autoCheckUpdates': false,
  'extensions.autoUpdate': false,
  'chat.disableAIFeatures': true,
  'workbench.secondarySideBar.defaultVisibility': 'hidden',
  'git.enabled': false,
};

/**
 * Creates the folders of one run under a new temporary folder `cca-<kind>-*`: `workspace`
 * (with the images and settings), `user-data`, `extensions` and `state`. Returns their paths
 * and remove(), which deletes them all.
 */
export async function createRunFolders(kind, dataDir) {
  const root = await mkdtemp(path.join(os.tmpdir(), `cca-${kind}-`));
  const folders = {
    root,
    workspace: path.join(root, 'workspace'),
    userData: path.join(root, 'user-data'),
    extensions: path.join(root, 'extensions'),
    state: path.join(root, 'state'),
    remove: () => rm(root, { recursive: true, force: true }),
  };
  try {
    for (const dir of [folders.userData, folders.extensions, folders.state]) {
      await mkdir(dir, { recursive: true });
    }
    await createWorkspace(folders.workspace, dataDir);
    await writeUserSettings(folders.userData);
  } catch (error) {
    await folders.remove();
    throw error;
  }
  return folders;
}

/**
 * Fills `workspace` with copies of the data folder's images in `images/` and a
 * `.vscode/settings.json` whose model and labels settings are the data folder's files.
 */
export async function createWorkspace(workspace, dataDir) {
  const imagesDir = path.join(workspace, 'images');
  await mkdir(imagesDir, { recursive: true });
  const images = (await readdir(path.join(dataDir, 'images'))).filter((name) =>
    IMAGE_EXTENSIONS.has(path.extname(name).toLowerCase()),
  );
  if (images.length === 0) throw new Error(`no images found in ${path.join(dataDir, 'images')}`);
  for (const name of images) {
    await copyFile(path.join(dataDir, 'images', name), path.join(imagesDir, name));
  }

  const settings = {
    'ccaRealmStudio.inference.model': path.join(dataDir, MODEL_FILE),
    'ccaRealmStudio.inference.labels': path.join(dataDir, LABELS_FILE),
  };
  await mkdir(path.join(workspace, '.vscode'), { recursive: true });
  await writeFile(
    path.join(workspace, '.vscode', 'settings.json'),
    `${JSON.stringify(settings, null, 2)}\n`,
  );
}

async function writeUserSettings(userDataDir) {
  await mkdir(path.join(userDataDir, 'User'), { recursive: true });
  await writeFile(
    path.join(userDataDir, 'User', 'settings.json'),
    `${JSON.stringify(USER_SETTINGS, null, 2)}\n`,
  );
}
