import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import {
  checkDiskSpace,
  checkDisplay,
  checkDocker,
  checkFvp,
  checkHost,
  checkPrerequisites,
  checkRepo,
  checkUser,
} from '../../../core/stack/prerequisites';
import { FvpNotFoundError, locateFvp } from '../../../core/stack/fvp';
import { execFileRunner } from '../../../core/stack/runner';

const temporary = fs.mkdtempSync(path.join(os.tmpdir(), 'cca-prerequisites-'));
after(() => fs.rmSync(temporary, { recursive: true, force: true }));

function executable(file: string, body = 'exit 0'): string {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  fs.writeFileSync(file, `#!/bin/sh\n${body}\n`, { mode: 0o755 });
  return file;
}

// A Docker socket path where no engine listens, so the real docker client fails to connect on
// any machine.
const noEngine = { ...process.env, DOCKER_HOST: `unix://${temporary}/no-engine/docker.sock` };

describe('checkDocker', () => {
  test('real client without an engine', async () => {
    const result = await checkDocker('docker', { env: noEngine });
    assert.equal(result.ok, false);
    assert.match(
      result.detail,
      /no engine answers: Cannot connect to the Docker daemon at unix:\/\//,
    );
    assert.match(result.detail, /no-engine\/docker\.sock/);
    assert.match(result.fix ?? '', /systemctl start docker/);
  });

  test('this machine', async () => {
    // The outcome depends on the machine, so the detail must carry the client's own message.
    const result = await checkDocker('docker');
    const direct = await execFileRunner('docker', ['info', '--format', '{{.ServerVersion}}'], {
      timeoutMs: 20000,
    });
    if (result.ok) {
      assert.equal(result.detail, `Docker Engine ${direct.stdout.trim()} is reachable`);
    } else {
      const message = (direct.stderr.trim() || direct.error || '').split('\n')[0];
      assert.notEqual(message, '');
      assert.ok(result.detail.includes(message), `${result.detail} has: ${message}`);
    }
  });

  test('missing docker command', async () => {
    const result = await checkDocker(path.join(temporary, 'no-docker'));
    assert.equal(result.ok, false);
    assert.match(result.detail, /was not found/);
    assert.match(result.fix ?? '', /ccaRealmStudio\.stack\.docker/);
  });

  test('engine version', async () => {
    // A stand-in for a client with a running engine, which this machine lacks.
    const docker = executable(path.join(temporary, 'engine', 'docker'), 'echo 28.2.2');
    const result = await checkDocker(docker);
    assert.equal(result.ok, true);
    assert.equal(result.detail, 'Docker Engine 28.2.2 is reachable');
  });

  test('socket permission denied', async () => {
    // A stand-in printing what the client prints for a user outside the docker group; as root,
    // this machine cannot produce it.
    const docker = executable(
      path.join(temporary, 'denied', 'docker'),
      'echo "permission denied while trying to connect to the Docker daemon socket at ' +
        'unix:///var/run/docker.sock: connect: permission denied" >&2; exit 1',
    );
    const result = await checkDocker(docker);
    assert.equal(result.ok, false);
    assert.match(result.fix ?? '', /usermod -aG docker/);
  });

  test('timeout', async () => {
    const docker = executable(path.join(temporary, 'slow', 'docker'), 'sleep 5');
    const result = await checkDocker(docker, { timeoutMs: 200 });
    assert.equal(result.ok, false);
    assert.match(result.detail, /did not answer within 0\.2 s/);
  });
});

