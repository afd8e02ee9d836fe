/// <reference types="mocha" />
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, readFileSync, readdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import { handlerV03 } from '../unit/rmm/fixtures';

function workspaceFolder(): string {
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  assert.ok(folder, 'the test workspace is open');
  return folder;
}

/** Process ids of this extension host's children whose command line contains `text`. */
function children(text: string): number[] {
  return readdirSync('/proc')
    .filter((entry) => /^\d+$/.test(entry))
    .filter((entry) => {
      try {
        const status = readFileSync(`/proc/${entry}/status`, 'utf8');
        const parent = /^PPid:\s+(\d+)/m.exec(status)?.[1];
        return (
          Number(parent) === process.pid &&
          readFileSync(`/proc/${entry}/cmdline`, 'utf8').includes(text)
        );
      } catch {
        return false;
      }
    })
    .map(Number);
}

describe('Untrusted workspace', function (this: Mocha.Suite) {
  this.timeout(120_000);

  it('opens in restricted mode', () => {
    assert.equal(vscode.workspace.isTrusted, false);
  });

  it('Classify in Realm starts no realm and writes no results', async () => {
    const image = vscode.Uri.file(path.join(workspaceFolder(), 'images', 'image1.bmp'));
    const outcome = await vscode.commands.executeCommand<{ kind: string; message?: string }>(
      'ccaRealmStudio.classifyInRealm',
      image,
      [image],
    );
    assert.deepEqual(outcome, { kind: 'rejected', message: 'the workspace is not trusted' });
    assert.deepEqual(children('emulated-realm.js'), []);
    assert.equal(existsSync(path.join(workspaceFolder(), '.cca', 'results')), false);
  });

  it('stack steps run no command', async () => {
    await vscode.commands.executeCommand('ccaRealmStudio.stack.checkPrerequisites');
    await vscode.commands.executeCommand('ccaRealmStudio.stack.buildContainer');
    await vscode.commands.executeCommand('ccaRealmStudio.stack.download');
    // The default stack folder is not created and no step log is written.
    assert.equal(existsSync(path.join(workspaceFolder(), 'rme-stack')), false);
    assert.deepEqual(children('docker'), []);
  });

  it('handler.c gets no code actions and the RMI Logging view edits nothing', async () => {
    const file = path.join(workspaceFolder(), 'tf-rmm', 'runtime', 'core', 'handler.c');
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, handlerV03);
    const document = await vscode.workspace.openTextDocument(file);
    await vscode.window.showTextDocument(document);
    const line = document
      .getText()
      .split('\n')
      .findIndex((text) => text.includes('HANDLER(REC_CREATE,'));
    assert.ok(line > 0);

    // The language server runs (its lenses show), but its code actions are withheld.
    const deadline = Date.now() + 60_000;
    let lenses: vscode.CodeLens[] = [];
    while (lenses.length === 0 && Date.now() < deadline) {
      lenses =
        (await vscode.commands.executeCommand<vscode.CodeLens[]>(
          'vscode.executeCodeLensProvider',
          document.uri,
        )) ?? [];
      if (lenses.length === 0) await new Promise((resolve) => setTimeout(resolve, 250));
    }
    assert.ok(lenses.length > 0, 'the language server answers');
    const actions =
      (await vscode.commands.executeCommand<vscode.CodeAction[]>(
        'vscode.executeCodeActionProvider',
        document.uri,
        new vscode.Range(line, 3, line, 3),
      )) ?? [];
    assert.deepEqual(
      actions.filter((action) => /log_(exec|error)/.test(action.title)).map((a) => a.title),
      [],
    );

    const changed = await vscode.commands.executeCommand(
      'ccaRealmStudio.rmi.setLogExec',
      'REC_CREATE',
      true,
    );
    assert.equal(changed, false);
    assert.equal(readFileSync(file, 'utf8'), handlerV03);
  });
});
