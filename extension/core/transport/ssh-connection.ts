import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { Client, type SFTPWrapper, type SshError } from 'ssh2';
import { silentLogger, type Logger } from '../log';
import { RealmFsConnectionError } from '../protocol/realm-fs';
import {
  SshAuthenticationError,
  SshCredentials,
  newAuthAttempt,
  type AuthAttempt,
} from './ssh-credentials';
import {
  checkHostKey,
  fingerprint,
  preferredHostKeyAlgorithms,
  readKnownHosts,
} from './known-hosts';
import {
  SshHostKeyError,
  confirmUnknownHost,
  hostKeyRejection,
  unknownOnReconnection,
  type HostKeyTarget,
  type UnknownHostKey,
} from './ssh-host-keys';

/** The FVP's user networking forwards this host port to port 22 of the normal world. */
export const defaultSshPort = 8022;

/** Connection settings and credential callbacks of an SshConnection. */
export interface SshOptions {
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 8022 (defaultSshPort). */
  port?: number;
  /** Default root. */
  username?: string;
  /** OpenSSH known_hosts file; default ~/.ssh/known_hosts. Accepted keys are appended to it. */
  knownHostsFile?: string;
  /**
   * Asks whether to trust a host key that known_hosts does not list. Without it, unknown hosts
   * are rejected. Called between connection attempts, so the user may take their time.
   */
  confirmUnknownHost?: (key: UnknownHostKey) => Promise<boolean>;
  /** An OpenSSH, PEM or PuTTY private key file, tried before the password. */
  privateKeyFile?: string;
  /** Returns the passphrase of an encrypted private key; called once per connection object. */
  passphrase?: (privateKeyFile: string) => Promise<string | undefined>;
  /**
   * Returns the password, when the server offers password authentication and no key worked.
   * Called once per connection object, because the password is kept for reconnections.
   */
  password?: (target: string) => Promise<string | undefined>;
  /** Interval of SSH keep-alive messages in milliseconds; default 5000. */
  keepaliveIntervalMs?: number;
  /** Unanswered keep-alive messages before the connection counts as dropped; default 3. */
  keepaliveCountMax?: number;
  /** Limit for one connection's handshake and authentication in milliseconds; default 20000. */
  readyTimeoutMs?: number;
  /** How long to keep reconnecting after the connection dropped, in milliseconds; default 60000. */
  reconnectTimeoutMs?: number;
  log?: Logger;
  /** Called on every state change, with a message for the user. */
  onStateChange?: (state: SshConnectionState, message: string) => void;
}

export { SshAuthenticationError } from './ssh-credentials';
export { SshHostKeyError, type UnknownHostKey } from './ssh-host-keys';

export type SshConnectionState = 'connecting' | 'connected' | 'reconnecting' | 'closed';

/** An SFTP session on one connection; `generation` numbers the connections. */
export interface SftpSession {
  sftp: SFTPWrapper;
  generation: number;
}

/** Findings of one connection attempt, for the decision after it fails. */
interface AttemptState extends AuthAttempt {
  unknownKey?: Buffer;
  hostKeyError?: SshHostKeyError;
}

const maxReconnectDelayMs = 5000;

/**
 * An SSH connection with one SFTP session into the normal world. It verifies the host key
 * against known_hosts, authenticates with a key or a password, and sends keep-alives. After a
 * drop it reconnects with exponential backoff, and callers of `session()` wait meanwhile.
 */
export class SshConnection {
  readonly host: string;
  readonly port: number;
  readonly username: string;
  readonly knownHostsFile: string;
  private readonly log: Logger;
  private current: Promise<SftpSession> | undefined;
  private client: Client | undefined;
  private liveGeneration: number | undefined;
  private generation = 0;
  private closed = false;
  private readonly credentials: SshCredentials;

  constructor(private readonly options: SshOptions) {
    this.host = options.host ?? '127.0.0.1';
    this.port = options.port ?? defaultSshPort;
    this.username = options.username ?? 'root';
    this.knownHostsFile = options.knownHostsFile ?? path.join(os.homedir(), '.ssh', 'known_hosts');
    this.log = options.log ?? silentLogger;
    this.credentials = new SshCredentials(this.username, options);
  }

  /** `user@host:port`, for messages. */
  get target(): string {
    return `${this.username}@${this.host}:${this.port}`;
  }

