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
import { handlerCodeLenses } from '../../../server/handler-features';
import { logDiagnostics, logHover } from '../../../server/log-features';
import { repositoryRoot } from '../data';
import { handlerN, handlerV03, handlerV06 } from './fixtures';

// The bundled server, as the extension starts it; `npm test` bundles before the unit tests.
const serverScript = path.join(repositoryRoot, 'dist', 'server.js');
const handlerUri = 'file:///work/rme-stack/rmm/runtime/core/handler.c';
const logUri = 'file:///work/logs/uart3.log';

/** A server process with its JSON-RPC connection and the diagnostics it published. */
interface ServerSession {
  process: ChildProcess;
  connection: MessageConnection;
  diagnostics: Map<string, PublishDiagnosticsParams>;
}

async function startServer(initializationOptions?: unknown): Promise<ServerSession> {
  const child = spawn(process.execPath, [serverScript, '--stdio'], { stdio: 'pipe' });
  assert.ok(child.stdout);
  assert.ok(child.stdin);
  const session: ServerSession = {
    process: child,
    connection: createMessageConnection(
      new StreamMessageReader(child.stdout),
      new StreamMessageWriter(child.stdin),
    ),
    diagnostics: new Map(),
  };
  session.connection.onNotification(
    'textDocument/publishDiagnostics',
    (params: PublishDiagnosticsParams) => session.diagnostics.set(params.uri, params),
  );
  session.connection.listen();
  await session.connection.sendRequest('initialize', {
    processId: process.pid,
    rootUri: null,
    capabilities: {},
    initializationOptions,
  });
  await session.connection.sendNotification('initialized', {});
  return session;
}

function stopServer(session: ServerSession): void {
  session.connection.dispose();
  session.process.kill();
}

function openIn(session: ServerSession, uri: string, languageId: string, text: string): void {
  void session.connection.sendNotification('textDocument/didOpen', {
    textDocument: { uri, languageId, version: 1, text },
  });
}

