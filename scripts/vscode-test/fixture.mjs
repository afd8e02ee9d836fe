// The per-run folders of a VS Code test run: a workspace with the sample images and settings
// that point at the data folder's model and labels, and empty user-data and extensions folders.
// For the end-to-end tests, also the fixture rme-stack that the Stack view runs on.
import { copyFile, mkdir, mkdtemp, readFile, readdir, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { repositoryRoot } from './paths.mjs';

const IMAGE_EXTENSIONS = new Set(['.bmp', '.png', '.jpg', '.jpeg']);

/** The model and labels that the workspace settings name, relative to the data folder. */
export const MODEL_FILE = 'models/mobilenet_v1_0.75_192_quant.tflite';
export const LABELS_FILE = 'labels/labels.txt';

// Keeps the workbench quiet and the same on every run: no welcome page, no trust prompt, no
// update, telemetry or AI sign-in requests, no empty chat side bar and no port forwarding.
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
  // The FVP's console ports would each get a "port is available" notification.
  'remote.autoForwardPorts': false,
};

/**
 * Creates the folders of one run under a new temporary folder `cca-<kind>-*`: `workspace`
 * (with the images and settings), `user-data`, `extensions` and `state`. Returns their paths
 * and remove(), which deletes them all.
 */
export async function createRunFolders(kind, dataDir, { workspaceTrust = false } = {}) {
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
    await writeUserSettings(
      folders.userData,
      // Restricted mode without the trust dialog, for the tests of an untrusted workspace.
      workspaceTrust
        ? {
            'security.workspace.trust.enabled': true,
            'security.workspace.trust.startupPrompt': 'never',
            'security.workspace.trust.untrustedFiles': 'open',
          }
        : {},
    );
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

/**
 * Adds the fixture rme-stack (scripts/test-peers/fixture-stack/) to a run. The fixture's docker,
 * repo and FVP stand-ins go to `<root>/fixture-stack`. The workspace gets an empty `rme-stack`,
 * the two overlay folders, and `shared_with_fvp` with the model, labels and service script for
 * the realm's inference service. Adds ccaRealmStudio.stack.* settings that point at them, with
 * one realm profile, `guide`. Returns the stack folder and the variables that code-server must
 * start with, since the extension host runs the steps with its environment: the stand-ins first
 * in PATH, the user ID that container.sh checks, and no DISPLAY (no xterms for the FVP).
 */
export async function addFixtureStack(folders, dataDir) {
  const { createFixtureStack } = await import('../test-peers/fixture-stack/index.mjs');
  const fixture = createFixtureStack(path.join(folders.root, 'fixture-stack'), {
    createStackDir: false,
  });
  const workspace = folders.workspace;
  const stackDir = path.join(workspace, 'rme-stack');
  const shareDir = path.join(workspace, 'shared_with_fvp');
  await mkdir(stackDir);
  await mkdir(shareDir);
  for (const overlay of ['realm', 'normal_world']) {
    await mkdir(path.join(workspace, overlay));
    await writeFile(path.join(workspace, overlay, `${overlay}.txt`), `${overlay} overlay\n`);
  }
  // The stand-in realm mounts the share folder at /root/shared_with_realm. The service script
  // goes there too, because the stand-in realm's files are not built from the overlay.
  await copyFile(path.join(dataDir, MODEL_FILE), path.join(shareDir, 'model.tflite'));
  await copyFile(path.join(dataDir, LABELS_FILE), path.join(shareDir, 'labels.txt'));
  await copyFile(
    path.join(repositoryRoot, 'realm', 'cca-inference-service.sh'),
    path.join(shareDir, 'cca-inference-service.sh'),
  );

  const settingsFile = path.join(workspace, '.vscode', 'settings.json');
  const settings = JSON.parse(await readFile(settingsFile, 'utf8'));
  Object.assign(settings, {
    'ccaRealmStudio.stack.root': stackDir,
    'ccaRealmStudio.stack.dockerRepo': fixture.dockerRepoDir,
    'ccaRealmStudio.stack.docker': path.join(fixture.binDir, 'docker'),
    'ccaRealmStudio.stack.manifestUrl': fixture.manifestUrl,
    'ccaRealmStudio.stack.fvpDir': fixture.fvpDir,
    'ccaRealmStudio.stack.shareDir': shareDir,
    'ccaRealmStudio.stack.realmOverlay': path.join(workspace, 'realm'),
    'ccaRealmStudio.stack.normalWorldOverlay': path.join(workspace, 'normal_world'),
    'ccaRealmStudio.stack.containerUser': '1000:1000',
    'ccaRealmStudio.stack.minFreeDiskGB': 0.001,
    'ccaRealmStudio.stack.jobs': 2,
    'ccaRealmStudio.stack.realmProfiles': [{ name: 'guide' }],
    'ccaRealmStudio.stack.realmModel': '/root/shared_with_realm/model.tflite',
    'ccaRealmStudio.stack.realmLabels': '/root/shared_with_realm/labels.txt',
    'ccaRealmStudio.stack.serviceScript': '/root/shared_with_realm/cca-inference-service.sh',
  });
  await writeFile(settingsFile, `${JSON.stringify(settings, null, 2)}\n`);

  const inherited = process.env.PATH ? `${path.delimiter}${process.env.PATH}` : '';
  return {
    stackDir,
    env: { PATH: `${fixture.binDir}${inherited}`, CCA_FIXTURE_EUID: '1000', DISPLAY: undefined },
  };
}

async function writeUserSettings(userDataDir, overrides) {
  await mkdir(path.join(userDataDir, 'User'), { recursive: true });
  await writeFile(
    path.join(userDataDir, 'User', 'settings.json'),
    `${JSON.stringify({ ...USER_SETTINGS, ...overrides }, null, 2)}\n`,
  );
}
