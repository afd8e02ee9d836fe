import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import {
  bootCommand,
  buildAllArgv,
  componentBuildArgv,
  containerBuildCommand,
  formatCommandLine,
  inContainerCommand,
  listBuildComponents,
  noXtermParameters,
  repoInitArgv,
  repoSyncArgv,
  rmmRebuildArgvs,
} from '../../../core/stack/commands';
import { stackLayout } from '../../../core/stack/layout';

const layout = stackLayout('/home/me/rme stack');

describe('container commands', () => {
  test('container.sh build', () => {
    const spec = containerBuildCommand({ dockerRepo: '/home/me/docker', image: 'aemfvp-builder' });
    assert.equal(spec.command, '/home/me/docker/container.sh');
    assert.deepEqual(spec.args, ['-i', 'aemfvp-builder', 'build']);
    assert.equal(spec.cwd, '/home/me/docker');
    assert.throws(
      () => containerBuildCommand({ dockerRepo: 'docker', image: 'x' }),
      /must be an absolute path, not 'docker'/,
    );
  });

  test('docker run wrapper', () => {
    const spec = inContainerCommand({
      docker: 'docker',
      image: 'aemfvp-builder',
      stackRoot: layout.root,
      argv: ['repo', 'sync'],
      user: { uid: 1000, gid: 1001 },
      name: 'cca-test',
      env: { JOBS: '4' },
    });
    assert.equal(spec.command, 'docker');
    assert.deepEqual(spec.args, [
      'run',
      '--rm',
      '--init',
      '--name',
      'cca-test',
      '--network',
      'host',
      '--user',
      '1000:1001',
      '-v',
      '/home/me/rme stack:/home/me/rme stack',
      '-w',
      '/home/me/rme stack',
      '--env',
      'DISPLAY',
      '--env',
      'JOBS=4',
      'aemfvp-builder',
      'repo',
      'sync',
    ]);
    assert.deepEqual(spec.stopHooks?.term, ['docker', 'kill', '--signal', 'TERM', 'cca-test']);
    assert.deepEqual(spec.stopHooks?.kill, ['docker', 'kill', 'cca-test']);
  });

  test('wrapper tty and default user', () => {
    const spec = inContainerCommand({
      docker: '/usr/bin/docker',
      image: 'img',
      stackRoot: '/s',
      argv: ['true'],
      tty: true,
      user: { uid: 1000, gid: 1000 },
    });
    assert.equal(spec.args.at(-3), '-t');
    assert.match(spec.args[4], /^cca-realm-studio-step-[0-9a-f]{8}$/);
    const info = os.userInfo();
    if (info.uid !== 0) {
      const own = inContainerCommand({
        docker: 'docker',
        image: 'i',
        stackRoot: '/s',
        argv: ['true'],
      });
      assert.ok(own.args.includes(`${info.uid}:${info.gid}`));
    }
  });

  test('wrapper rejects root', () => {
    assert.throws(
      () =>
        inContainerCommand({
          docker: 'docker',
          image: 'i',
          stackRoot: '/s',
          argv: ['true'],
          user: { uid: 0, gid: 0 },
        }),
      /do not run as root/,
    );
  });

  test('wrapper rejects relative stack and empty argv', () => {
    const base = { docker: 'docker', image: 'i', user: { uid: 1, gid: 1 } };
    assert.throws(() => inContainerCommand({ ...base, stackRoot: 's', argv: ['x'] }), /absolute/);
    assert.throws(() => inContainerCommand({ ...base, stackRoot: '/s', argv: [] }), /No command/);
  });
});

describe('repo commands', () => {
  test('repo init', () => {
    assert.deepEqual(
      repoInitArgv({
        manifestUrl: 'https://example.org/manifest.git',
        manifest: 'pinned-aemfvp-a-rme.xml',
        tag: 'refs/tags/AEMFVP-A-RME-2023.12.22',
      }),
      [
        'repo',
        'init',
        '-u',
        'https://example.org/manifest.git',
        '-m',
        'pinned-aemfvp-a-rme.xml',
        '-b',
        'refs/tags/AEMFVP-A-RME-2023.12.22',
      ],
    );
    assert.throws(
      () => repoInitArgv({ manifestUrl: 'u', manifest: ' ', tag: 't' }),
      /ccaRealmStudio\.stack\.manifest\b/,
    );
  });

  test('repo sync', () => {
    assert.deepEqual(repoSyncArgv(8), [
      'repo',
      'sync',
      '-c',
      '-j',
      '8',
      '--fetch-submodules',
      '--force-sync',
      '--no-clone-bundle',
    ]);
    assert.equal(repoSyncArgv()[4], String(os.availableParallelism()));
    assert.throws(() => repoSyncArgv(0), /Invalid repo sync job count 0/);
    assert.throws(() => repoSyncArgv(1.5), /Invalid repo sync job count/);
  });
});

