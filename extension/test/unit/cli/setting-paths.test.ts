import assert from 'node:assert/strict';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { resolveSettingPath } from '../../../core/setting-paths';

describe('resolveSettingPath', () => {
  test('relative to the workspace folder', () => {
    assert.equal(resolveSettingPath('realm/labels.txt', '/w'), '/w/realm/labels.txt');
  });

  test('expands ${workspaceFolder}', () => {
    assert.equal(resolveSettingPath('${workspaceFolder}/m.tflite', '/w'), '/w/m.tflite');
  });

  test('expands a leading ~', () => {
    assert.equal(
      resolveSettingPath('~/models/m.tflite', '/w'),
      path.join(os.homedir(), 'models/m.tflite'),
    );
  });

  test('keeps absolute paths', () => {
    assert.equal(resolveSettingPath(' /data/m.tflite ', '/w'), '/data/m.tflite');
  });

  test('home folder without a workspace', () => {
    assert.equal(resolveSettingPath('m.tflite', undefined), path.join(os.homedir(), 'm.tflite'));
  });
});
