import * as vscode from 'vscode';
import { detectRmmVersion } from '../../core/rmm/rmm-version';
import type {
  LanguageClient,
  LanguageClientOptions,
  ServerOptions,
} from 'vscode-languageclient/node';

type Client = typeof import('vscode-languageclient/node');

/**
 * Returns the TF-RMM version for the server: the setting, or with `auto` the version of the
 * first rmm checkout in the workspace, so that RMM logs are read with the checkout's numbering.
 */
async function rmmVersionSetting(): Promise<string> {
  const setting = vscode.workspace.getConfiguration('ccaRealmStudio.rmm').get<string>('version');
  if (setting && setting !== 'auto') return setting;
  const [handler] = await vscode.workspace.findFiles(
    '**/runtime/core/handler.c',
    '**/node_modules/**',
    1,
  );
  return (handler && detectRmmVersion(handler.fsPath)) ?? 'auto';
}

/**
 * Starts the language server (dist/server.js) over IPC for TF-RMM's handler.c and RMM console
 * logs. The returned client is stopped when the extension deactivates.
 */
export async function startRmmLanguageClient(
  context: vscode.ExtensionContext,
  log: vscode.LogOutputChannel,
): Promise<LanguageClient> {
  context.subscriptions.push(
    vscode.commands.registerCommand('ccaRealmStudio.rmi.showEntry', () => {
      void vscode.window.showInformationMessage(
        'Use the light bulb (Ctrl+.) on an entry to turn its log_exec or log_error on or off. ' +
          'Logs appear only with a Debug build of the RMM (LOG_LEVEL 40), after rebuilding the RMM and the firmware package.',
      );
    }),
  );
  // Loaded here rather than at the top: its module initialisers are a large part of start-up.
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const { LanguageClient, TransportKind } = require('vscode-languageclient/node') as Client;
  const module = vscode.Uri.joinPath(context.extensionUri, 'dist', 'server.js').fsPath;
  const serverOptions: ServerOptions = {
    run: { module, transport: TransportKind.ipc },
    debug: { module, transport: TransportKind.ipc },
  };
  const clientOptions: LanguageClientOptions = {
    documentSelector: [
      { scheme: 'file', language: 'c', pattern: '**/runtime/core/handler.c' },
      { scheme: 'file', language: 'rmm-log' },
    ],
    outputChannel: log,
    // In an untrusted workspace, handler.c gets no edits: lenses, hovers and diagnostics only.
    middleware: {
      provideCodeActions: (document, range, context, token, next) =>
        vscode.workspace.isTrusted ? next(document, range, context, token) : [],
    },
    initializationOptions: { rmmVersion: await rmmVersionSetting() },
  };
  const client = new LanguageClient(
    'ccaRealmStudio.rmm',
    'CCA RMM language server',
    serverOptions,
    clientOptions,
  );
  client.start().then(
    () => log.info('RMM language server started'),
    (error: unknown) => log.error(`RMM language server failed to start: ${String(error)}`),
  );
  return client;
}
