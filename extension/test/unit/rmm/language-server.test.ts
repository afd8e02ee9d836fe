import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  StreamMessageReader,
  StreamMessageWriter,
  createMessageConnection,
  type MessageConnection,
} from 'vscode-jsonrpc/node';
import type {
  CodeAction,
  CodeLens,
  Hover,
  PublishDiagnosticsParams,
  TextEdit,
} from 'vscode-languageserver';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { parseHandlerTable } from '../../../core/rmm/handler-table';
import { repositoryRoot } from '../data';
import { handlerV03 } from './fixtures';

// The bundled server, as the extension starts it; `npm test` bundles before the unit tests.
const serverScript = path.join(repositoryRoot, 'dist', 'server.js');
const handlerUri = 'file:///work/rme-stack/rmm/runtime/core/handler.c';
const logUri = 'file:///work/logs/uart3.log';

let server: ChildProcess;
let connection: MessageConnection;
const diagnostics = new Map<string, PublishDiagnosticsParams>();

function open(uri: string, languageId: string, text: string, version = 1): void {
  void connection.sendNotification('textDocument/didOpen', {
    textDocument: { uri, languageId, version, text },
  });
}

async function diagnosticsFor(uri: string): Promise<PublishDiagnosticsParams> {
  const deadline = Date.now() + 10_000;
  while (!diagnostics.has(uri)) {
    if (Date.now() > deadline) throw new Error(`no diagnostics for ${uri}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const result = diagnostics.get(uri);
  diagnostics.delete(uri);
  assert.ok(result);
  return result;
}

before(async () => {
  server = spawn(process.execPath, [serverScript, '--stdio'], { stdio: 'pipe' });
  assert.ok(server.stdout);
  assert.ok(server.stdin);
  connection = createMessageConnection(
    new StreamMessageReader(server.stdout),
    new StreamMessageWriter(server.stdin),
  );
  connection.onNotification('textDocument/publishDiagnostics', (params: PublishDiagnosticsParams) =>
    diagnostics.set(params.uri, params),
  );
  connection.listen();
  await connection.sendRequest('initialize', {
    processId: process.pid,
    rootUri: null,
    capabilities: {},
  });
  await connection.sendNotification('initialized', {});
});

after(() => {
  connection.dispose();
  server.kill();
});

describe('language server over LSP', () => {
  test('code action toggles one entry', async () => {
    open(handlerUri, 'c', handlerV03);
    const table = parseHandlerTable(handlerV03);
    assert.ok(table.kind === 'table');
    const entry = table.entries.find((e) => e.command === 'REC_CREATE');
    assert.ok(entry);
    const actions: CodeAction[] = await connection.sendRequest('textDocument/codeAction', {
      textDocument: { uri: handlerUri },
      range: { start: entry.range.startPosition, end: entry.range.startPosition },
      context: { diagnostics: [] },
    });
    const title = `${entry.logExec ? 'Disable' : 'Enable'} log_exec for REC_CREATE`;
    const action = actions.find((a) => a.title === title);
    assert.ok(action, actions.map((a) => a.title).join(', '));

    const edits: TextEdit[] = action.edit?.changes?.[handlerUri] ?? [];
    const document = TextDocument.create(handlerUri, 'c', 1, handlerV03);
    const edited = parseHandlerTable(TextDocument.applyEdits(document, edits));
    assert.ok(edited.kind === 'table');
    const after = edited.entries.find((e) => e.command === 'REC_CREATE');
    assert.equal(after?.logExec, !entry.logExec);
    assert.equal(after?.logError, entry.logError);
    assert.ok(
      actions.some(
        (a) =>
          a.title === 'Enable log_error for all RMI commands' ||
          a.title === 'Disable log_error for all RMI commands',
      ),
    );
  });

  test('code lens per entry', async () => {
    const lenses: CodeLens[] = await connection.sendRequest('textDocument/codeLens', {
      textDocument: { uri: handlerUri },
    });
    const table = parseHandlerTable(handlerV03);
    assert.ok(table.kind === 'table');
    assert.equal(lenses.length, table.entries.length);
    assert.ok(
      lenses.some((lens) =>
        /^VERSION 0xC4000150 · log_exec (on|off)/.test(lens.command?.title ?? ''),
      ),
    );
  });

  test('unknown table gives a diagnostic', async () => {
    const uri = 'file:///work/other/rmm/runtime/core/handler.c';
    open(
      uri,
      'c',
      'static const struct smc_handlers smc_handlers[] = {\n\tMYSTERY(VERSION, 1),\n};\n',
    );
    const published = await diagnosticsFor(uri);
    assert.equal(published.diagnostics.length, 1);
    assert.match(published.diagnostics[0]?.message ?? '', /not understood/);
    const actions: CodeAction[] = await connection.sendRequest('textDocument/codeAction', {
      textDocument: { uri },
      range: { start: { line: 1, character: 2 }, end: { line: 1, character: 2 } },
      context: { diagnostics: [] },
    });
    assert.deepEqual(actions, [], 'no partial edit');
  });

  test('hover and diagnostics in an RMM log', async () => {
    const log = [
      'SMC_RMM_REC_CREATE            88232d000 8817b2000 88231a000 > RMI_SUCCESS',
      'SMC_RMM_RTT_READ_ENTRY        8817b2000 0 3 > RMI_ERROR_RTT 2',
    ].join('\n');
    open(logUri, 'rmm-log', log);
    const published = await diagnosticsFor(logUri);
    assert.equal(published.diagnostics.length, 1);
    assert.equal(published.diagnostics[0]?.range.start.line, 1);
    assert.match(
      published.diagnostics[0]?.message ?? '',
      /RTT_READ_ENTRY returned RMI_ERROR_RTT \(index 2\)/,
    );

    const hover: Hover | null = await connection.sendRequest('textDocument/hover', {
      textDocument: { uri: logUri },
      position: { line: 0, character: 3 },
    });
    const value =
      typeof hover?.contents === 'object' && 'value' in hover.contents ? hover.contents.value : '';
    assert.match(value, /SMC_RMM_REC_CREATE/);
    assert.match(value, /0xC4000158|function id/);
    assert.match(value, /RMI_SUCCESS/);
  });
});
