import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { describe, test } from 'node:test';
import { isKnownRmiCommand, parseRmiLogLine, type RmiLogLine } from '../../../core/rmm/log-line';
import {
  describeStatus,
  findRmiCommand,
  RMI_COMMANDS_V0_4_0,
  rmiArgumentName,
  rmiFunctionId,
} from '../../../core/rmm/rmi-commands';
import { dataDir } from '../data';

function parse(line: string): RmiLogLine {
  const parsed = parseRmiLogLine(line);
  assert.ok(parsed, `expected an RMI line: ${JSON.stringify(line)}`);
  return parsed;
}

function slice(line: string, range: { start: number; end: number }): string {
  return line.slice(range.start, range.end);
}

// Lines in the shapes TF-RMM prints, with addresses made up for these tests.
describe('parseRmiLogLine', () => {
  test('success with arguments', () => {
    const line = 'SMC_RMM_REALM_CREATE          8a100000 8a0ff000 > RMI_SUCCESS';
    const parsed = parse(line);
    assert.equal(parsed.name, 'SMC_RMM_REALM_CREATE');
    assert.equal(parsed.command, 'REALM_CREATE');
    assert.equal(parsed.prefix, '');
    assert.deepEqual(
      parsed.args.map((arg) => arg.value),
      [0x8a100000n, 0x8a0ff000n],
    );
    assert.deepEqual(
      parsed.args.map((arg) => arg.text),
      ['8a100000', '8a0ff000'],
    );
    assert.equal(parsed.status, 'RMI_SUCCESS');
    assert.equal(parsed.statusCode, 0);
    assert.equal(parsed.index, undefined);
    assert.deepEqual(parsed.outputs, []);
  });

  test('ranges cover each part', () => {
    const line = 'SMC_RMM_GRANULE_DELEGATE      8a200000 > RMI_SUCCESS';
    const parsed = parse(line);
    assert.equal(slice(line, parsed.nameRange), 'SMC_RMM_GRANULE_DELEGATE');
    assert.equal(slice(line, parsed.args[0]?.range ?? { start: 0, end: 0 }), '8a200000');
    assert.equal(slice(line, parsed.separatorRange), '>');
    assert.equal(slice(line, parsed.statusRange), 'RMI_SUCCESS');
    assert.deepEqual(parsed.prefixRange, { start: 0, end: 0 });
  });

  test('each error status', () => {
    const cases: [string, number][] = [
      ['RMI_ERROR_INPUT', 1],
      ['RMI_ERROR_REALM', 2],
      ['RMI_ERROR_REC', 3],
      ['RMI_ERROR_RTT', 4],
    ];
    for (const [status, code] of cases) {
      const parsed = parse(`SMC_RMM_REC_DESTROY           8a300000 > ${status}`);
      assert.equal(parsed.status, status);
      assert.equal(parsed.statusCode, code, status);
      assert.equal(parsed.index, undefined, status);
    }
  });

  test('RTT error with index and outputs', () => {
    const line = 'SMC_RMM_RTT_DESTROY           8a100000 40000000 3 > RMI_ERROR_RTT 2 0 40200000';
    const parsed = parse(line);
    assert.equal(parsed.status, 'RMI_ERROR_RTT');
    assert.equal(parsed.index?.value, 2n);
    assert.equal(slice(line, parsed.index?.range ?? { start: 0, end: 0 }), '2');
    assert.deepEqual(
      parsed.outputs.map((output) => output.value),
      [0n, 0x40200000n],
    );
  });

  test('realm error with index', () => {
    const parsed = parse('SMC_RMM_REC_ENTER             8a400000 8a500000 > RMI_ERROR_REALM 1');
    assert.equal(parsed.index?.value, 1n);
    assert.deepEqual(parsed.outputs, []);
  });

  test('success with outputs', () => {
    const line = 'SMC_RMM_RTT_READ_ENTRY        8a100000 0 0 > RMI_SUCCESS 0 2 8a110000 1';
    const parsed = parse(line);
    assert.equal(parsed.index, undefined);
    assert.deepEqual(
      parsed.outputs.map((output) => output.text),
      ['0', '2', '8a110000', '1'],
    );
    assert.equal(slice(line, parsed.outputs[2]?.range ?? { start: 0, end: 0 }), '8a110000');
  });

  test('Shrinkwrap prefix and SMC_RMI_', () => {
    const line = '[ terminal_3 ] SMC_RMI_REC_AUX_COUNT             8a100000 > RMI_SUCCESS 10';
    const parsed = parse(line);
    assert.equal(parsed.prefix, '[ terminal_3 ] ');
    assert.deepEqual(parsed.prefixRange, { start: 0, end: 15 });
    assert.equal(parsed.command, 'REC_AUX_COUNT');
    assert.equal(parsed.outputs[0]?.value, 0x10n);
  });

  test('v0.8 name field of 25 columns', () => {
    // TF-RMM v0.8.0 pads the name after SMC_RMI_ to 25 columns; Shrinkwrap adds its tag.
    const line =
      '[     rmm ] SMC_RMI_REC_CREATE                81610000 81647000 81646000 > RMI_SUCCESS';
    const parsed = parse(line);
    assert.equal(parsed.prefix, '[     rmm ] ');
    assert.equal(slice(line, parsed.nameRange), 'SMC_RMI_REC_CREATE');
    assert.equal(parsed.nameRange.start + 8 + 25 + 1, parsed.args[0]?.range.start);
    assert.deepEqual(
      parsed.args.map((arg) => arg.value),
      [0x81610000n, 0x81647000n, 0x81646000n],
    );
    assert.equal(parsed.statusCode, 0);
  });

  test('status code by TF-RMM version', () => {
    const line = 'SMC_RMI_PDEV_CREATE               81610000 81620000 > RMI_ERROR_NOT_SUPPORTED';
    assert.equal(parse(line).statusCode, undefined, 'v0.4.0 has no such status');
    assert.equal(parseRmiLogLine(line, '0.7.0')?.statusCode, 6);
    assert.equal(parseRmiLogLine(line, '0.8.0')?.statusCode, 5);
    assert.equal(parseRmiLogLine(line, 'v0.8')?.statusCode, 5);
    const inUse = 'SMC_RMM_REC_DESTROY           8a300000 > RMI_ERROR_IN_USE';
    assert.equal(parseRmiLogLine(inUse, '0.2.0')?.statusCode, 5);
    assert.equal(parseRmiLogLine(inUse, '0.8.0')?.statusCode, undefined);
  });

  test('timestamp prefix and CRLF', () => {
    const parsed = parse('12:01:33.120 SMC_RMM_REALM_ACTIVATE        8a100000 > RMI_SUCCESS\r');
    assert.equal(parsed.prefix, '12:01:33.120 ');
    assert.equal(parsed.command, 'REALM_ACTIVATE');
  });

  test('padded arguments and numeric status', () => {
    // Older TF-RMM pads each value to eight columns and prints VERSION's X0 as a number.
    const parsed = parse('SMC_RMM_VERSION                      0        0 > 10000');
    assert.equal(parsed.args.length, 2);
    assert.equal(parsed.status, '10000');
    assert.equal(parsed.statusCode, undefined);
  });

  test('non-RMI lines', () => {
    const lines = [
      '',
      'NOTICE:  BL31: Booting BL32',
      'INFO:    RMM init end.',
      'SMC_RMM_REC_CREATE is not logged',
      'SMC_RMM_REC_CREATE 8a100000 >',
      'XSMC_RMM_REC_CREATE 8a100000 > RMI_SUCCESS',
      'SMC_RMM_REC_CREATE 8a10zz00 > RMI_SUCCESS',
      'SMC_RMM_REC_CREATE 8a100000 > RMI_SUCCESS trailing words',
      'smc_rmm_rec_create 8a100000 > RMI_SUCCESS',
    ];
    for (const line of lines) {
      assert.equal(parseRmiLogLine(line), undefined, JSON.stringify(line));
    }
  });
});