describe('checkFvp', () => {
  const home = path.join(temporary, 'home');
  const fvpFolder = path.join(home, 'FVP Base', 'models', 'Linux64_GCC-9.3');
  const binary = executable(path.join(fvpFolder, 'FVP_Base_RevC-2xAEMvA'));
  const env = { FVP_ROOT: path.join(home, 'FVP Base') };

  test('tilde in the setting', async () => {
    const location = await locateFvp({ fvpDir: '~/FVP Base/models/Linux64_GCC-9.3', env, home });
    assert.deepEqual(location.variable, { name: 'FVP_DIR', value: fvpFolder });
    assert.equal(location.binary, binary);
    assert.equal(location.source, 'setting');
  });

  test('variables in the setting', async () => {
    for (const fvpDir of [
      '${env:FVP_ROOT}/models/Linux64_GCC-9.3',
      '${FVP_ROOT}/models/Linux64_GCC-9.3',
      '$FVP_ROOT/models/Linux64_GCC-9.3',
    ]) {
      const location = await locateFvp({ fvpDir, env, home });
      assert.equal(location.binary, binary, fvpDir);
    }
  });

  test('unknown variable', async () => {
    const result = await checkFvp({ fvpDir: '${env:NO_FVP_HERE}/models', env, home });
    assert.equal(result.ok, false);
    assert.match(result.detail, /ccaRealmStudio\.stack\.fvpDir: .*NO_FVP_HERE, which is not set/);
  });

  test('FVP_DIR and MODEL from the environment', async () => {
    const fromDir = await locateFvp({
      env: { FVP_DIR: '~/FVP Base/models/Linux64_GCC-9.3' },
      home,
    });
    assert.equal(fromDir.source, 'FVP_DIR');
    assert.equal(fromDir.binary, binary);
    // A literal `~` in MODEL is what makes boot.sh's existence check fail; it is expanded here.
    const fromModel = await locateFvp({
      env: { MODEL: '~/FVP Base/models/Linux64_GCC-9.3/FVP_Base_RevC-2xAEMvA' },
      home,
    });
    assert.deepEqual(fromModel.variable, { name: 'MODEL', value: binary });
  });

  test('setting before FVP_DIR', async () => {
    const location = await locateFvp({
      fvpDir: fvpFolder,
      env: { FVP_DIR: '/nowhere' },
      home,
    });
    assert.equal(location.source, 'setting');
  });

  test('nothing configured', async () => {
    const result = await checkFvp({ env: {}, home });
    assert.equal(result.ok, false);
    assert.match(result.detail, /No FVP is configured/);
    assert.match(result.fix ?? '', /ccaRealmStudio\.stack\.fvpDir/);
  });

  test('missing folder', async () => {
    const result = await checkFvp({ fvpDir: '~/no-fvp', env, home });
    assert.equal(result.ok, false);
    assert.match(result.detail, /no-fvp does not exist/);
  });

  test('package folder instead of the models folder', async () => {
    const result = await checkFvp({ fvpDir: '~/FVP Base', env, home });
    assert.equal(result.ok, false);
    assert.match(result.detail, /has no FVP_Base_RevC-2xAEMvA/);
    assert.equal(
      result.fix,
      `The FVP package has it at ${binary}: set ccaRealmStudio.stack.fvpDir to ${fvpFolder}.`,
    );
  });

  test('binary not executable', async () => {
    const folder = path.join(temporary, 'plain');
    fs.mkdirSync(folder, { recursive: true });
    fs.writeFileSync(path.join(folder, 'FVP_Base_RevC-2xAEMvA'), 'not a program', { mode: 0o644 });
    const result = await checkFvp({ fvpDir: folder, env, home });
    assert.equal(result.ok, false);
    assert.match(result.detail, /is not executable/);
    assert.match(result.fix ?? '', /^Make it executable: chmod \+x/);
  });

  test('MODEL naming a folder, relative paths', async () => {
    await assert.rejects(locateFvp({ env: { MODEL: fvpFolder }, home }), (error: unknown) => {
      assert.ok(error instanceof FvpNotFoundError);
      assert.match(error.message, /MODEL names the FVP binary itself/);
      return true;
    });
    await assert.rejects(locateFvp({ fvpDir: 'fvp', env, home }), /not an absolute path/);
  });
});

describe('other checks', () => {
  test('host', () => {
    assert.equal(checkHost('linux').ok, true);
    const mac = checkHost('darwin');
    assert.equal(mac.ok, false);
    assert.match(mac.detail, /runs darwin/);
  });

  test('root user', () => {
    const root = checkUser(0);
    assert.equal(root.ok, false);
    assert.match(root.detail, /Executing with root permissions is not allowed/);
    assert.equal(checkUser(1000).ok, true);
  });

  test('display', () => {
    assert.match(checkDisplay({ DISPLAY: ':1' }).detail, /DISPLAY is :1/);
    const none = checkDisplay({});
    assert.equal(none.ok, true);
    assert.match(none.detail, /bp\.terminal_N\.start_telnet=0/);
  });

  test('repo on PATH or in the container', async () => {
    const bin = path.join(temporary, 'bin');
    const repo = executable(path.join(bin, 'repo'));
    const found = await checkRepo({ PATH: `/nonexistent${path.delimiter}${bin}` });
    assert.deepEqual([found.ok, found.detail], [true, `found at ${repo}`]);
    const missing = await checkRepo({ PATH: path.join(temporary, 'empty') });
    assert.equal(missing.ok, true);
    assert.match(missing.detail, /inside the build container/);
  });

  test('disk space on the nearest existing folder', async () => {
    const root = path.join(temporary, 'not', 'yet', 'rme-stack');
    const enough = await checkDiskSpace(root, 1);
    assert.equal(enough.ok, true);
    assert.match(enough.detail, new RegExp(`GB free on the file system of ${temporary}; `));
    const short = await checkDiskSpace(root, 1e18);
    assert.equal(short.ok, false);
    assert.match(short.detail, /needs about 1000000000\.0 GB/);
    assert.match(short.fix ?? '', /ccaRealmStudio\.stack\.root/);
  });

  test('all checks in order', async () => {
    const results = await checkPrerequisites({
      stackRoot: path.join(temporary, 'rme-stack'),
      env: { ...noEngine, FVP_DIR: '/nonexistent/fvp', DISPLAY: '' },
      minFreeBytes: 1,
      uid: 1000,
    });
    assert.deepEqual(
      results.map((r) => r.id),
      ['host', 'user', 'docker', 'repo', 'diskSpace', 'fvp', 'display'],
    );
    const byId = new Map(results.map((r) => [r.id, r]));
    assert.equal(byId.get('docker')?.ok, false);
    assert.equal(byId.get('fvp')?.ok, false);
    assert.equal(byId.get('diskSpace')?.ok, true);
  });
});
