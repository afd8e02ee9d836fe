// Tests of the SSH transport (SshRealmFs) against OpenSSH's sshd on loopback, started per run
// with fresh host and client keys in a temporary folder. The realm side is the emulated realm
// on the server's folder, with the model and labels from the test data.
import assert from 'node:assert/strict';
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { promisify } from 'node:util';
import { after, before, describe, test } from 'node:test';
import { startEmulatedRealm, type EmulatedRealm } from '../../core/emulated-realm/launcher';
import type { Logger } from '../../core/log';
import { RealmClient, type BatchOptions, type ImageResult } from '../../core/protocol/client';
import type { RealmFs } from '../../core/protocol/realm-fs';
import {
  SshAuthenticationError,
  SshHostKeyError,
  SshRealmFs,
  type SshConnectionState,
  type SshRealmFsOptions,
  type UnknownHostKey,
} from '../../core/transport/ssh';
import { dataDir } from '../unit/data';

const run = promisify(execFile);
const sshdPath = '/usr/sbin/sshd';
const realmScript = path.resolve(__dirname, '..', '..', 'cli', 'emulated-realm.js');
const modelName = 'mobilenet_v1_0.25_128_quant.tflite';
const imageNames = ['image.bmp', 'image1.bmp', 'image2.bmp'];
/** A guard against a hung sshd or realm; every wait ends on a condition before it. */
const startTimeoutMs = 15_000;
const passphrase = 'correct horse battery staple';

let work: string;
let port: number;
let sshd: Sshd;
let hostKeyFingerprint: string;
let localResults: ImageResult[];
const username = os.userInfo().username;

/** An sshd in its own process group, listening on 127.0.0.1 only. */
class Sshd {
  private stderr = '';

  private constructor(
    private readonly child: ChildProcess,
    readonly exited: Promise<void>,
  ) {}

  static async start(configFile: string): Promise<Sshd> {
    const child = spawn(sshdPath, ['-D', '-e', '-f', configFile], {
      detached: true,
      stdio: ['ignore', 'ignore', 'pipe'],
    });
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    const server = new Sshd(child, exited);
    child.stderr?.on('data', (chunk: Buffer) => (server.stderr += chunk.toString()));
    const deadline = Date.now() + startTimeoutMs;
    while (!server.stderr.includes('Server listening on 127.0.0.1')) {
      if (child.exitCode !== null || Date.now() > deadline) {
        throw new Error(`sshd did not start: ${server.stderr}`);
      }
      await delay(20);
    }
    return server;
  }

  get log(): string {
    return this.stderr;
  }

  /** Kills the processes that serve the open sessions (sshd's children), not the listener. */
  killSessions(): number[] {
    const pids = this.child.pid === undefined ? [] : descendants(this.child.pid);
    for (const pid of pids) process.kill(pid, 'SIGKILL');
    return pids;
  }

  async stop(): Promise<void> {
    this.killSessions();
    if (this.child.exitCode === null && this.child.pid !== undefined) {
      process.kill(-this.child.pid, 'SIGTERM');
    }
    await this.exited;
  }
}

/** Returns the process ids below `pid`, read from /proc. */
function descendants(pid: number): number[] {
  const children: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    let stat: string;
    try {
      stat = readFileSync(`/proc/${entry}/stat`, 'utf8');
    } catch {
      continue;
    }
    // Field 4 is the parent id; the command name before it may contain spaces.
    const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
    if (parent === pid) children.push(Number(entry));
  }
  return children.flatMap((child) => [child, ...descendants(child)]);
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

async function keygen(file: string, keyPassphrase = ''): Promise<string> {
  await run('ssh-keygen', [
    '-q',
    '-t',
    'ed25519',
    '-N',
    keyPassphrase,
    '-C',
    'cca-test',
    '-f',
    file,
  ]);
  return (await readFile(`${file}.pub`, 'utf8')).trim();
}

