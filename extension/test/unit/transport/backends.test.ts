import assert from 'node:assert/strict';
import path from 'node:path';
import { describe, test } from 'node:test';
import { createRealmFs, translatePath } from '../../../core/transport/backends';

describe('createRealmFs', () => {
  test('translates FVP share paths to the realm folder', async () => {
    const backend = createRealmFs({
      backend: 'fvpShare',
      sharedFolder: '/home/me/fvp-share',
      realmFolder: '/mnt/share',
    });
    // The FVP's 9p server writes into the host folder, so its file events are watched.
    assert.equal(typeof backend.fs.watch, 'function');
    assert.equal(
      backend.toRealmPath('/home/me/fvp-share/cca-1-image.bmp'),
      '/mnt/share/cca-1-image.bmp',
    );
    assert.throws(
      () => backend.toRealmPath('/home/me/other/x.bmp'),
      /not inside the shared folder/,
    );
    await backend.close();
  });

  test('keeps emulated paths and file events', async () => {
    const backend = createRealmFs({ backend: 'emulated', sharedFolder: '/tmp/shared' });
    assert.notEqual(backend.fs.watch, undefined);
    assert.equal(backend.toRealmPath('/tmp/shared/a.bmp'), '/tmp/shared/a.bmp');
    await backend.close();
  });

  test('rejects a relative SSH folder', () => {
    assert.throws(
      () => createRealmFs({ backend: 'ssh', sharedFolder: 'shared' }),
      /absolute path in the normal world/,
    );
  });

  test('maps the SSH folder to the realm folder', async () => {
    const backend = createRealmFs({ backend: 'ssh', ssh: { port: 1 } });
    assert.equal(backend.sharedDir, '/root/shared_with_realm');
    assert.equal(
      backend.toRealmPath('/root/shared_with_realm/cca-1.bmp'),
      '/root/shared_with_realm/cca-1.bmp',
    );
    assert.equal(translatePath(path.posix, '/a', '/b', '/a/c/d.bmp'), '/b/c/d.bmp');
    await backend.close();
  });
});
