import { type Logger } from '../log';
import { RealmFsConnectionError } from '../protocol/realm-fs';
import {
  appendKnownHost,
  fingerprint,
  hostKeyType,
  knownHostsName,
  type HostKeyStatus,
} from './known-hosts';

/** A host key that known_hosts does not list, for the user to accept or reject. */
export interface UnknownHostKey {
  host: string;
  port: number;
  keyType: string;
  /** `SHA256:...`, as `ssh` prints it. */
  fingerprint: string;
  knownHostsFile: string;
}

/** Raised when the host key is not trusted: changed, revoked, or unknown and not accepted. */
export class SshHostKeyError extends RealmFsConnectionError {
  constructor(message: string) {
    super(message);
    this.name = 'SshHostKeyError';
  }
}

/** The server and known_hosts file that a host key belongs to, for messages. */
export interface HostKeyTarget {
  host: string;
  port: number;
  username: string;
  knownHostsFile: string;
}

/**
 * Asks the user, through `confirm`, whether to trust a host key that known_hosts does not list,
 * and appends it there once accepted. Without `confirm`, or when the user declines, it raises
 * SshHostKeyError.
 */
export async function confirmUnknownHost(
  target: HostKeyTarget,
  key: Buffer,
  confirm: ((key: UnknownHostKey) => Promise<boolean>) | undefined,
  log: Logger,
): Promise<void> {
  const unknown: UnknownHostKey = {
    host: target.host,
    port: target.port,
    keyType: hostKeyType(key),
    fingerprint: fingerprint(key),
    knownHostsFile: target.knownHostsFile,
  };
  const name = knownHostsName(target.host, target.port);
  const described = `${unknown.keyType} key ${unknown.fingerprint}`;
  if (!confirm) {
    throw new SshHostKeyError(
      `The host ${name} is not in ${target.knownHostsFile}, and unknown hosts are rejected ` +
        `here. It presented the ${described}. Check it on the board's console ` +
        `(ssh-keygen -lf /etc/ssh/ssh_host_${keyFileType(unknown.keyType)}_key.pub), then ` +
        `record it by connecting once with ssh -p ${target.port} ${target.username}@${target.host}.`,
    );
  }
  if (!(await confirm(unknown))) {
    throw new SshHostKeyError(
      `The ${described} of ${name} was not accepted, so the connection was closed.`,
    );
  }
  await appendKnownHost(target.knownHostsFile, target.host, target.port, key);
  log.info(`Added the ${described} of ${name} to ${target.knownHostsFile}`);
}

/** Builds the error for a presented key that known_hosts revokes or contradicts. */
export function hostKeyRejection(
  target: HostKeyTarget,
  check: Exclude<HostKeyStatus, { status: 'known' } | { status: 'unknown' }>,
  key: Buffer,
): SshHostKeyError {
  const name = knownHostsName(target.host, target.port);
  const presented = `${hostKeyType(key)} key ${fingerprint(key)}`;
  if (check.status === 'revoked') {
    return new SshHostKeyError(
      `The ${presented} of ${name} is marked @revoked in ${target.knownHostsFile} line ` +
        `${check.entry.line}; the connection was refused.`,
    );
  }
  const recorded = check.entries
    .map((entry) => `line ${entry.line}: ${entry.keyType} ${fingerprint(entry.key)}`)
    .join('; ');
  return new SshHostKeyError(
    `The host key of ${name} has changed: it presented the ${presented}, but ` +
      `${target.knownHostsFile} records another key (${recorded}). The connection was refused. ` +
      'A rebuilt root file system gets new host keys; if that is the reason, remove the old ' +
      `key with: ssh-keygen -R "${name}" -f "${target.knownHostsFile}"`,
  );
}

/** Builds the error for a key that is unknown when reconnecting, which is never asked about. */
export function unknownOnReconnection(target: HostKeyTarget, key: Buffer): SshHostKeyError {
  return new SshHostKeyError(
    `On reconnection, ${knownHostsName(target.host, target.port)} presented the ` +
      `${hostKeyType(key)} key ${fingerprint(key)}, which ` +
      `${target.knownHostsFile} does not list, so the connection was refused. Start the ` +
      'batch again to check the key.',
  );
}

/** Returns the name part of OpenSSH's host key file for a key type (`ed25519`, `rsa`). */
function keyFileType(keyType: string): string {
  if (keyType.startsWith('ecdsa')) return 'ecdsa';
  return keyType.replace(/^ssh-/, '');
}