async function diagnosticsIn(
  session: ServerSession,
  uri: string,
): Promise<PublishDiagnosticsParams> {
  const deadline = Date.now() + 10_000;
  while (!session.diagnostics.has(uri)) {
    if (Date.now() > deadline) throw new Error(`no diagnostics for ${uri}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  const result = session.diagnostics.get(uri);
  session.diagnostics.delete(uri);
  assert.ok(result);
  return result;
}

function hoverText(hover: Hover | null | undefined): string {
  return typeof hover?.contents === 'object' && 'value' in hover.contents
    ? hover.contents.value
    : '';
}

// One server without a TF-RMM version setting, as most tests need.
let session: ServerSession;
let connection: MessageConnection;

function open(uri: string, languageId: string, text: string): void {
  openIn(session, uri, languageId, text);
}

async function diagnosticsFor(uri: string): Promise<PublishDiagnosticsParams> {
  return diagnosticsIn(session, uri);
}

before(async () => {
  session = await startServer();
  connection = session.connection;
});

after(() => {
  stopServer(session);
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
    const value = hoverText(hover);
    assert.match(value, /SMC_RMM_REC_CREATE/);
    assert.match(
      value,
      /function id 0xC400015A, TF-RMM v0\.4\.0 numbering \(no TF-RMM version set\)/,
    );
    assert.match(value, /RMI_SUCCESS/);
  });
});

describe('language server with TF-RMM 0.8.0 set', () => {
  let v08: ServerSession;
  const uri = 'file:///work/logs/uart3-v08.log';

  before(async () => {
    v08 = await startServer({ rmmVersion: '0.8.0' });
  });

  after(() => {
    stopServer(v08);
  });

  test('hover and diagnostics use v0.8', async () => {
    const log = [
      '[     rmm ] SMC_RMI_REALM_CREATE              81610000 8179e000 > RMI_SUCCESS',
      '[     rmm ] SMC_RMI_PDEV_CREATE               81620000 81630000 > RMI_ERROR_NOT_SUPPORTED',
    ].join('\n');
    openIn(v08, uri, 'rmm-log', log);
    const published = await diagnosticsIn(v08, uri);
    assert.equal(published.diagnostics.length, 1);
    assert.match(
      published.diagnostics[0]?.message ?? '',
      /^PDEV_CREATE returned RMI_ERROR_NOT_SUPPORTED, status 5 in TF-RMM v0\.8 numbering: /,
    );

    const hover: Hover | null = await v08.connection.sendRequest('textDocument/hover', {
      textDocument: { uri },
      position: { line: 0, character: 14 },
    });
    const value = hoverText(hover);
    assert.match(
      value,
      /\*\*SMC_RMI_REALM_CREATE\*\* \(function id 0xC4000158, TF-RMM v0\.8 numbering\)/,
    );
    assert.match(value, /X1 `rd` = 0x81610000/);
    assert.match(value, /X2 `params_ptr` = 0x8179e000/);
  });
});

describe('log features per TF-RMM family', () => {
  function hoverAt(line: string, version: string | undefined): string {
    const document = TextDocument.create(logUri, 'rmm-log', 1, line);
    const character = line.indexOf('SMC_RM');
    return hoverText(logHover(document, { line: 0, character }, version));
  }

  function messages(text: string, version: string | undefined): string[] {
    const document = TextDocument.create(logUri, 'rmm-log', 1, text);
    return logDiagnostics(document, version).map((diagnostic) => diagnostic.message);
  }

  test('v0.6+ SMC_RMI_ line', () => {
    const line = 'SMC_RMI_PDEV_CREATE          81620000 81630000 > RMI_SUCCESS';
    assert.match(hoverAt(line, '0.7.0'), /function id 0xC4000176, TF-RMM v0\.6-v0\.7 numbering/);
    assert.match(hoverAt(line, '0.6.0'), /X1 `arg1` = 0x81620000/);
    assert.match(hoverAt(line, undefined), /not a command of TF-RMM v0\.4\.0 numbering/);
    assert.match(hoverAt(line, '0.9.0'), /function id not known for TF-RMM v0\.9\+ numbering/);
  });

  test('v0.8 line names the v0.8 status', () => {
    const line = 'SMC_RMI_REC_ENTER                 81647000 81648000 > RMI_ERROR_DEVICE';
    const v08 = hoverAt(line, '0.8.0');
    assert.match(v08, /function id 0xC400015C, TF-RMM v0\.8 numbering/);
    assert.match(v08, /status `RMI_ERROR_DEVICE` \(6\): /);
    assert.match(hoverAt(line, 'v0.6-v0.7'), /status `RMI_ERROR_DEVICE` \(5\): /);
  });

  test('diagnostics use the family statuses', () => {
    const log = [
      'SMC_RMI_PDEV_STOP                 81620000 > RMI_ERROR_DEVICE',
      'SMC_RMI_RTT_AUX_CREATE            81610000 81611000 0 3 1 > RMI_ERROR_RTT_AUX',
      'SMC_RMI_VERSION                   10000 > RMI_SUCCESS 10000 10001',
    ].join('\n');
    const v08 = messages(log, '0.8.0');
    assert.equal(v08.length, 2);
    assert.match(v08[0] ?? '', /RMI_ERROR_DEVICE, status 6 in TF-RMM v0\.8 numbering: .*device/i);
    assert.match(v08[1] ?? '', /RMI_ERROR_RTT_AUX, status 7 in TF-RMM v0\.8 numbering/);
    assert.match(messages(log, '0.6.0')[0] ?? '', /status 5 in TF-RMM v0\.6-v0\.7 numbering/);
    const assumed = messages(log, undefined);
    assert.equal(assumed.length, 2, 'undefined statuses are still reported');
    assert.match(
      assumed[0] ?? '',
      /numbering \(no TF-RMM version set\) has no such status; set ccaRealmStudio\.rmm\.version/,
    );
  });

  test('unknown version falls back to v0.4.0', () => {
    const line = 'SMC_RMM_REC_CREATE            88232d000 8817b2000 88231a000 > RMI_SUCCESS';
    for (const version of [undefined, 'auto-detect', '']) {
      assert.match(
        hoverAt(line, version),
        /function id 0xC400015A, TF-RMM v0\.4\.0 numbering/,
        String(version),
      );
    }
    assert.match(
      messages('SMC_RMM_REC_DESTROY 8a300000 > RMI_ERROR_REC', 'x')[0] ?? '',
      /status 3/,
    );
  });
});

describe('code lens ids per TF-RMM family', () => {
  const uri = 'file:///nonexistent/rmm/runtime/core/handler.c';

  function titles(text: string, version: string | undefined): string[] {
    const document = TextDocument.create(uri, 'c', 1, text);
    return handlerCodeLenses(document, version).map((lens) => lens.command?.title ?? '');
  }

  test('HANDLER_N table gets v0.1 ids', () => {
    const lensTitles = titles(handlerN, undefined);
    assert.ok(
      lensTitles.some((title) => title.startsWith('REC_CREATE 0xC400015A ·')),
      lensTitles.join('\n'),
    );
  });

  test('SMC_RMI_ table needs a version', () => {
    assert.ok(titles(handlerV06, undefined).every((title) => / id unknown · /.test(title)));
    const v08 = titles(handlerV06, '0.8.0');
    assert.ok(
      v08.some((title) => title.startsWith('REC_ENTER 0xC400015C ·')),
      v08.join('\n'),
    );
    assert.ok(titles(handlerV06, '0.6.0').some((title) => title.includes('0xC4000169')));
    assert.ok(titles(handlerV06, '0.9.0').every((title) => / id unknown · /.test(title)));
  });
});
