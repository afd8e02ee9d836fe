import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  describeStatus,
  findRmiCommand,
  rmiCommands,
  rmiFunctionId,
  rmiNumbering,
  rmiStatuses,
  statusCode,
  statusName,
  type RmiCommand,
} from '../../../core/rmm/rmi-commands';
import { RMM_VERSION_FAMILIES } from '../../../core/rmm/rmm-version';

// Expected values are those of TF-RMM's smc-rmi.h and handler.c in the releases named in the
// test names; the sources are listed in extension/core/rmm/rmi-tables.ts.

function command(name: string, version: string): RmiCommand {
  const found = findRmiCommand(name, version);
  assert.ok(found, `${name} not in the ${version} table`);
  return found;
}

function functionId(name: string, version: string): number {
  return rmiFunctionId(command(name, version));
}

describe('RMI tables per TF-RMM family', () => {
  test('v0.1.0: Beta0 ids and argument order', () => {
    assert.equal(rmiCommands('0.1.0').length, 23);
    assert.equal(functionId('SMC_RMM_VERSION', '0.1.0'), 0xc4000150);
    assert.equal(functionId('REC_CREATE', '0.2.0'), 0xc400015a);
    assert.equal(functionId('RTT_SET_RIPAS', '0.1.0'), 0xc4000169);
    assert.deepEqual(command('REC_CREATE', '0.1.0').argumentNames, ['rec', 'rd', 'params_ptr']);
    assert.deepEqual(command('RTT_DESTROY', '0.1.0').argumentNames, ['rtt', 'rd', 'ipa', 'level']);
    assert.equal(findRmiCommand('RTT_MAP_PROTECTED', '0.1.0'), undefined);
    assert.equal(findRmiCommand('RTT_UNMAP_PROTECTED', '0.2.0'), undefined);
  });

  test('v0.1.0: status 5 is IN_USE', () => {
    assert.equal(statusCode('RMI_ERROR_RTT', '0.1.0'), 4);
    assert.equal(statusCode('RMI_ERROR_IN_USE', '0.1.0'), 5);
    assert.equal(statusName(5, 'v0.1-v0.2'), 'RMI_ERROR_IN_USE');
    assert.equal(statusCode('RMI_ERROR_NOT_SUPPORTED', '0.1.0'), undefined);
  });

  test('v0.4.0: 23 commands, EAC5 ids', () => {
    const commands = rmiCommands('0.4.0');
    assert.equal(commands.length, 23);
    assert.equal(functionId('VERSION', '0.4.0'), 0xc4000150);
    assert.equal(functionId('REALM_CREATE', '0.4.0'), 0xc4000158);
    assert.equal(functionId('RTT_READ_ENTRY', '0.5.0'), 0xc4000161);
    assert.equal(functionId('RTT_SET_RIPAS', '0.3.0'), 0xc4000169);
    assert.equal(findRmiCommand('PDEV_CREATE', '0.4.0'), undefined);
  });

  test('v0.3-v0.5: names only where v0.3.0 and v0.4.0 agree', () => {
    assert.deepEqual(command('REALM_CREATE', '0.4.0').argumentNames, ['rd', 'params_ptr']);
    assert.deepEqual(command('REC_ENTER', '0.4.0').argumentNames, ['rec', 'run_ptr']);
    // v0.3.0 takes the REC first, v0.4.0 the RD first.
    assert.deepEqual(command('REC_CREATE', '0.4.0').argumentNames, []);
    assert.deepEqual(command('RTT_CREATE', '0.4.0').argumentNames, []);
  });

  test('v0.4.0: statuses 0 to 4', () => {
    const expected: [string, number][] = [
      ['RMI_SUCCESS', 0],
      ['RMI_ERROR_INPUT', 1],
      ['RMI_ERROR_REALM', 2],
      ['RMI_ERROR_REC', 3],
      ['RMI_ERROR_RTT', 4],
    ];
    for (const [name, code] of expected) {
      assert.equal(statusCode(name, '0.4.0'), code, name);
      assert.equal(statusName(code, '0.4.0'), name, String(code));
    }
    assert.equal(statusCode('RMI_ERROR_DEVICE', '0.4.0'), undefined);
    const inUse = rmiStatuses('0.4.0').find((entry) => entry.name === 'RMI_ERROR_IN_USE');
    assert.equal(inUse?.releases, 'v0.3.0 only');
  });

  test('v0.6-v0.7: SMC_RMI_ names and RMM 1.1 stubs', () => {
    assert.equal(functionId('SMC_RMI_REC_ENTER', '0.6.0'), 0xc400015c);
    assert.equal(functionId('PDEV_AUX_COUNT', '0.7.0'), 0xc4000156);
    assert.equal(functionId('DEV_MEM_MAP', '0.7.0'), 0xc4000172);
    assert.equal(functionId('PDEV_CREATE', '0.7.0'), 0xc4000176);
    assert.equal(functionId('RTT_AUX_CREATE', '0.7.0'), 0xc400017d);
    assert.equal(functionId('VDEV_STOP', '0.6.0'), 0xc400018a);
    assert.deepEqual(command('REC_CREATE', '0.6.0').argumentNames, ['rd', 'rec', 'params_ptr']);
  });

  test('v0.6-v0.7: DEVICE 5, NOT_SUPPORTED 6', () => {
    assert.equal(statusCode('RMI_ERROR_DEVICE', '0.7.0'), 5);
    assert.equal(statusCode('RMI_ERROR_NOT_SUPPORTED', '0.7.0'), 6);
    assert.equal(statusCode('RMI_ERROR_RTT_AUX', '0.6.0'), 7);
  });

  test('v0.8: RMM 1.1 additions', () => {
    assert.equal(functionId('SMC_RMI_REALM_CREATE', '0.8.0'), 0xc4000158);
    assert.equal(functionId('VDEV_AUX_COUNT', '0.8.0'), 0xc4000160);
    assert.equal(functionId('PDEV_COMMUNICATE', '0.8.0'), 0xc4000175);
    assert.equal(functionId('RTT_AUX_UNMAP_UNPROTECTED', '0.8.0'), 0xc4000184);
    assert.equal(functionId('RTT_SET_S2AP', '0.8.0'), 0xc400018b);
    assert.equal(functionId('VDEV_COMPLETE', '0.8.0'), 0xc400018e);
    // Offset 0x3a changed name after v0.7, so v0.8 gives no id for either name.
    assert.equal(findRmiCommand('VDEV_STOP', '0.8.0'), undefined);
    assert.equal(findRmiCommand('VDEV_UNLOCK', '0.8.0'), undefined);
  });

  test('v0.8.0 swaps DEVICE and NOT_SUPPORTED', () => {
    assert.equal(statusCode('RMI_ERROR_NOT_SUPPORTED', '0.8.0'), 5);
    assert.equal(statusCode('RMI_ERROR_DEVICE', '0.8.0'), 6);
    assert.equal(statusName(5, 'v0.8'), 'RMI_ERROR_NOT_SUPPORTED');
    assert.equal(statusName(5, 'v0.6-v0.7'), 'RMI_ERROR_DEVICE');
    assert.equal(describeStatus(5, 'v0.8'), describeStatus('RMI_ERROR_NOT_SUPPORTED', 'v0.8'));
    assert.equal(describeStatus(5, 'v0.6-v0.7'), describeStatus('RMI_ERROR_DEVICE', '0.6.0'));
    assert.notEqual(describeStatus(5, 'v0.8'), describeStatus(5, 'v0.6-v0.7'));
  });

  test('v0.9+: no function ids, more statuses', () => {
    const numbering = rmiNumbering('0.9.0');
    assert.equal(numbering.family, 'v0.9+');
    assert.equal(numbering.functionIdsKnown, false);
    assert.equal(findRmiCommand('REALM_CREATE', '0.9.0'), undefined);
    assert.equal(findRmiCommand('REALM_CREATE', '1.0.0'), undefined);
    assert.equal(statusCode('RMI_ERROR_NOT_SUPPORTED', '0.9.0'), 5);
    assert.equal(statusCode('RMI_BUSY', '0.9.0'), 10);
    assert.equal(statusCode('RMI_ERROR_GPT', '0.9.0'), 15);
    assert.equal(statusCode('RMI_BUSY', '0.8.0'), undefined);
  });

  test('unknown version falls back to v0.4.0', () => {
    for (const version of [undefined, '', 'next', 'latest']) {
      const numbering = rmiNumbering(version);
      assert.equal(numbering.family, 'v0.3-v0.5', String(version));
      assert.equal(numbering.assumed, true, String(version));
      assert.match(numbering.label, /v0\.4\.0/);
    }
    assert.equal(functionId('REC_CREATE', 'next'), 0xc400015a);
    assert.equal(findRmiCommand('PDEV_CREATE', 'next'), undefined);
    assert.equal(statusCode('RMI_ERROR_RTT', 'next'), 4);
    assert.equal(describeStatus('RMI_ERROR_NOT_SUPPORTED'), undefined);
  });

  test('version and family name agree', () => {
    assert.equal(rmiNumbering('v0.8').family, 'v0.8');
    assert.equal(rmiNumbering('v0.8').assumed, false);
    assert.equal(rmiNumbering('v0.8').label, 'TF-RMM v0.8 numbering');
    assert.deepEqual(findRmiCommand('PDEV_CREATE', 'v0.8'), findRmiCommand('PDEV_CREATE', '0.8.0'));
  });

  test('ids ascending and in range', () => {
    for (const family of RMM_VERSION_FAMILIES) {
      const commands = rmiCommands(family);
      const ids = commands.map(rmiFunctionId);
      assert.deepEqual(
        ids,
        [...ids].sort((a, b) => a - b),
        family,
      );
      const names = commands.map((entry) => entry.name);
      assert.equal(new Set(names).size, names.length, `${family}: duplicate name`);
      for (const id of ids) {
        // RMM 1.x keeps RMI commands in 0xC4000150-0xC400018F.
        assert.ok(id >= 0xc4000150, `${family}: 0x${id.toString(16)}`);
        assert.ok(id <= 0xc400018f, `${family}: 0x${id.toString(16)}`);
      }
    }
  });

  test('ids unique but for the DEV_MAP rename', () => {
    for (const family of RMM_VERSION_FAMILIES) {
      const ids = rmiCommands(family).map(rmiFunctionId);
      const repeated = ids.filter((id, i) => ids.indexOf(id) !== i);
      const expected = family === 'v0.6-v0.7' ? [0xc4000172, 0xc4000173] : [];
      assert.deepEqual(repeated, expected, family);
    }
    assert.equal(functionId('DEV_MAP', '0.6.0'), functionId('DEV_MEM_MAP', '0.7.0'));
  });

  test('every status has a description', () => {
    for (const family of RMM_VERSION_FAMILIES) {
      const codes = rmiStatuses(family).map((entry) => entry.code);
      assert.equal(new Set(codes).size, codes.length, `${family}: duplicate code`);
      for (const entry of rmiStatuses(family)) {
        assert.ok(describeStatus(entry.name, family), `${family}: ${entry.name}`);
      }
    }
  });
});
