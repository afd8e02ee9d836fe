import {
  CodeActionKind,
  TextDocumentSyncKind,
  TextDocuments,
  createConnection,
  ProposedFeatures,
} from 'vscode-languageserver/node';
import { TextDocument } from 'vscode-languageserver-textdocument';
import {
  handlerCodeActions,
  handlerCodeLenses,
  handlerDiagnostics,
  isHandlerFile,
} from './handler-features';
import { logDiagnostics, logHover } from './log-features';
import { logDocumentSymbols } from './log-symbols';

// The language server of CCA Realm Studio: RMI log toggles in TF-RMM's handler.c, and hovers
// and diagnostics in RMM console logs. It reuses the core and never imports `vscode`.
const connection = createConnection(ProposedFeatures.all);
const documents = new TextDocuments(TextDocument);

// The `ccaRealmStudio.rmm.version` setting, passed by the client; 'auto' detects it.
let configuredRmmVersion: string | undefined;

connection.onInitialize(({ initializationOptions }) => {
  const version = (initializationOptions as { rmmVersion?: unknown } | undefined)?.rmmVersion;
  configuredRmmVersion = typeof version === 'string' && version !== 'auto' ? version : undefined;
  return {
    capabilities: {
      textDocumentSync: TextDocumentSyncKind.Incremental,
      codeActionProvider: { codeActionKinds: [CodeActionKind.RefactorRewrite] },
      codeLensProvider: { resolveProvider: false },
      hoverProvider: true,
      documentSymbolProvider: true,
    },
  };
});

function isLog(document: TextDocument): boolean {
  return document.languageId === 'rmm-log';
}

documents.onDidChangeContent(({ document }) => {
  const diagnostics = isHandlerFile(document.uri)
    ? handlerDiagnostics(document)
    : isLog(document)
      ? logDiagnostics(document, configuredRmmVersion)
      : [];
  void connection.sendDiagnostics({ uri: document.uri, diagnostics });
});

connection.onCodeAction(({ textDocument, range }) => {
  const document = documents.get(textDocument.uri);
  return document && isHandlerFile(document.uri) ? handlerCodeActions(document, range) : [];
});

connection.onCodeLens(({ textDocument }) => {
  const document = documents.get(textDocument.uri);
  return document && isHandlerFile(document.uri)
    ? handlerCodeLenses(document, configuredRmmVersion)
    : [];
});

connection.onHover(({ textDocument, position }) => {
  const document = documents.get(textDocument.uri);
  return document && isLog(document)
    ? logHover(document, position, configuredRmmVersion)
    : undefined;
});

connection.onDocumentSymbol(({ textDocument }) => {
  const document = documents.get(textDocument.uri);
  return document && isLog(document) ? logDocumentSymbols(document) : [];
});

documents.listen(connection);
connection.listen();
