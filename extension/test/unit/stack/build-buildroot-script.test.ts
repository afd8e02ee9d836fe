import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { chmod, copyFile, mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { findStackScriptsDir } from '../../../core/stack/modifications';

// The project's build-buildroot.sh runs against stand-ins for framework.sh, buildroot's make
// and utils/config, and e2fsck, because a real buildroot build takes hours. The stand-ins
// log their arguments so the tests can check the script's requests to buildroot.

let workFolder: string;
let caseNumber = 0;

before(async () => {
  workFolder = await mkdtemp(path.join(os.tmpdir(), 'cca-build-buildroot-test-'));
});

after(async () => {
  await rm(workFolder, { recursive: true, force: true });
});

async function executable(file: string, text: string): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true });
  await writeFile(file, text);
  await chmod(file, 0o755);
}

/** Writes a workspace with realm/, normal_world/ and an rme-stack/ with the stand-ins. */
async function newWorkspace(): Promise<{ workspace: string; stack: string; log: string }> {
  caseNumber += 1;
  const workspace = path.join(workFolder, `workspace-${caseNumber}`);
  const stack = path.join(workspace, 'rme-stack');
  const log = path.join(workspace, 'calls.log');
  await mkdir(path.join(workspace, 'realm'), { recursive: true });
  await mkdir(path.join(workspace, 'normal_world'), { recursive: true });
  await mkdir(path.join(stack, 'linux', 'arch', 'arm64', 'boot'), { recursive: true });
  await writeFile(path.join(stack, 'linux', 'arch', 'arm64', 'boot', 'Image'), 'kernel');
  await writeFile(path.join(stack, 'host.config'), 'BR2_aarch64=y\n');
  await mkdir(path.join(stack, 'build-scripts'), { recursive: true });
  await copyFile(
    path.join(findStackScriptsDir(), 'build-buildroot.sh'),
    path.join(stack, 'build-scripts', 'build-buildroot.sh'),
  );

  await writeFile(
    path.join(stack, 'build-scripts', 'framework.sh'),
    [
      `BUILDROOT_PATH='${stack}/buildroot'`,
      `BUILDROOT_CONFIG_FILE='${stack}/host.config'`,
      `LINUX_PATH='${stack}/linux'`,
      `KVM_TOOL_PATH='${stack}/kvmtool'`,
      `OUTPUT_PLATFORM_DIR='${stack}/output/aemfvp-a-rme'`,
      'PARALLELISM=2; PLATFORM=aemfvp-a-rme; ROOTFS_OVERLAY=',
      'while [ $# -gt 0 ]; do case $1 in -p) shift ;; *) command=$1 ;; esac; shift; done',
      'do_$command',
      '',
    ].join('\n'),
  );
  await executable(
    path.join(stack, 'buildroot', 'utils', 'config'),
    `#!/bin/sh\nprintf 'config %s\\n' "$*" >> '${log}'\n`,
  );
  // make O=<folder> builds there; without O= it builds in <buildroot>/output.
  await executable(
    path.join(workspace, 'bin', 'make'),
    [
      '#!/bin/sh',
      `printf 'make %s\\n' "$*" >> '${log}'`,
      'output=""; for argument; do case $argument in O=*) output=${argument#O=} ;; esac; done',
      'output=${output:-$2/output}',
      'mkdir -p "$output/images" && echo fs > "$output/images/rootfs.ext4" && echo cpio > "$output/images/rootfs.cpio"',
      '',
    ].join('\n'),
  );
  await executable(path.join(workspace, 'bin', 'e2fsck'), `#!/bin/sh\nexit 1\n`);
  return { workspace, stack, log };
}

function run(
  stack: string,
  workspace: string,
  command: string,
  env: Record<string, string> = {},
): { status: number | null; stderr: string } {
  const result = spawnSync(
    'bash',
    [path.join(stack, 'build-scripts', 'build-buildroot.sh'), '-p', 'aemfvp-a-rme', command],
    {
      cwd: stack,
      env: { ...process.env, PATH: `${workspace}/bin:${process.env.PATH ?? ''}`, ...env },
      encoding: 'utf8',
    },
  );
  return { status: result.status, stderr: result.stderr };
}

describe('stack-scripts/build-buildroot.sh', () => {
  test('passes bash -n', () => {
    execFileSync('bash', ['-n', path.join(findStackScriptsDir(), 'build-buildroot.sh')]);
  });

  test('build overlays realm/ and normal_world/', async () => {
    const { workspace, stack, log } = await newWorkspace();
    const result = run(stack, workspace, 'build');
    assert.equal(result.status, 0, result.stderr);

    const calls = (await readFile(log, 'utf8')).split('\n');
    const buildroot = path.join(stack, 'buildroot');
    assert.ok(
      calls.includes(
        `config --file ${buildroot}/output-realm/.config --set-str BR2_ROOTFS_OVERLAY ${workspace}/realm`,
      ),
      calls.join('\n'),
    );
    assert.ok(
      calls.includes(
        `config --file ${buildroot}/.config --set-str BR2_ROOTFS_OVERLAY ` +
          `${buildroot}/cca-host-overlay ${workspace}/normal_world`,
      ),
      calls.join('\n'),
    );
    assert.ok(calls.some((call) => call.includes('--enable BR2_TARGET_ROOTFS_CPIO')));
    assert.ok(calls.includes(`make -C ${buildroot} -j2 kvmtool-rebuild`));
    assert.equal(
      await readFile(path.join(buildroot, 'local.mk'), 'utf8'),
      `KVMTOOL_OVERRIDE_SRCDIR = ${stack}/kvmtool\n`,
    );
  });

  test('package writes host-fs.ext4', async () => {
    const { workspace, stack } = await newWorkspace();
    assert.equal(run(stack, workspace, 'build').status, 0);
    assert.equal(run(stack, workspace, 'package').status, 0);
    const hostFs = path.join(stack, 'output', 'aemfvp-a-rme', 'host-fs.ext4');
    assert.equal(await readFile(hostFs, 'utf8'), 'fs\n');
  });

  test('overlay folders from variables', async () => {
    const { workspace, stack, log } = await newWorkspace();
    const realm = path.join(workspace, 'other-realm');
    await mkdir(realm);
    assert.equal(run(stack, workspace, 'build', { REALM_OVERLAY_DIR: realm }).status, 0);
    assert.match(await readFile(log, 'utf8'), new RegExp(`BR2_ROOTFS_OVERLAY ${realm}\\n`));
  });

  test('missing overlay folder stops the build', async () => {
    const { workspace, stack } = await newWorkspace();
    const result = run(stack, workspace, 'build', { REALM_OVERLAY_DIR: '/no/such/realm' });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /REALM_OVERLAY_DIR: folder '\/no\/such\/realm' not found/);
  });

  test('overlay folder with a space stops the build', async () => {
    const { workspace, stack } = await newWorkspace();
    const spaced = path.join(workspace, 'normal world');
    await mkdir(spaced);
    const result = run(stack, workspace, 'build', { NORMAL_WORLD_OVERLAY_DIR: spaced });
    assert.equal(result.status, 1);
    assert.match(result.stderr, /NORMAL_WORLD_OVERLAY_DIR: .* contains white space/);
  });
});
