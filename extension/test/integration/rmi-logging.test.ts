/// <reference types="mocha" />
import assert from 'node:assert/strict';
import { mkdirSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import { handlerV03 } from '../unit/rmm/fixtures';

function workspaceFolder(): string {
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  assert.ok(folder, 'the test workspace is open');
  return folder;
}

/** Requests code actions until the language server has started and returns ours. */
async function codeActions(
  uri: vscode.Uri,
  position: vscode.Position,
): Promise<vscode.CodeAction[]> {
  const deadline = Date.now() + 60_000;
  for (;;) {
    const actions =
      (await vscode.commands.executeCommand<vscode.CodeAction[]>(
        'vscode.executeCodeActionProvider',
        uri,
        new vscode.Range(position, position),
      )) ?? [];
    const ours = actions.filter((action) => /log_(exec|error)/.test(action.title));
    if (ours.length > 0) return ours;
    if (Date.now() > deadline) throw new Error('no RMI log code actions within 60 s');
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

describe('RMI logging in handler.c', function (this: Mocha.Suite) {
  this.timeout(120_000);

  it('code action turns on log_exec for an entry', async () => {
    const file = path.join(workspaceFolder(), 'rme-stack', 'rmm', 'runtime', 'core', 'handler.c');
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(file, handlerV03);
    const document = await vscode.workspace.openTextDocument(file);
    await vscode.window.showTextDocument(document);
    const line = document
      .getText()
      .split('\n')
      .findIndex((text) => text.includes('HANDLER(REC_CREATE,'));
    assert.ok(line > 0);

    const actions = await codeActions(document.uri, new vscode.Position(line, 3));
    const enable = actions.find((action) => action.title === 'Enable log_exec for REC_CREATE');
    assert.ok(enable?.edit, actions.map((action) => action.title).join(', '));
    assert.ok(await vscode.workspace.applyEdit(enable.edit));

    const edited = document.lineAt(line).text;
    assert.match(edited, /smc_rec_create,\t+true, {2}true\)/);
    await document.save();
  });
  it('the RMI Logging tree follows the file and edits it', async () => {
    type Row = { command: string; checked: boolean };
    const state = async (): Promise<Row[]> =>
      (await vscode.commands.executeCommand<Row[]>('ccaRealmStudio.rmi.treeState')) ?? [];
    const rows = await state();
    assert.equal(rows.find((row) => row.command === 'REC_CREATE')?.checked, true, 'file to tree');
    assert.equal(rows.find((row) => row.command === 'REC_ENTER')?.checked, false);

    assert.ok(
      await vscode.commands.executeCommand('ccaRealmStudio.rmi.setLogExec', 'REC_ENTER', true),
    );
    const file = path.join(workspaceFolder(), 'rme-stack', 'rmm', 'runtime', 'core', 'handler.c');
    const document = await vscode.workspace.openTextDocument(file);
    const line = document
      .getText()
      .split('\n')
      .find((text) => text.includes('HANDLER(REC_ENTER,'));
    assert.match(line ?? '', /smc_rec_enter,\t+true, {2}true\)/, 'tree to file');
    assert.equal((await state()).find((row) => row.command === 'REC_ENTER')?.checked, true);
  });
});
