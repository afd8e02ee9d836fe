import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { TextDocument } from 'vscode-languageserver-textdocument';
import { groupRmmLog } from '../../../core/rmm/log-symbols';
import { logDocumentSymbols } from '../../../server/log-symbols';
import { dataDir } from '../data';

// A realm's life as TF-RMM v0.4.0 logs it with log_exec on for every command: the RD is
// 0x8817b2000, its REC 0x88232d000; a second realm (RD 0x9000000) starts in between.
const log = [
  'NOTICE:  Booting Trusted Firmware',
  'SMC_RMM_GRANULE_DELEGATE      8817b2000 > RMI_SUCCESS',
  'SMC_RMM_REALM_CREATE          8817b2000 88231a000 > RMI_SUCCESS',
  'SMC_RMM_RTT_CREATE            8817b2000 882300000 0 1 > RMI_SUCCESS',
  'SMC_RMM_REALM_CREATE          9000000 9001000 > RMI_SUCCESS',
  'SMC_RMM_REC_CREATE            8817b2000 88232d000 88231a000 > RMI_SUCCESS',
  'SMC_RMM_REALM_ACTIVATE        8817b2000 > RMI_SUCCESS',
  'SMC_RMM_REC_ENTER             88232d000 88231b000 > RMI_SUCCESS',
  'SMC_RMM_REC_ENTER             88232d000 88231b000 > RMI_SUCCESS',
  'SMC_RMM_REC_DESTROY           88232d000 > RMI_SUCCESS',
  'SMC_RMM_REALM_DESTROY         8817b2000 > RMI_SUCCESS',
  'SMC_RMM_GRANULE_UNDELEGATE    882300000 > RMI_SUCCESS',
];

describe('groupRmmLog', () => {
  test('groups calls by realm and REC, in the order the realms appear', () => {
    const [first, second, ...rest] = groupRmmLog(log);
    assert.equal(rest.length, 0);
    assert.ok(first);
    assert.ok(second);
    assert.equal(first.rd, '8817b2000');
    assert.deepEqual(
      [
        first.firstLine,
        first.lastLine,
        first.createdLine,
        first.activatedLine,
        first.destroyedLine,
      ],
      [1, 10, 2, 6, 10],
    );
    // DELEGATE, CREATE, RTT_CREATE, REC_CREATE, ACTIVATE, 2 x REC_ENTER, REC_DESTROY, DESTROY.
    assert.equal(first.calls, 9);
    assert.equal(first.recs.length, 1);
    assert.deepEqual(first.recs[0], {
      rec: '88232d000',
      firstLine: 5,
      lastLine: 9,
      createdLine: 5,
      destroyedLine: 9,
      calls: 4,
      enters: 2,
    });
    assert.equal(second.rd, '9000000');
    assert.deepEqual([second.firstLine, second.lastLine, second.recs.length], [4, 4, 0]);
  });

  test('takes the REC from REC_CREATE whichever order its first two arguments have', () => {
    // The 2023.09.29 stack's RMM printed the REC before the RD.
    const older = [
      'SMC_RMM_REC_CREATE            88232d000 8817b2000 88231a000 > RMI_SUCCESS',
      'SMC_RMM_REALM_ACTIVATE        8817b2000 > RMI_SUCCESS',
    ];
    const [realm] = groupRmmLog(older);
    assert.equal(realm?.rd, '8817b2000');
    assert.equal(realm.recs[0]?.rec, '88232d000');
    assert.equal(realm.recs[0].createdLine, 0);
  });

  test('groups RECs of unknown realms apart', () => {
    const groups = groupRmmLog([
      '[     rmm ] SMC_RMI_REC_ENTER                 81647000 81648000 > RMI_SUCCESS',
    ]);
    assert.equal(groups.length, 1);
    assert.equal(groups[0]?.rd, undefined);
    assert.equal(groups[0].recs[0]?.rec, '81647000');
  });

  test('leaves out calls that name no known realm or REC', () => {
    assert.deepEqual(groupRmmLog(['SMC_RMM_VERSION 10000 > RMI_SUCCESS', 'plain text']), []);
  });
});

describe('logDocumentSymbols', () => {
  test('returns a realm symbol with a child per REC, spanning their lines', () => {
    const document = TextDocument.create('file:///uart3.log', 'rmm-log', 1, log.join('\r\n'));
    const [realm, other] = logDocumentSymbols(document);
    assert.ok(realm);
    assert.ok(other);
    assert.equal(realm.name, 'Realm 0x8817b2000');
    assert.match(
      realm.detail ?? '',
      /9 calls · 1 RECs · activated at line 7 · destroyed at line 11/,
    );
    assert.deepEqual(realm.range, {
      start: { line: 1, character: 0 },
      end: { line: 10, character: (log[10] ?? '').length },
    });
    assert.equal(realm.selectionRange.start.line, 2);
    assert.equal(realm.children?.[0]?.name, 'REC 0x88232d000');
    assert.equal(realm.children[0].range.end.line, 9);
    assert.equal(other.name, 'Realm 0x9000000');
  });

  test('finds the realms of the real RMM captures', () => {
    // Every capture with a REALM_ACTIVATE line names at least one realm.
    const folder = path.join(dataDir(), 'console-logs');
    let checked = 0;
    for (const name of readdirSync(folder)) {
      const text = readFileSync(path.join(folder, name), 'utf8');
      if (!/SMC_RM[MI]_REALM_ACTIVATE/.test(text)) continue;
      const symbols = logDocumentSymbols(
        TextDocument.create(`file:///${name}`, 'rmm-log', 1, text),
      );
      assert.ok(
        symbols.some((symbol) => symbol.name.startsWith('Realm 0x')),
        name,
      );
      checked += 1;
    }
    assert.ok(checked >= 2, `only ${checked} captures with REALM_ACTIVATE`);
  });
});
