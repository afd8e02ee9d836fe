import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { findHandlerEntry, findRmiCommands } from '../../../core/rmm/handler-entry';

// Table excerpts in the three macro shapes, written for these tests.
const v0_4 = [
  'static const struct smc_handler smc_handlers[] = {',
  '\tHANDLER(VERSION,\t\t0, 0, smc_version,\t\t true,  true),',
  '\tHANDLER(REC_CREATE,\t3, 0, smc_rec_create,\t\t false, true),',
  '};',
].join('\n');
const v0_2 = [
  '\tHANDLER_0(SMC_RMM_VERSION, smc_version, true, true),',
  '\tHANDLER_3(SMC_RMM_REC_CREATE, smc_rec_create, false, true),',
].join('\n');
const v0_8 = '  HANDLER(SMC_RMI_REC_CREATE, 3, 0, smc_rec_create, false, true),';

describe('findHandlerEntry', () => {
  test('six-argument HANDLER', () => {
    assert.equal(findHandlerEntry(v0_4, 'REC_CREATE'), 2);
    assert.equal(findHandlerEntry(v0_4, 'VERSION'), 1);
  });

  test('HANDLER_N with prefix', () => {
    assert.equal(findHandlerEntry(v0_2, 'REC_CREATE'), 1);
  });

  test('SMC_RMI_ prefix', () => {
    assert.equal(findHandlerEntry(v0_8, 'REC_CREATE'), 0);
  });

  test('unknown command', () => {
    assert.equal(findHandlerEntry(v0_4, 'REC_DESTROY'), undefined);
  });

  test('does not match a longer name', () => {
    assert.equal(
      findHandlerEntry('HANDLER(REC_CREATE_X, 1, 0, f, true, true),', 'REC_CREATE'),
      undefined,
    );
  });

  test('rejects a pattern in the name', () => {
    assert.equal(findHandlerEntry(v0_4, '.*'), undefined);
  });
});

describe('findRmiCommands', () => {
  test('finds names in an RMI log line', () => {
    const line = 'SMC_RMM_REC_CREATE            88232d000 8817b2000 88231a000 > RMI_SUCCESS';
    assert.deepEqual(findRmiCommands(line), [{ name: 'REC_CREATE', start: 0, length: 18 }]);
  });

  test('SMC_RMI_ names too', () => {
    assert.deepEqual(
      findRmiCommands('x SMC_RMI_REALM_ACTIVATE 8817b2000 > RMI_SUCCESS').map((c) => c.name),
      ['REALM_ACTIVATE'],
    );
  });

  test('no match in other lines', () => {
    assert.deepEqual(findRmiCommands('RMI_SUCCESS and SMC_RMMX'), []);
  });
});
