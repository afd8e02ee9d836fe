import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import { appendFile, mkdir, readFile } from 'node:fs/promises';
import path from 'node:path';
import { isMissingFileError } from '../files';

/** One host key line of an OpenSSH known_hosts file. */
export interface KnownHostEntry {
  /** Line number in the file, from 1. */
  line: number;
  /** `@revoked` or `@cert-authority` when the line starts with one. */
  marker?: string;
  /** The host field as written: patterns separated by commas, or one `|1|salt|hash`. */
  hosts: string;
  keyType: string;
  /** The public key blob (SSH wire format). */
  key: Buffer;
}

/** The result of comparing a host's presented key with its known_hosts entries. */
export type HostKeyStatus =
  | { status: 'known'; entry: KnownHostEntry }
  | { status: 'unknown' }
  | { status: 'changed'; entries: KnownHostEntry[] }
  | { status: 'revoked'; entry: KnownHostEntry };

/**
 * Host key algorithms in ssh2 1.17's default order of preference. Hosts with known keys get
 * their known types first, so a server with several keys presents the one on record.
 */
const defaultHostKeyAlgorithms = [
  'ssh-ed25519',
  'ecdsa-sha2-nistp256',
  'ecdsa-sha2-nistp384',
  'ecdsa-sha2-nistp521',
  'rsa-sha2-512',
  'rsa-sha2-256',
  'ssh-rsa',
];

/** Returns the name OpenSSH stores a host under: `host` on port 22, else `[host]:port`. */
export function knownHostsName(host: string, port: number): string {
  return port === 22 ? host : `[${host}]:${port}`;
}

/** Returns a key's fingerprint as OpenSSH prints it: `SHA256:` and unpadded base64. */
export function fingerprint(key: Buffer): string {
  return `SHA256:${createHash('sha256').update(key).digest('base64').replace(/=+$/, '')}`;
}

/** Returns the key type written at the start of a public key blob, such as `ssh-ed25519`. */
export function hostKeyType(key: Buffer): string {
  if (key.length < 4) return 'unknown';
  const length = key.readUInt32BE(0);
  return length > 0 && 4 + length <= key.length
    ? key.subarray(4, 4 + length).toString('latin1')
    : 'unknown';
}

/**
 * Parses known_hosts text. Lines that are blank, comments or malformed (too few fields, a key
 * that is not base64 or whose blob names another type) are skipped, as OpenSSH skips them.
 */
export function parseKnownHosts(text: string): KnownHostEntry[] {
  const entries: KnownHostEntry[] = [];
  for (const [index, rawLine] of text.split('\n').entries()) {
    const line = rawLine.trim();
    if (line === '' || line.startsWith('#')) continue;
    const fields = line.split(/\s+/);
    const marker = fields[0]?.startsWith('@') ? fields.shift() : undefined;
    const [hosts, keyType, encodedKey] = fields;
    if (!hosts || !keyType || !encodedKey || !/^[A-Za-z0-9+/]+={0,2}$/.test(encodedKey)) continue;
    const key = Buffer.from(encodedKey, 'base64');
    if (hostKeyType(key) !== keyType) continue;
    entries.push({ line: index + 1, marker, hosts, keyType, key });
  }
  return entries;
}

/**
 * Returns whether a known_hosts host field names `name` (from `knownHostsName`). A hashed
 * field (`|1|salt|hash`) matches when HMAC-SHA1 of the name with the salt equals the hash. A
 * plain field is a comma-separated list of patterns with `*` and `?` wildcards, compared without
 * case. A matching pattern that starts with `!` excludes the name.
 */
export function hostFieldMatches(field: string, name: string): boolean {
  if (field.startsWith('|1|')) {
    const [salt, hash] = field.slice(3).split('|');
    if (!salt || !hash) return false;
    const expected = Buffer.from(hash, 'base64');
    const actual = createHmac('sha1', Buffer.from(salt, 'base64')).update(name).digest();
    return expected.length === actual.length && timingSafeEqual(expected, actual);
  }
  let matched = false;
  for (const pattern of field.split(',')) {
    const negated = pattern.startsWith('!');
    if (!wildcardMatches(negated ? pattern.slice(1) : pattern, name)) continue;
    if (negated) return false;
    matched = true;
  }
  return matched;
}

function wildcardMatches(pattern: string, name: string): boolean {
  const source = pattern
    .toLowerCase()
    .replace(/[.+^${}()|[\]\\]/g, '\\$&')
    .replace(/\*/g, '.*')
    .replace(/\?/g, '.');
  return new RegExp(`^${source}$`).test(name.toLowerCase());
}

/**
 * Compares the key a host presented with the known_hosts entries for it. A matching
 * `@revoked` line wins. Otherwise a line with the same key makes the host known, and any other
 * line for the host means that its key changed. `@cert-authority` lines are not used.
 */
export function checkHostKey(
  entries: readonly KnownHostEntry[],
  host: string,
  port: number,
  key: Buffer,
): HostKeyStatus {
  const name = knownHostsName(host, port);
  const forHost = entries.filter((entry) => hostFieldMatches(entry.hosts, name));
  const revoked = forHost.find((entry) => entry.marker === '@revoked' && entry.key.equals(key));
  if (revoked) return { status: 'revoked', entry: revoked };

  const plain = forHost.filter((entry) => entry.marker === undefined);
  const same = plain.find((entry) => entry.key.equals(key));
  if (same) return { status: 'known', entry: same };
  return plain.length > 0 ? { status: 'changed', entries: plain } : { status: 'unknown' };
}

/** Returns ssh2's host key algorithms with the types on record for the host first. */
export function preferredHostKeyAlgorithms(
  entries: readonly KnownHostEntry[],
  host: string,
  port: number,
): string[] {
  const name = knownHostsName(host, port);
  const preferred: string[] = [];
  for (const entry of entries) {
    if (entry.marker !== undefined || !hostFieldMatches(entry.hosts, name)) continue;
    const algorithms =
      entry.keyType === 'ssh-rsa' ? ['rsa-sha2-512', 'rsa-sha2-256', 'ssh-rsa'] : [entry.keyType];
    for (const algorithm of algorithms) {
      if (defaultHostKeyAlgorithms.includes(algorithm) && !preferred.includes(algorithm)) {
        preferred.push(algorithm);
      }
    }
  }
  return [...preferred, ...defaultHostKeyAlgorithms.filter((a) => !preferred.includes(a))];
}

/** Reads and parses a known_hosts file; a missing file has no entries. */
export async function readKnownHosts(file: string): Promise<KnownHostEntry[]> {
  try {
    return parseKnownHosts(await readFile(file, 'utf8'));
  } catch (error) {
    if (isMissingFileError(error)) return [];
    throw error;
  }
}

/**
 * Appends a plain (unhashed) entry for a host's key, as `ssh` does after the user accepts a
 * new key. The file and its folder are created, private to the user, when missing.
 */
export async function appendKnownHost(
  file: string,
  host: string,
  port: number,
  key: Buffer,
): Promise<void> {
  await mkdir(path.dirname(file), { recursive: true, mode: 0o700 });
  let existing = '';
  try {
    existing = await readFile(file, 'utf8');
  } catch (error) {
    if (!isMissingFileError(error)) throw error;
  }
  const separator = existing === '' || existing.endsWith('\n') ? '' : '\n';
  const line = `${knownHostsName(host, port)} ${hostKeyType(key)} ${key.toString('base64')}\n`;
  await appendFile(file, separator + line, { mode: 0o600 });
}
