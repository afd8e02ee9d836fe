import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import {
  detectRmmVersion,
  isRmmVersionFamily,
  parseRmmCmakeVersion,
  RMM_VERSION_FAMILIES,
  rmmVersionFamily,
} from '../../../core/rmm/rmm-version';

describe('TF-RMM version', () => {
  test('parses the project version', () => {
    assert.equal(
      parseRmmCmakeVersion(
        'cmake_minimum_required(VERSION 3.15.0)\nproject(RMM VERSION 0.4.0 LANGUAGES C ASM)\n',
      ),
      '0.4.0',
    );
    assert.equal(parseRmmCmakeVersion('project(other VERSION 1.0.0)'), undefined);
  });

  test('maps versions to families', () => {
    const cases: [string, string | undefined][] = [
      ['0.1.0', 'v0.1-v0.2'],
      ['0.2.0', 'v0.1-v0.2'],
      ['0.3.0', 'v0.3-v0.5'],
      ['0.4.0', 'v0.3-v0.5'],
      ['v0.5.0', 'v0.3-v0.5'],
      ['0.6.0', 'v0.6-v0.7'],
      [' 0.7.0 ', 'v0.6-v0.7'],
      ['0.8.0', 'v0.8'],
      ['0.8.1', 'v0.8'],
      ['0.9.0', 'v0.9+'],
      ['0.10.0', 'v0.9+'],
      ['1.0.0', 'v0.9+'],
      ['next', undefined],
      ['', undefined],
    ];
    for (const [version, family] of cases) {
      assert.equal(rmmVersionFamily(version), family, version);
    }
  });

  test('recognises family names', () => {
    for (const family of RMM_VERSION_FAMILIES) {
      assert.equal(isRmmVersionFamily(family), true, family);
    }
    assert.equal(isRmmVersionFamily('v0.6+'), false);
    assert.equal(isRmmVersionFamily('0.8.0'), false);
  });

  test('detects it from a checkout', () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 'cca-rmm-'));
    try {
      const handler = path.join(root, 'rmm', 'runtime', 'core', 'handler.c');
      mkdirSync(path.dirname(handler), { recursive: true });
      writeFileSync(handler, '');
      assert.equal(detectRmmVersion(handler), undefined);
      writeFileSync(
        path.join(root, 'rmm', 'CMakeLists.txt'),
        'project(RMM VERSION 0.4.0 LANGUAGES C ASM)\n',
      );
      assert.equal(detectRmmVersion(handler), '0.4.0');
    } finally {
      rmSync(root, { recursive: true, force: true });
    }
  });
});