  /** Returns the live SFTP session, connecting first or waiting for a reconnection. */
  session(): Promise<SftpSession> {
    if (this.closed) {
      return Promise.reject(
        new RealmFsConnectionError(`The SSH connection to ${this.target} is closed`),
      );
    }
    if (!this.current) {
      this.setState('connecting', `Connecting to ${this.target}`);
      const connecting = this.connectTrusting();
      this.current = connecting;
      connecting.then(
        () => this.setState('connected', `Connected to ${this.target}`),
        () => {
          if (this.current === connecting) this.current = undefined;
        },
      );
    }
    return this.current;
  }

  /** Returns whether a session's connection is the current, working one. */
  isLive(generation: number): boolean {
    return !this.closed && generation === this.liveGeneration;
  }

  /**
   * Marks a session's connection as dropped, when an operation on it failed without an SFTP
   * status, and starts reconnecting. Later calls for the same generation do nothing.
   */
  dropped(generation: number, reason: string): void {
    if (this.closed || generation !== this.liveGeneration) return;
    this.liveGeneration = undefined;
    this.client?.destroy();
    this.client = undefined;
    this.log.warn(`SSH connection to ${this.target} lost (${reason}); reconnecting`);
    this.setState('reconnecting', `Connection to ${this.target} lost; reconnecting`);
    const reconnecting = this.reconnect();
    this.current = reconnecting;
    reconnecting.then(
      () => this.setState('connected', `Reconnected to ${this.target}`),
      (error: unknown) => {
        if (this.current === reconnecting) this.current = undefined;
        this.log.error(String(error instanceof Error ? error.message : error));
      },
    );
  }

  /** Closes the connection; later operations fail. */
  close(): Promise<void> {
    if (this.closed) return Promise.resolve();
    this.closed = true;
    this.liveGeneration = undefined;
    this.current = undefined;
    const client = this.client;
    this.client = undefined;
    this.setState('closed', `Disconnected from ${this.target}`);
    if (!client) return Promise.resolve();
    return new Promise((resolve) => {
      const timer = setTimeout(() => {
        client.destroy();
        resolve();
      }, 2000);
      client.once('close', () => {
        clearTimeout(timer);
        resolve();
      });
      client.end();
    });
  }

  private setState(state: SshConnectionState, message: string): void {
    this.options.onStateChange?.(state, message);
  }

  /** Reconnects with backoff until it succeeds, fails permanently, or runs out of time. */
  private async reconnect(): Promise<SftpSession> {
    const limitMs = this.options.reconnectTimeoutMs ?? 60_000;
    const started = Date.now();
    let delayMs = 250;
    for (let attempt = 1; ; attempt += 1) {
      try {
        const session = await this.connectOnce(true);
        this.log.info(`Reconnected to ${this.target} (attempt ${attempt})`);
        return session;
      } catch (error) {
        // Reconnections do not call the password callback, so a server that now wants one ends it.
        if (error instanceof PasswordNeededError) throw error.authenticationError;
        if (this.closed || isPermanent(error)) throw error;
        const message = error instanceof Error ? error.message : String(error);
        if (Date.now() - started + delayMs > limitMs) {
          throw new RealmFsConnectionError(
            `Lost the SSH connection to ${this.target} and could not reconnect within ` +
              `${Math.round(limitMs / 1000)} s (last error: ${message}). Check that the FVP ` +
              'still runs, then start the batch again.',
            { cause: error },
          );
        }
        this.log.info(`Reconnect attempt ${attempt} to ${this.target} failed: ${message}`);
        await sleep(delayMs);
        delayMs = Math.min(delayMs * 2, maxReconnectDelayMs);
      }
    }
  }

  /**
   * Connects. When the host is unknown or a password is needed, it calls the callbacks between
   * attempts (outside the handshake, whose time is limited) and connects again.
   */
  private async connectTrusting(): Promise<SftpSession> {
    for (let attempt = 0; attempt < 3; attempt += 1) {
      try {
        return await this.connectOnce(false);
      } catch (error) {
        if (error instanceof UnknownHostError) {
          await confirmUnknownHost(
            this.hostKeyTarget(),
            error.key,
            this.options.confirmUnknownHost,
            this.log,
          );
        } else if (error instanceof PasswordNeededError) {
          if (!(await this.credentials.requestPassword(this.target))) {
            throw error.authenticationError;
          }
        } else {
          throw error;
        }
      }
    }
    throw new RealmFsConnectionError(`Could not connect to ${this.target}: too many attempts`);
  }

  private hostKeyTarget(): HostKeyTarget {
    return {
      host: this.host,
      port: this.port,
      username: this.username,
      knownHostsFile: this.knownHostsFile,
    };
  }