function sshdConfig(hostKey: string): string {
  return [
    'ListenAddress 127.0.0.1',
    `Port ${port}`,
    `HostKey ${hostKey}`,
    `PidFile ${path.join(work, 'sshd.pid')}`,
    `AuthorizedKeysFile ${path.join(work, 'authorized_keys')}`,
    'PubkeyAuthentication yes',
    // Offered so that a wrong password gets the server's rejection; root logins still need a key.
    'PasswordAuthentication yes',
    'PermitRootLogin prohibit-password',
    'KbdInteractiveAuthentication no',
    'UsePAM no',
    // The temporary folder is under the world-writable /tmp, which StrictModes rejects.
    'StrictModes no',
    'Subsystem sftp internal-sftp',
    '',
  ].join('\n');
}

/** Writes a known_hosts file with `ssh-keyscan`'s line for the test server. */
async function knownHostsFile(name: string, options: { hashed?: boolean } = {}): Promise<string> {
  const file = path.join(work, name);
  const { stdout } = await run('ssh-keyscan', ['-p', String(port), '-t', 'ed25519', '127.0.0.1']);
  await writeFile(file, stdout);
  if (options.hashed) await run('ssh-keygen', ['-q', '-H', '-f', file]);
  return file;
}

function collectingLog(lines: string[]): Logger {
  const add = (level: string) => (message: string) => lines.push(`${level}: ${message}`);
  return { debug: add('debug'), info: add('info'), warn: add('warn'), error: add('error') };
}

function sshOptions(extra: Partial<SshRealmFsOptions> = {}): SshRealmFsOptions {
  return {
    host: '127.0.0.1',
    port,
    username,
    knownHostsFile: path.join(work, 'known_hosts'),
    privateKeyFile: path.join(work, 'client_key'),
    ...extra,
  };
}

function images(): string[] {
  return imageNames.map((name) => path.join(dataDir(), 'images', name));
}

/**
 * Classifies the images through a shared folder with the emulated realm serving it, as the
 * extension does; returns the results and the realm's output.txt.
 */
async function classify(
  fs: SshRealmFs | undefined,
  batch: BatchOptions = {},
  log?: Logger,
): Promise<{ results: ImageResult[]; output: string }> {
  const sharedDir = await mkdtemp(path.join(work, 'shared-'));
  let realm: EmulatedRealm | undefined;
  const client = new RealmClient({
    sharedDir,
    fs,
    pollMs: 50,
    timeoutMs: 60_000,
    realmStatus: () => realm?.status(),
    log,
  });
  await client.open();
  try {
    realm = startEmulatedRealm({
      script: realmScript,
      model: path.join(dataDir(), 'models', modelName),
      labels: path.join(dataDir(), 'labels', 'labels.txt'),
      sharedDir,
    });
    void realm.exited.then(() => client.wake());
    const results = await client.classify(images(), batch);
    return { results, output: await readFile(path.join(sharedDir, 'output.txt'), 'utf8') };
  } finally {
    await realm?.stop();
    await client.close();
  }
}

function assertSameAsLocal(results: ImageResult[]): void {
  assert.deepEqual(
    results.map((r) => r.error),
    imageNames.map(() => null),
  );
  assert.deepEqual(
    results.map((r) => r.image),
    localResults.map((r) => r.image),
  );
  for (const [i, result] of results.entries()) {
    assert.deepEqual(result.top5, localResults[i]?.top5, `top 5 of ${imageNames[i]}`);
  }
}

/** Counts how often the realm started on each image copy, from its input lines. */
function inputCounts(output: string): number[] {
  const counts = new Map<string, number>();
  for (const match of output.matchAll(/^INFO: settings->input_bmp_name: (.*)$/gm)) {
    const name = match[1] ?? '';
    counts.set(name, (counts.get(name) ?? 0) + 1);
  }
  return [...counts.values()];
}

/**
 * An SshRealmFs that runs `afterQuery` once a given query has been written, to break the
 * connection at the point where the realm works on an image while the client is away.
 */
class BreakingSshRealmFs extends SshRealmFs {
  private queries = 0;

  constructor(
    options: SshRealmFsOptions,
    private readonly atQuery: number,
    private readonly afterQuery: () => void,
  ) {
    super(options);
  }

