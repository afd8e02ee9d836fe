// Checks that the harness runs these tests in a real extension host: the workspace is the
// per-run copy of the sample images, and the extension under development is loaded and
// registers its commands.
import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, it } from 'mocha';
import * as vscode from 'vscode';

const EXTENSION_ID = 'cca-realm-studio.cca-realm-studio';
const COMMANDS = [
  'ccaRealmStudio.classifyImages',
  'ccaRealmStudio.classifyInRealm',
  'ccaRealmStudio.showResults',
];

describe('extension host', () => {
  it('opens the workspace with the sample images', async () => {
    const folders = vscode.workspace.workspaceFolders ?? [];
    assert.equal(folders.length, 1);

    const images = await vscode.workspace.findFiles('images/*.bmp');
    const names = images.map((uri) => path.basename(uri.fsPath));
    assert.ok(names.includes('image1.bmp'), `images found: ${names.join(', ')}`);
    assert.ok(names.includes('cat.bmp'), `images found: ${names.join(', ')}`);
  });

  it('reads the model setting from the workspace', () => {
    const inference = vscode.workspace.getConfiguration('ccaRealmStudio.inference');
    const model = inference.get<string>('model') ?? '';
    assert.ok(path.isAbsolute(model), `model setting: ${model}`);
    assert.equal(path.basename(model), 'mobilenet_v1_0.75_192_quant.tflite');
  });

  it('loads the extension under development', () => {
    const extension = vscode.extensions.getExtension(EXTENSION_ID);
    assert.ok(extension, `${EXTENSION_ID} is not loaded`);
  });

  it('showResults activates the extension', async () => {
    await vscode.commands.executeCommand('ccaRealmStudio.showResults');

    const extension = vscode.extensions.getExtension(EXTENSION_ID);
    assert.equal(extension?.isActive, true);
    const registered = new Set(await vscode.commands.getCommands(true));
    for (const command of COMMANDS) {
      assert.ok(registered.has(command), `${command} is not registered`);
    }
  });

  it('showResults opens the Realm Results panel', () => {
    const titles = vscode.window.tabGroups.all.flatMap((group) =>
      group.tabs.map((tab) => tab.label),
    );
    assert.ok(titles.includes('Realm Results'), `open tabs: ${titles.join(', ')}`);
  });
});