describe('build and boot commands', () => {
  test('whole stack', () => {
    assert.deepEqual(buildAllArgv(layout, 'all'), [
      '/home/me/rme stack/build-scripts/aemfvp-a-rme/build-test-buildroot.sh',
      '-p',
      'aemfvp-a-rme',
      'all',
    ]);
  });

  test('one component and the RMM rebuild', () => {
    assert.deepEqual(componentBuildArgv(layout, 'linux', 'clean'), [
      '/home/me/rme stack/build-scripts/build-linux.sh',
      '-p',
      'aemfvp-a-rme',
      'clean',
    ]);
    assert.deepEqual(rmmRebuildArgvs(layout), [
      ['/home/me/rme stack/build-scripts/build-rmm.sh', '-p', 'aemfvp-a-rme', 'build'],
      ['/home/me/rme stack/build-scripts/build-tf-a.sh', '-p', 'aemfvp-a-rme', 'build'],
      ['/home/me/rme stack/build-scripts/build-tf-a.sh', '-p', 'aemfvp-a-rme', 'package'],
    ]);
  });

  test('boot with FVP_DIR', () => {
    const spec = bootCommand(layout, 'shell', { name: 'FVP_DIR', value: '/opt/fvp' });
    assert.equal(spec.command, '/home/me/rme stack/model-scripts/aemfvp-a-rme/boot.sh');
    assert.deepEqual(spec.args, ['-p', 'aemfvp-a-rme', 'shell']);
    assert.equal(spec.cwd, '/home/me/rme stack');
    assert.deepEqual(spec.env, { FVP_DIR: '/opt/fvp', MODEL: undefined });
  });

  test('validate with MODEL', () => {
    const spec = bootCommand(layout, 'validate', {
      name: 'MODEL',
      value: '/opt/fvp/FVP_Base_RevC-2xAEMvA',
    });
    assert.deepEqual(spec.args, ['-p', 'aemfvp-a-rme', 'validate']);
    assert.deepEqual(spec.env, { FVP_DIR: undefined, MODEL: '/opt/fvp/FVP_Base_RevC-2xAEMvA' });
    assert.throws(() => bootCommand(layout, 'shell', { name: 'MODEL', value: '~/fvp' }), /MODEL/);
  });

  test('xterm parameters', () => {
    assert.deepEqual(noXtermParameters(), [
      'bp.terminal_0.start_telnet=0',
      'bp.terminal_1.start_telnet=0',
      'bp.terminal_2.start_telnet=0',
      'bp.terminal_3.start_telnet=0',
    ]);
  });

  test('command line for logs', () => {
    assert.equal(
      formatCommandLine(['/home/me/rme stack/boot.sh', '-p', "it's"]),
      `'/home/me/rme stack/boot.sh' -p 'it'\\''s'`,
    );
  });
});

describe('listBuildComponents', () => {
  test('variant list, then script files', async () => {
    const root = fs.mkdtempSync(path.join(os.tmpdir(), 'cca-components-'));
    try {
      const stack = stackLayout(root);
      assert.deepEqual(await listBuildComponents(stack), []);
      for (const name of ['build-rmm.sh', 'build-linux.sh', 'framework.sh']) {
        fs.mkdirSync(stack.buildScriptsDir, { recursive: true });
        fs.writeFileSync(path.join(stack.buildScriptsDir, name), '');
      }
      assert.deepEqual(await listBuildComponents(stack), ['linux', 'rmm']);

      const variant = path.join(stack.buildScriptsDir, 'configs', 'aemfvp-a-rme', 'aemfvp-a-rme');
      fs.mkdirSync(path.dirname(variant), { recursive: true });
      fs.writeFileSync(
        variant,
        '# Components, in build order\nBUILD_SCRIPTS="\\\n\tbuild-hafnium.sh \\\n\tbuild-rmm.sh \\\n' +
          '\tbuild-tf-a.sh \\\n\tbuild-kvm-unit-tests.sh \\\n\t"\n',
      );
      assert.deepEqual(await listBuildComponents(stack), [
        'hafnium',
        'rmm',
        'tf-a',
        'kvm-unit-tests',
      ]);
    } finally {
      fs.rmSync(root, { recursive: true, force: true });
    }
  });
});