  override async writeFileAtomic(file: string, data: string | Uint8Array): Promise<void> {
    await super.writeFileAtomic(file, data);
    if (typeof data === 'string' && data.startsWith('systemState: query')) {
      this.queries += 1;
      if (this.queries === this.atQuery) this.afterQuery();
    }
  }
}

describe('SSH transport against OpenSSH', { timeout: 180_000 }, () => {
  before(async () => {
    if (!existsSync(sshdPath)) {
      throw new Error(
        `${sshdPath} not found: run node scripts/test-peers/setup.mjs, which installs ` +
          'openssh-server and openssh-sftp-server',
      );
    }
    work = await mkdtemp(path.join(os.tmpdir(), 'cca-ssh-test-'));
    port = await freePort();
    await mkdir('/run/sshd', { recursive: true });

    const hostKey = path.join(work, 'host_key');
    await keygen(hostKey);
    await keygen(path.join(work, 'other_host_key'));
    const authorized = [
      await keygen(path.join(work, 'client_key')),
      await keygen(path.join(work, 'encrypted_key'), passphrase),
    ];
    await keygen(path.join(work, 'stranger_key'));
    await writeFile(path.join(work, 'authorized_keys'), authorized.join('\n') + '\n', {
      mode: 0o600,
    });
    const { stdout } = await run('ssh-keygen', ['-l', '-f', `${hostKey}.pub`]);
    hostKeyFingerprint = stdout.split(' ')[1] ?? '';

    await writeFile(path.join(work, 'sshd_config'), sshdConfig(hostKey));
    sshd = await Sshd.start(path.join(work, 'sshd_config'));
    await knownHostsFile('known_hosts');

    localResults = (await classify(undefined)).results;
  });

  after(async () => {
    await sshd?.stop();
    if (work) await rm(work, { recursive: true, force: true });
  });

  test('classifies a batch like the local run', async () => {
    const fs = new SshRealmFs(sshOptions());
    try {
      const { results, output } = await classify(fs);
      assertSameAsLocal(results);
      assert.deepEqual(inputCounts(output), [1, 1, 1]);
      assert.equal((fs as RealmFs).watch, undefined, 'SFTP has no file events');
    } finally {
      await fs.close();
    }
  });

  test('accepts a hashed known_hosts entry', async () => {
    const knownHosts = await knownHostsFile('known_hosts_hashed', { hashed: true });
    assert.match(await readFile(knownHosts, 'utf8'), /^\|1\|/);
    const fs = new SshRealmFs(sshOptions({ knownHostsFile: knownHosts }));
    try {
      await fs.connect();
      assert.ok((await fs.list(work)).includes('sshd_config'));
    } finally {
      await fs.close();
    }
  });

  test('rejects a changed host key', async () => {
    const knownHosts = path.join(work, 'known_hosts_changed');
    const otherKey = (await readFile(path.join(work, 'other_host_key.pub'), 'utf8')).split(' ');
    await writeFile(knownHosts, `# old key\n[127.0.0.1]:${port} ${otherKey[0]} ${otherKey[1]}\n`);
    await run('ssh-keygen', ['-q', '-H', '-f', knownHosts]);
    const fs = new SshRealmFs(sshOptions({ knownHostsFile: knownHosts }));
    try {
      const error = await fs.connect().then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(error instanceof SshHostKeyError, String(error));
      assert.match(error.message, /host key of \[127\.0\.0\.1\]:\d+ has changed/);
      assert.ok(error.message.includes(`${knownHosts} records another key (line 2:`));
      assert.ok(error.message.includes(hostKeyFingerprint), 'names the presented key');
      assert.ok(error.message.includes(`ssh-keygen -R "[127.0.0.1]:${port}"`));
    } finally {
      await fs.close();
    }
  });

  test('refuses an unknown host when not confirmed', async () => {
    const knownHosts = path.join(work, 'known_hosts_unconfirmed');
    const asked: UnknownHostKey[] = [];
    const fs = new SshRealmFs(
      sshOptions({
        knownHostsFile: knownHosts,
        confirmUnknownHost: (key) => {
          asked.push(key);
          return Promise.resolve(false);
        },
      }),
    );
    try {
      await assert.rejects(fs.connect(), (error: unknown) => {
        assert.ok(error instanceof SshHostKeyError);
        assert.match(error.message, /was not accepted/);
        return true;
      });
      assert.equal(asked.length, 1);
      assert.equal(asked[0]?.fingerprint, hostKeyFingerprint);
      assert.equal(asked[0]?.keyType, 'ssh-ed25519');
      assert.equal(existsSync(knownHosts), false, 'nothing recorded');
    } finally {
      await fs.close();
    }
  });

  test('rejects an unknown host without a callback', async () => {
    const fs = new SshRealmFs(sshOptions({ knownHostsFile: path.join(work, 'known_hosts_none') }));
    try {
      await assert.rejects(
        fs.connect(),
        /is not in .*known_hosts_none, and unknown hosts are rejected/,
      );
    } finally {
      await fs.close();
    }
  });

  test('records a confirmed host for OpenSSH', async () => {
    const knownHosts = path.join(work, 'known_hosts_confirmed');
    const first = new SshRealmFs(
      sshOptions({ knownHostsFile: knownHosts, confirmUnknownHost: () => Promise.resolve(true) }),
    );
    try {
      await first.connect();
    } finally {
      await first.close();
    }
    // OpenSSH's own lookup finds the recorded line.
    const { stdout } = await run('ssh-keygen', ['-F', `[127.0.0.1]:${port}`, '-f', knownHosts]);
    assert.match(stdout, /ssh-ed25519/);

    const second = new SshRealmFs(sshOptions({ knownHostsFile: knownHosts }));
    try {
      await second.connect();
    } finally {
      await second.close();
    }
  });

  test('reports the offered methods for a wrong password', async () => {
    let asked = 0;
    const fs = new SshRealmFs(
      sshOptions({
        privateKeyFile: undefined,
        password: () => {
          asked += 1;
          return Promise.resolve('not the password');
        },
      }),
    );
    try {
      const error = await fs.connect().then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(error instanceof SshAuthenticationError, String(error));
      assert.deepEqual([...error.offeredMethods].sort(), ['password', 'publickey']);
      assert.equal(error.passwordRejected, true);
      assert.match(error.message, /The server accepts: publickey, password; tried: password/);
      assert.equal(asked, 1);
    } finally {
      await fs.close();
    }
  });

  test('reports a key the server does not accept', async () => {
    const fs = new SshRealmFs(sshOptions({ privateKeyFile: path.join(work, 'stranger_key') }));
    try {
      const error = await fs.connect().then(
        () => undefined,
        (e: unknown) => e,
      );
      assert.ok(error instanceof SshAuthenticationError, String(error));
      assert.equal(error.passwordRejected, false);
      assert.match(error.message, /tried: publickey \(.*stranger_key\)/);
    } finally {
      await fs.close();
    }
  });

  test('decrypts a key with its passphrase', async () => {
    const keyFile = path.join(work, 'encrypted_key');
    const fs = new SshRealmFs(
      sshOptions({ privateKeyFile: keyFile, passphrase: () => Promise.resolve(passphrase) }),
    );
    try {
      await fs.connect();
    } finally {
      await fs.close();
    }
    const wrong = new SshRealmFs(
      sshOptions({ privateKeyFile: keyFile, passphrase: () => Promise.resolve('wrong') }),
    );
    try {
      await assert.rejects(wrong.connect(), /passphrase of the SSH private key .* is wrong/);
    } finally {
      await wrong.close();
    }
  });

  test('resumes after the session is killed', async () => {
    const states: SshConnectionState[] = [];
    const killed: number[] = [];
    const lines: string[] = [];
    const fs = new BreakingSshRealmFs(
      sshOptions({ onStateChange: (state) => states.push(state), log: collectingLog(lines) }),
      2,
      () => killed.push(...sshd.killSessions()),
    );
    // A second break before the third image's copy is written.
    const batch: BatchOptions = {
      onStart: (_image, position) => {
        if (position === 2) killed.push(...sshd.killSessions());
      },
    };
    try {
      const { results, output } = await classify(fs, batch, collectingLog(lines));
      assertSameAsLocal(results);
      assert.deepEqual(inputCounts(output), [1, 1, 1], 'each query ran once');
      assert.ok(killed.length >= 2, `killed sshd sessions ${killed.join(', ')}`);
      assert.equal(states.filter((state) => state === 'reconnecting').length, 2, lines.join('\n'));
    } finally {
      await fs.close();
    }
  });

  test('reconnects after sshd restarts', async () => {
    const lines: string[] = [];
    let restarted: Promise<void> | undefined;
    const restart = async (): Promise<void> => {
      await sshd.stop();
      await delay(1000);
      sshd = await Sshd.start(path.join(work, 'sshd_config'));
    };
    const fs = new BreakingSshRealmFs(sshOptions({ log: collectingLog(lines) }), 1, () => {
      restarted = restart();
    });
    try {
      const { results, output } = await classify(fs, {}, collectingLog(lines));
      await restarted;
      assertSameAsLocal(results);
      assert.deepEqual(inputCounts(output), [1, 1, 1], 'each query ran once');
      assert.ok(
        lines.some((line) =>
          /Reconnect attempt \d+ .* failed: Connection to .* refused/.test(line),
        ),
        lines.join('\n'),
      );
    } finally {
      await restarted;
      await fs.close();
    }
  });

  test('stops the batch when the server stays away', async () => {
    let stopped: Promise<void> | undefined;
    const fs = new BreakingSshRealmFs(sshOptions({ reconnectTimeoutMs: 2000 }), 2, () => {
      stopped = sshd.stop();
    });
    try {
      const { results } = await classify(fs);
      assert.equal(results[0]?.error, null);
      assert.match(results[1]?.error ?? '', /could not reconnect within 2 s/);
      assert.match(
        results[2]?.error ?? '',
        /^not sent: the connection to ssh:\/\/.* failed at .*image1\.bmp$/,
      );
    } finally {
      await stopped;
      await fs.close();
      sshd = await Sshd.start(path.join(work, 'sshd_config'));
    }
  });

  test('never logs a password or passphrase', async () => {
    const password = 'hunter2-password-secret';
    const wrongPassphrase = 'wrong-passphrase-secret';
    const lines: string[] = [];
    const messages: string[] = [];
    const failure = async (fs: SshRealmFs): Promise<void> => {
      try {
        await fs.connect().then(
          () => assert.fail('the connection was accepted'),
          (error: unknown) => messages.push(String(error)),
        );
      } finally {
        await fs.close();
      }
    };

    await failure(
      new SshRealmFs(
        sshOptions({
          privateKeyFile: undefined,
          password: () => Promise.resolve(password),
          log: collectingLog(lines),
        }),
      ),
    );
    const keyFile = path.join(work, 'encrypted_key');
    await failure(
      new SshRealmFs(
        sshOptions({
          privateKeyFile: keyFile,
          passphrase: () => Promise.resolve(wrongPassphrase),
          log: collectingLog(lines),
        }),
      ),
    );

    // A connection that drops and comes back logs the most: its passphrase must not be there.
    const fs = new SshRealmFs(
      sshOptions({
        privateKeyFile: keyFile,
        passphrase: () => Promise.resolve(passphrase),
        log: collectingLog(lines),
      }),
    );
    try {
      await fs.connect();
      sshd.killSessions();
      assert.ok((await fs.list(work)).includes('sshd_config'));
    } finally {
      await fs.close();
    }

    assert.ok(
      lines.some((line) => /lost .*reconnecting/.test(line)),
      lines.join('\n'),
    );
    assert.equal(messages.length, 2);
    for (const text of [...lines, ...messages]) {
      for (const secret of [password, wrongPassphrase, passphrase]) {
        assert.ok(!text.includes(secret), `a secret in: ${text}`);
      }
    }
  });
});
