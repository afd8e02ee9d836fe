import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  stepDependencies,
  stepOrder,
  stepTitles,
  unmetDependencies,
} from '../../../core/stack/steps';

describe('steps', () => {
  test('order and titles', () => {
    assert.deepEqual(stepOrder, [
      'prerequisites',
      'container',
      'download',
      'modifications',
      'build',
      'boot',
      'realm',
      'inference',
    ]);
    for (const id of stepOrder) assert.ok(stepTitles[id].length > 0, id);
  });

  test('dependencies come earlier', () => {
    for (const id of stepOrder) {
      for (const dependency of stepDependencies[id]) {
        assert.ok(stepOrder.indexOf(dependency) < stepOrder.indexOf(id), `${dependency} < ${id}`);
      }
    }
  });

  test('unmet dependencies', () => {
    assert.deepEqual(unmetDependencies('build', { container: 'done', modifications: 'failed' }), [
      'modifications',
    ]);
    assert.deepEqual(unmetDependencies('boot', { build: 'outOfDate' }), []);
    assert.deepEqual(unmetDependencies('realm', { boot: 'notDone' }), ['boot']);
    assert.deepEqual(unmetDependencies('realm', { boot: 'running' }), []);
    assert.deepEqual(unmetDependencies('prerequisites', {}), []);
  });
});