describe('RMI command table', () => {
  test('23 commands from VERSION to RTT_SET_RIPAS', () => {
    assert.equal(RMI_COMMANDS_V0_4_0.length, 23);
    const first = findRmiCommand('VERSION');
    const last = findRmiCommand('SMC_RMI_RTT_SET_RIPAS');
    assert.ok(first, 'VERSION not found');
    assert.ok(last, 'RTT_SET_RIPAS not found');
    assert.equal(rmiFunctionId(first), 0xc4000150);
    assert.equal(rmiFunctionId(last), 0xc4000169);
  });

  test('function ids are unique and ascending', () => {
    const ids = RMI_COMMANDS_V0_4_0.map(rmiFunctionId);
    assert.deepEqual(
      ids,
      [...ids].sort((a, b) => a - b),
    );
    assert.equal(new Set(ids).size, ids.length);
  });

  test('known and unknown commands', () => {
    assert.ok(isKnownRmiCommand(parse('SMC_RMI_REC_ENTER 8a400000 8a500000 > RMI_SUCCESS')));
    const pdev = parse('SMC_RMI_PDEV_CREATE 8a400000 > RMI_SUCCESS');
    assert.equal(isKnownRmiCommand(pdev), false);
    assert.equal(isKnownRmiCommand(pdev, '0.8.0'), true);
    assert.equal(isKnownRmiCommand(pdev, '0.9.0'), false, 'no v0.9+ table');
  });

  test('argument names with fallback', () => {
    const realmCreate = findRmiCommand('SMC_RMM_REALM_CREATE');
    assert.equal(rmiArgumentName(realmCreate, 0), 'rd');
    assert.equal(rmiArgumentName(realmCreate, 2), 'arg3');
    assert.equal(rmiArgumentName(findRmiCommand('REC_CREATE'), 0), 'arg1');
    assert.equal(rmiArgumentName(undefined, 1), 'arg2');
  });

  test('describeStatus by name and code', () => {
    assert.match(describeStatus('RMI_ERROR_RTT') ?? '', /RTT/);
    assert.equal(describeStatus(0), describeStatus('RMI_SUCCESS'));
    assert.equal(describeStatus(9), undefined);
    assert.equal(describeStatus('toString'), undefined);
  });
});

