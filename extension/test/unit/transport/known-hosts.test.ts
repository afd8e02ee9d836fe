import assert from 'node:assert/strict';
import { createHmac, generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import {
  appendKnownHost,
  checkHostKey,
  fingerprint,
  hostFieldMatches,
  hostKeyType,
  knownHostsName,
  parseKnownHosts,
  preferredHostKeyAlgorithms,
  readKnownHosts,
} from '../../../core/transport/known-hosts';

/** Returns the SSH wire-format blob of a new Ed25519 public key. */
function ed25519Blob(): Buffer {
  const { publicKey } = generateKeyPairSync('ed25519');
  const raw = publicKey.export({ format: 'der', type: 'spki' }).subarray(-32);
  const type = Buffer.from('ssh-ed25519');
  const blob = Buffer.alloc(4 + type.length + 4 + raw.length);
  blob.writeUInt32BE(type.length, 0);
  type.copy(blob, 4);
  blob.writeUInt32BE(raw.length, 4 + type.length);
  raw.copy(blob, 8 + type.length);
  return blob;
}

function line(hosts: string, key: Buffer, marker = ''): string {
  return `${marker ? marker + ' ' : ''}${hosts} ${hostKeyType(key)} ${key.toString('base64')}`;
}

function hashedName(name: string): string {
  const salt = Buffer.from('0123456789abcdefghij');
  const hash = createHmac('sha1', salt).update(name).digest();
  return `|1|${salt.toString('base64')}|${hash.toString('base64')}`;
}

describe('known_hosts', () => {
  const key = ed25519Blob();
  const other = ed25519Blob();

  test('names a host with its port as OpenSSH does', () => {
    assert.equal(knownHostsName('127.0.0.1', 22), '127.0.0.1');
    assert.equal(knownHostsName('127.0.0.1', 8022), '[127.0.0.1]:8022');
  });

  test('parses entries and skips bad lines', () => {
    const text = [
      '# comment',
      '',
      line('[127.0.0.1]:8022', key),
      'broken-line-with-one-field',
      `host ssh-rsa ${key.toString('base64')}`,
      'host ssh-ed25519 not*base64',
      line('*', other, '@revoked'),
    ].join('\n');
    const entries = parseKnownHosts(text);
    assert.deepEqual(
      entries.map((e) => [e.line, e.marker, e.hosts]),
      [
        [3, undefined, '[127.0.0.1]:8022'],
        [7, '@revoked', '*'],
      ],
    );
  });

  test('matches plain, wildcard, negated and hashed host fields', () => {
    const name = '[127.0.0.1]:8022';
    assert.equal(hostFieldMatches('[127.0.0.1]:8022', name), true);
    assert.equal(hostFieldMatches('board,[127.0.0.1]:8022', name), true);
    assert.equal(hostFieldMatches('127.0.0.1', name), false);
    assert.equal(hostFieldMatches('[127.0.0.*]:80??', name), true);
    assert.equal(hostFieldMatches('[*]:*,![127.0.0.1]:8022', name), false);
    assert.equal(hostFieldMatches('BOARD.example', 'board.example'), true);
    assert.equal(hostFieldMatches(hashedName(name), name), true);
    assert.equal(hostFieldMatches(hashedName(name), '[127.0.0.1]:8023'), false);
  });

  test('reports known, unknown, changed and revoked keys', () => {
    const entries = parseKnownHosts(
      [line('[127.0.0.1]:8022', key), line('board', other), line('[127.0.0.1]:9022', other)].join(
        '\n',
      ),
    );
    assert.equal(checkHostKey(entries, '127.0.0.1', 8022, key).status, 'known');
    assert.equal(checkHostKey(entries, '127.0.0.1', 2222, key).status, 'unknown');
    const changed = checkHostKey(entries, '127.0.0.1', 9022, key);
    assert.equal(changed.status, 'changed');
    assert.deepEqual(changed.status === 'changed' ? changed.entries.map((e) => e.line) : [], [3]);

    const revoked = parseKnownHosts([line('*', key, '@revoked'), line('board', key)].join('\n'));
    assert.equal(checkHostKey(revoked, 'board', 22, key).status, 'revoked');
  });

  test('prefers the key types on record', () => {
    const entries = parseKnownHosts(`[h]:1 ssh-rsa ${rsaLikeBlob().toString('base64')}`);
    const algorithms = preferredHostKeyAlgorithms(entries, 'h', 1);
    assert.deepEqual(algorithms.slice(0, 3), ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa']);
    assert.ok(algorithms.includes('ssh-ed25519'));
    assert.equal(preferredHostKeyAlgorithms([], 'h', 1)[0], 'ssh-ed25519');
  });

  test('fingerprints like ssh-keygen', () => {
    assert.match(fingerprint(key), /^SHA256:[A-Za-z0-9+/]{43}$/);
  });

  test('appends an accepted key to a new file', async () => {
    const dir = await mkdtemp(path.join(os.tmpdir(), 'cca-known-hosts-'));
    try {
      const file = path.join(dir, 'ssh', 'known_hosts');
      await appendKnownHost(file, '127.0.0.1', 8022, key);
      await writeFile(file, (await readFile(file, 'utf8')).trimEnd()); // no final newline
      await appendKnownHost(file, 'board', 22, other);
      const entries = await readKnownHosts(file);
      assert.equal(checkHostKey(entries, '127.0.0.1', 8022, key).status, 'known');
      assert.equal(checkHostKey(entries, 'board', 22, other).status, 'known');
      assert.deepEqual(await readKnownHosts(path.join(dir, 'missing')), []);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});

/** Returns a blob that starts with the type name ssh-rsa but holds no real RSA key. */
function rsaLikeBlob(): Buffer {
  const type = Buffer.from('ssh-rsa');
  const blob = Buffer.alloc(4 + type.length + 8);
  blob.writeUInt32BE(type.length, 0);
  type.copy(blob, 4);
  return blob;
}
