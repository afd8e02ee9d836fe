/// <reference types="mocha" />
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import * as vscode from 'vscode';
import { startEmulatedRealm, type EmulatedRealm } from '../../core/emulated-realm/launcher';

// The compiled test is out/test/integration/; the repository is three folders up.
const repositoryRoot = path.resolve(__dirname, '..', '..', '..');
const section = 'ccaRealmStudio.inference';

type Outcome =
  | { kind: 'done'; results: { image: string; top5: { index: number }[]; error: string | null }[] }
  | { kind: 'rejected'; message: string };

function sampleImages(count: number): vscode.Uri[] {
  const folder = path.join(vscode.workspace.workspaceFolders?.[0]?.uri.fsPath ?? '', 'images');
  return ['image.bmp', 'image1.bmp', 'image2.bmp']
    .slice(0, count)
    .map((name) => vscode.Uri.file(path.join(folder, name)));
}

function classify(uris: vscode.Uri[]): Thenable<Outcome | undefined> {
  return vscode.commands.executeCommand<Outcome | undefined>(
    'ccaRealmStudio.classifyInRealm',
    uris[0],
    uris,
  );
}

async function setInference(values: Record<string, unknown>): Promise<void> {
  const config = vscode.workspace.getConfiguration(section);
  for (const [key, value] of Object.entries(values)) {
    await config.update(key, value, vscode.ConfigurationTarget.Workspace);
  }
}

/** Images the realm behind `share` was asked for, from its output.txt. */
function imagesTheRealmRead(share: string): string[] {
  const output = readFileSync(path.join(share, 'output.txt'), 'utf8');
  return [...output.matchAll(/settings->input_bmp_name: (.*)/g)].map((match) => match[1] ?? '');
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => {
      const address = server.address();
      server.close(() => resolve(typeof address === 'object' && address ? address.port : 0));
    });
  });
}

/** Starts OpenSSH's sshd on 127.0.0.1 with a fresh host key and one authorised client key. */
async function startSshd(folder: string): Promise<{
  child: ChildProcess;
  port: number;
  clientKey: string;
  knownHosts: string;
}> {
  mkdirSync(folder, { recursive: true });
  const hostKey = path.join(folder, 'host_ed25519');
  const clientKey = path.join(folder, 'client_ed25519');
  for (const key of [hostKey, clientKey]) {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', key]);
  }
  const authorized = path.join(folder, 'authorized_keys');
  writeFileSync(authorized, readFileSync(`${clientKey}.pub`));
  const port = await freePort();
  const config = path.join(folder, 'sshd_config');
  writeFileSync(
    config,
    [
      `ListenAddress 127.0.0.1`,
      `Port ${port}`,
      `HostKey ${hostKey}`,
      `AuthorizedKeysFile ${authorized}`,
      'PasswordAuthentication no',
      'KbdInteractiveAuthentication no',
      'PermitRootLogin prohibit-password',
      'UsePAM no',
      'StrictModes no',
      `PidFile ${path.join(folder, 'sshd.pid')}`,
      'Subsystem sftp internal-sftp',
      '',
    ].join('\n'),
  );
  mkdirSync('/run/sshd', { recursive: true });
  const child = spawn('/usr/sbin/sshd', ['-D', '-e', '-f', config], {
    detached: true,
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let log = '';
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`sshd did not start: ${log}`)), 15_000);
    child.stderr?.on('data', (chunk: Buffer) => {
      log += chunk.toString();
      if (log.includes('Server listening on 127.0.0.1')) {
        clearTimeout(timer);
        resolve();
      }
    });
    child.once('exit', () => reject(new Error(`sshd exited: ${log}`)));
  });
  const knownHosts = path.join(folder, 'known_hosts');
  const line = readFileSync(`${hostKey}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
  writeFileSync(knownHosts, `[127.0.0.1]:${port} ${line}\n`);
  return { child, port, clientKey, knownHosts };
}

describe('Inference backends', function (this: Mocha.Suite) {
  this.timeout(120_000);
  let folder: string;
  let share: string;
  let realm: EmulatedRealm | undefined;

  before(() => {
    folder = mkdtempSync(path.join(os.tmpdir(), 'cca-backends-'));
    share = path.join(folder, 'share');
    mkdirSync(share);
    // The realm side: the emulated realm on the share, polling as the realm binary does on 9p.
    const inference = vscode.workspace.getConfiguration(section);
    realm = startEmulatedRealm({
      script: path.join(repositoryRoot, 'dist', 'emulated-realm.js'),
      nodePath: process.execPath,
      model: inference.get<string>('model', ''),
      labels: inference.get<string>('labels', ''),
      sharedDir: share,
      pollMs: 20,
    });
  });

  after(async () => {
    await setInference({
      backend: undefined,
      sharedFolder: undefined,
      realmFolder: undefined,
      'ssh.host': undefined,
      'ssh.port': undefined,
      'ssh.user': undefined,
      'ssh.privateKey': undefined,
      'ssh.knownHostsFile': undefined,
    });
    await realm?.stop();
    rmSync(folder, { recursive: true, force: true });
  });

  it('fvpShare sends the images through the share folder', async () => {
    await setInference({ backend: 'fvpShare', sharedFolder: share, realmFolder: share });
    const outcome = await classify(sampleImages(2));
    assert.ok(outcome?.kind === 'done', JSON.stringify(outcome));
    assert.deepEqual(
      outcome.results.map((result) => result.error),
      [null, null],
    );
    assert.equal(imagesTheRealmRead(share).length, 2);
    assert.ok(imagesTheRealmRead(share).every((image) => image.startsWith(`${share}/`)));
  });

  it('ssh sends the images over SFTP to the same realm', async () => {
    const sshd = await startSshd(folder);
    try {
      await setInference({
        backend: 'ssh',
        sharedFolder: share,
        realmFolder: share,
        'ssh.host': '127.0.0.1',
        'ssh.port': sshd.port,
        'ssh.user': os.userInfo().username,
        'ssh.privateKey': sshd.clientKey,
        'ssh.knownHostsFile': sshd.knownHosts,
      });
      const before = imagesTheRealmRead(share).length;
      const outcome = await classify(sampleImages(3));
      assert.ok(outcome?.kind === 'done', JSON.stringify(outcome));
      assert.deepEqual(
        outcome.results.map((result) => result.error),
        [null, null, null],
      );
      assert.equal(imagesTheRealmRead(share).length, before + 3);
    } finally {
      if (sshd.child.pid) process.kill(-sshd.child.pid, 'SIGTERM');
    }
  });

  it('a wrong host key stops the ssh backend before anything is sent', async () => {
    const sshd = await startSshd(path.join(folder, 'second'));
    try {
      const otherKey = path.join(folder, 'other_ed25519');
      execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', otherKey]);
      const line = readFileSync(`${otherKey}.pub`, 'utf8').split(' ').slice(0, 2).join(' ');
      writeFileSync(sshd.knownHosts, `[127.0.0.1]:${sshd.port} ${line}\n`);
      await setInference({
        backend: 'ssh',
        'ssh.port': sshd.port,
        'ssh.privateKey': sshd.clientKey,
        'ssh.knownHostsFile': sshd.knownHosts,
      });
      const before = imagesTheRealmRead(share).length;
      const outcome = await classify(sampleImages(1));
      assert.ok(outcome?.kind === 'rejected', JSON.stringify(outcome));
      assert.match(outcome.message, /host key/i);
      assert.equal(imagesTheRealmRead(share).length, before);
    } finally {
      if (sshd.child.pid) process.kill(-sshd.child.pid, 'SIGTERM');
    }
  });
});
