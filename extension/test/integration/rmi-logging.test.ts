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
    // After its edit, the action runs the command that offers the RMM rebuild.
    assert.equal(enable.command?.command, 'ccaRealmStudio.rmi.afterEdit');
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

describe('RMM logs', function (this: Mocha.Suite) {
  this.timeout(120_000);

  it('an uart3.log gets the rmm-log language, a hover per RMI call and realm symbols', async () => {
    const file = path.join(workspaceFolder(), 'logs', 'uart3.log');
    mkdirSync(path.dirname(file), { recursive: true });
    writeFileSync(
      file,
      [
        'SMC_RMM_REALM_CREATE          8817b2000 88231a000 > RMI_SUCCESS',
        'SMC_RMM_REC_CREATE            8817b2000 88232d000 88231a000 > RMI_SUCCESS',
        'SMC_RMM_RTT_READ_ENTRY        8817b2000 0 3 > RMI_ERROR_RTT 2',
        '',
      ].join('\n'),
    );
    const document = await vscode.workspace.openTextDocument(file);
    await vscode.window.showTextDocument(document);
    assert.equal(document.languageId, 'rmm-log');

    const deadline = Date.now() + 60_000;
    let hovers: vscode.Hover[] = [];
    while (hovers.length === 0 && Date.now() < deadline) {
      hovers =
        (await vscode.commands.executeCommand<vscode.Hover[]>(
          'vscode.executeHoverProvider',
          document.uri,
          new vscode.Position(1, 10),
        )) ?? [];
      if (hovers.length === 0) await new Promise((resolve) => setTimeout(resolve, 250));
    }
    const text = hovers
      .flatMap((hover) => hover.contents)
      .map((content) => (typeof content === 'string' ? content : content.value))
      .join('\n');
    assert.match(text, /SMC_RMM_REC_CREATE\*\* \(function id 0xC400015A/);

    const symbols =
      (await vscode.commands.executeCommand<vscode.DocumentSymbol[]>(
        'vscode.executeDocumentSymbolProvider',
        document.uri,
      )) ?? [];
    assert.deepEqual(
      symbols.map((symbol) => [symbol.name, symbol.children.map((child) => child.name)]),
      [['Realm 0x8817b2000', ['REC 0x88232d000']]],
    );

    const rttErrors = (): vscode.Diagnostic[] =>
      vscode.languages
        .getDiagnostics(document.uri)
        .filter((diagnostic) => /RMI_ERROR_RTT/.test(diagnostic.message));
    while (rttErrors().length === 0 && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    assert.equal(rttErrors().length, 1);
  });
});