  /** Makes one connection attempt; its errors name what failed and what to check. */
  private async connectOnce(reconnecting: boolean): Promise<SftpSession> {
    const knownHosts = await readKnownHosts(this.knownHostsFile);
    const privateKey = await this.credentials.loadPrivateKey();
    const attempt: AttemptState = newAuthAttempt();
    const generation = ++this.generation;
    const client = new Client();

    return new Promise<SftpSession>((resolve, reject) => {
      let settled = false;
      const fail = (error: Error): void => {
        if (settled) return;
        settled = true;
        client.destroy();
        reject(error);
      };

      client.on('ready', () => {
        client.sftp((error, sftp) => {
          if (error) {
            fail(
              new RealmFsConnectionError(
                `The SFTP subsystem of ${this.target} failed to start: ${error.message}. Check that sshd_config has a Subsystem sftp line.`,
              ),
            );
            return;
          }
          if (settled || this.closed) {
            fail(new RealmFsConnectionError(`The SSH connection to ${this.target} is closed`));
            return;
          }
          settled = true;
          this.client = client;
          this.liveGeneration = generation;
          const onEnd = (): void => this.dropped(generation, 'the SFTP session ended');
          sftp.once('end', onEnd).once('close', onEnd);
          resolve({ sftp, generation });
        });
      });
      client.on('error', (error: SshError) => {
        if (settled) {
          this.log.warn(`SSH connection to ${this.target}: ${error.message}`);
          return;
        }
        fail(this.describeFailure(error, attempt, reconnecting));
      });
      client.on('close', () => {
        if (!settled) {
          fail(
            new RealmFsConnectionError(`${this.target} closed the connection during the handshake`),
          );
        }
        this.dropped(generation, 'the connection closed');
      });

      client.connect({
        host: this.host,
        port: this.port,
        username: this.username,
        readyTimeout: this.options.readyTimeoutMs ?? 20_000,
        keepaliveInterval: this.options.keepaliveIntervalMs ?? 5000,
        keepaliveCountMax: this.options.keepaliveCountMax ?? 3,
        algorithms: {
          serverHostKey: preferredHostKeyAlgorithms(knownHosts, this.host, this.port),
        },
        hostVerifier: (key, verify) => {
          const check = checkHostKey(knownHosts, this.host, this.port, key);
          if (check.status === 'known') {
            verify(true);
            return;
          }
          if (check.status === 'unknown') attempt.unknownKey = key;
          else attempt.hostKeyError = hostKeyRejection(this.hostKeyTarget(), check, key);
          verify(false);
        },
        authHandler: (methodsLeft, _partial, next) => {
          next(this.credentials.nextAuth(methodsLeft, attempt, privateKey));
        },
      });
    });
  }

  /** Turns an ssh2 error of a failed attempt into an error that names what to check. */
  private describeFailure(error: SshError, attempt: AttemptState, reconnecting: boolean): Error {
    if (attempt.hostKeyError) return attempt.hostKeyError;
    if (attempt.unknownKey) {
      // The key was known at the first connection, so a reconnection does not ask again.
      return reconnecting
        ? unknownOnReconnection(this.hostKeyTarget(), attempt.unknownKey)
        : new UnknownHostError(attempt.unknownKey);
    }
    if (error.level === 'client-authentication') {
      const authError = this.credentials.authenticationError(attempt, this.target);
      return attempt.needsPassword && this.credentials.password === undefined
        ? new PasswordNeededError(authError)
        : authError;
    }
    if (error.level === 'client-timeout') {
      return new RealmFsConnectionError(
        `Timed out waiting for the SSH handshake with ${this.target}. Check that the board has ` +
          'finished booting and that sshd runs in the normal world.',
        { cause: error },
      );
    }
    if (error.code === 'ECONNREFUSED') {
      return new RealmFsConnectionError(
        `Connection to ${this.host}:${this.port} refused. Check that the FVP runs with user ` +
          `networking forwarding host port ${this.port} to port 22, and that sshd runs in the ` +
          'normal world.',
        { cause: error },
      );
    }
    return new RealmFsConnectionError(`SSH connection to ${this.target} failed: ${error.message}`, {
      cause: error,
    });
  }
}

/** A host that known_hosts does not list; the caller asks the user, then connects again. */
class UnknownHostError extends RealmFsConnectionError {
  constructor(readonly key: Buffer) {
    super(`Unknown host key ${fingerprint(key)}`);
  }
}

/** The server offers password authentication and no password is known yet. */
class PasswordNeededError extends RealmFsConnectionError {
  constructor(readonly authenticationError: SshAuthenticationError) {
    super(authenticationError.message);
  }
}

function isPermanent(error: unknown): boolean {
  return error instanceof SshHostKeyError || error instanceof SshAuthenticationError;
}
