import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  componentBuildScript,
  expandPath,
  PathExpansionError,
  processRecordFile,
  stackLayout,
  stepLogFile,
} from '../../../core/stack/layout';

describe('stackLayout', () => {
  const layout = stackLayout('/work/rme-stack');

  test('stack paths', () => {
    assert.equal(layout.repoDir, '/work/rme-stack/.repo');
    assert.equal(layout.manifestFile, '/work/rme-stack/.repo/manifest.xml');
    assert.equal(
      layout.buildAllScript,
      '/work/rme-stack/build-scripts/aemfvp-a-rme/build-test-buildroot.sh',
    );
    assert.equal(layout.bootScript, '/work/rme-stack/model-scripts/aemfvp-a-rme/boot.sh');
    assert.equal(layout.runModelScript, '/work/rme-stack/model-scripts/aemfvp-a-rme/run_model.sh');
    assert.equal(layout.handlerFile, '/work/rme-stack/rmm/runtime/core/handler.c');
    assert.equal(layout.outputs['fip.bin'], '/work/rme-stack/output/aemfvp-a-rme/fip.bin');
    assert.equal(layout.outputs.Image, '/work/rme-stack/output/aemfvp-a-rme/Image');
    assert.equal(layout.uartLogs[3], '/work/rme-stack/logs/aemfvp-a-rme/uart3.log');
  });

  test('product folder default and option', () => {
    assert.equal(layout.productDir, '/work/rme-stack/.cca');
    assert.equal(stepLogFile(layout, 'build'), '/work/rme-stack/.cca/logs/build.log');
    assert.equal(processRecordFile(layout, 'boot'), '/work/rme-stack/.cca/processes/boot.json');
    const custom = stackLayout('/work/rme-stack', { productDir: '/work/.cca/stack' });
    assert.equal(custom.backupDir, '/work/.cca/stack/backups');
  });

  test('relative root rejected', () => {
    assert.throws(() => stackLayout('rme-stack'), /absolute path, not 'rme-stack'/);
  });

  test('component script', () => {
    assert.equal(componentBuildScript(layout, 'rmm'), '/work/rme-stack/build-scripts/build-rmm.sh');
    assert.throws(() => componentBuildScript(layout, '../rmm'), /Invalid stack component/);
  });
});

describe('expandPath', () => {
  const env = { FVP: '/opt/fvp', EMPTY: '', workspaceFolder: '/home/me/project' };

  test('tilde', () => {
    assert.equal(expandPath('~', env, '/home/me'), '/home/me');
    assert.equal(expandPath('~/models/fvp', env, '/home/me'), '/home/me/models/fvp');
    assert.equal(expandPath('/a/~/b', env, '/home/me'), '/a/~/b');
  });

  test('variable forms', () => {
    assert.equal(expandPath('$FVP/bin', env, '/h'), '/opt/fvp/bin');
    assert.equal(expandPath('${FVP}/bin', env, '/h'), '/opt/fvp/bin');
    assert.equal(expandPath('${env:FVP}/bin', env, '/h'), '/opt/fvp/bin');
    assert.equal(
      expandPath('${workspaceFolder}/rme-stack', env, '/h'),
      '/home/me/project/rme-stack',
    );
    assert.equal(expandPath('/x$EMPTY/y', env, '/h'), '/x/y');
  });

  test('dollar without a name stays', () => {
    assert.equal(expandPath('/a/$/b$1', env, '/h'), '/a/$/b$1');
  });

  test('unknown variable', () => {
    assert.throws(
      () => expandPath('${env:NO_SUCH_VAR}/fvp', env, '/h'),
      (error: unknown) => {
        assert.ok(error instanceof PathExpansionError);
        assert.equal(error.variable, 'NO_SUCH_VAR');
        assert.match(error.message, /'\$\{env:NO_SUCH_VAR\}\/fvp' uses the variable NO_SUCH_VAR/);
        return true;
      },
    );
    assert.throws(() => expandPath('$NOPE', env, '/h'), /NOPE, which is not set/);
  });

  test('malformed braces and other users', () => {
    assert.throws(() => expandPath('${a b}/x', env, '/h'), /Invalid variable '\$\{a b\}'/);
    assert.throws(() => expandPath('~root/fvp', env, '/h'), /starts with '~root'/);
  });
});
