import type { DocumentSymbol, Range } from 'vscode-languageserver';
import { SymbolKind } from 'vscode-languageserver';
import type { TextDocument } from 'vscode-languageserver-textdocument';
import { groupRmmLog, type RealmSymbol, type RecSymbol } from '../core/rmm/log-symbols';

/** Returns one symbol per realm in an RMM log, each with a child per REC, for the Outline. */
export function logDocumentSymbols(document: TextDocument): DocumentSymbol[] {
  const lines = document.getText().split('\n');
  const lineRange = (first: number, last: number): Range => ({
    start: { line: first, character: 0 },
    end: { line: last, character: (lines[last] ?? '').replace(/\r$/, '').length },
  });
  return groupRmmLog(lines).map((realm) => {
    const range = lineRange(realm.firstLine, realm.lastLine);
    return {
      name: realm.rd === undefined ? 'RECs of realms not in this log' : `Realm 0x${realm.rd}`,
      detail: realmDetail(realm),
      kind: SymbolKind.Namespace,
      range,
      selectionRange: lineRange(
        realm.createdLine ?? realm.firstLine,
        realm.createdLine ?? realm.firstLine,
      ),
      children: realm.recs.map((rec) => ({
        name: `REC 0x${rec.rec}`,
        detail: recDetail(rec),
        kind: SymbolKind.Object,
        range: lineRange(rec.firstLine, rec.lastLine),
        selectionRange: lineRange(
          rec.createdLine ?? rec.firstLine,
          rec.createdLine ?? rec.firstLine,
        ),
      })),
    };
  });
}

function realmDetail(realm: RealmSymbol): string {
  const parts = [`${realm.calls} calls`, `${realm.recs.length} RECs`];
  if (realm.activatedLine !== undefined) parts.push(`activated at line ${realm.activatedLine + 1}`);
  if (realm.destroyedLine !== undefined) parts.push(`destroyed at line ${realm.destroyedLine + 1}`);
  return parts.join(' · ');
}

function recDetail(rec: RecSymbol): string {
  const parts = [`${rec.calls} calls`, `${rec.enters} REC_ENTER`];
  if (rec.destroyedLine !== undefined) parts.push(`destroyed at line ${rec.destroyedLine + 1}`);
  return parts.join(' · ');
}