describe('console captures', () => {
  test('v0.8.0 captures use v0.8 names', () => {
    // Both captures come from stacks with TF-RMM v0.8.0 (see each file's header).
    const files = [
      '03_learning_path_cca_mec_rmm_console_v0.8.0.txt',
      '04_arm_cca_forge_fvp_boot_tfa_hafnium_rmm_linux_realm.txt',
    ];
    let count = 0;
    for (const file of files) {
      const text = readFileSync(path.join(dataDir(), 'console-logs', file), 'utf8');
      for (const line of text.split('\n')) {
        if (line.startsWith('#')) continue;
        const parsed = parseRmiLogLine(line, '0.8.0');
        if (!parsed?.name.startsWith('SMC_RMI_')) continue;
        count += 1;
        assert.ok(isKnownRmiCommand(parsed, '0.8.0'), `${file}: ${parsed.name}`);
        assert.notEqual(parsed.statusCode, undefined, `${file}: ${parsed.status}`);
      }
    }
    assert.ok(count >= 4, `only ${count} SMC_RMI_ lines in the v0.8.0 captures`);
  });

  test('parser reads every captured line', () => {
    // dataDir() throws when the data folder is missing, so this test fails rather than skips.
    const folder = path.join(dataDir(), 'console-logs');
    const files = readdirSync(folder).filter((name) => name.endsWith('.txt'));
    assert.ok(files.length > 0, `no .txt captures in ${folder}`);
    let total = 0;

    for (const file of files) {
      const text = readFileSync(path.join(folder, file), 'utf8');
      const lines = text.split('\n');
      const parsed = lines.map((line) => parseRmiLogLine(line)).filter((line) => line);
      const expected = lines.filter((line) => /^(?!#).*\bSMC_RM[MI]_\w+ .* > /.test(line));
      assert.equal(parsed.length, expected.length, `RMI lines in ${file}`);
      if (/\bSMC_RM[MI]_\w+ [^\n]* > /.test(text.replace(/^#.*$/gm, ''))) {
        assert.ok(parsed.length > 0, `${file} has RMI lines but none parsed`);
      }
      total += parsed.length;
    }
    assert.ok(total > 0, `no RMI lines parsed in ${folder}`);
  });
});
