import { readFile } from 'node:fs/promises';
import { utils, type NextAuth } from 'ssh2';
import { RealmFsConnectionError } from '../protocol/realm-fs';

/** Raised when the server accepted none of the credentials. */
export class SshAuthenticationError extends RealmFsConnectionError {
  constructor(
    message: string,
    /** Methods the server offered, such as `publickey` and `password`. */
    readonly offeredMethods: readonly string[],
    /** Whether a password was sent and rejected, so a stored password is wrong. */
    readonly passwordRejected: boolean,
  ) {
    super(message);
    this.name = 'SshAuthenticationError';
  }
}

/** Credential settings and callbacks, as in SshOptions. */
export interface SshCredentialOptions {
  privateKeyFile?: string;
  passphrase?: (privateKeyFile: string) => Promise<string | undefined>;
  password?: (target: string) => Promise<string | undefined>;
}

/** The authentication methods of one connection attempt: those offered, and those tried. */
export interface AuthAttempt {
  offeredMethods: string[];
  tried: string[];
  /** The server offers a password, and the password callback has not been called yet. */
  needsPassword: boolean;
}

/** Returns an empty record for a new connection attempt. */
export function newAuthAttempt(): AuthAttempt {
  return { offeredMethods: [], tried: [], needsPassword: false };
}

/**
 * The private key and password of one user, with the passphrase and password kept in memory
 * once the callbacks returned them, so that reconnections do not call them again.
 */
export class SshCredentials {
  password: string | undefined;
  private passphrase: string | undefined;

  constructor(
    private readonly username: string,
    private readonly options: SshCredentialOptions,
  ) {}

  /** Calls the password callback; returns false when there is none or it returned nothing. */
  async requestPassword(target: string): Promise<boolean> {
    this.password = await this.options.password?.(target);
    return this.password !== undefined;
  }

  /** Chooses the next authentication method from those the server still accepts. */
  nextAuth(
    methodsLeft: string[] | null,
    attempt: AuthAttempt,
    privateKey: Buffer | undefined,
  ): NextAuth {
    const username = this.username;
    // The first request, `none`, makes the server list the methods it accepts.
    if (methodsLeft === null) return { type: 'none', username };
    attempt.offeredMethods = methodsLeft;

    if (privateKey && methodsLeft.includes('publickey') && !attempt.tried.includes('publickey')) {
      attempt.tried.push('publickey');
      return { type: 'publickey', username, key: privateKey, passphrase: this.passphrase };
    }
    if (methodsLeft.includes('password') && !attempt.tried.includes('password')) {
      if (this.password !== undefined) {
        // NOTE: tested against OpenSSH only with a rejected password, since the test server
        // has no account with a known password.
        attempt.tried.push('password');
        return { type: 'password', username, password: this.password };
      }
      if (this.options.password) attempt.needsPassword = true;
    }
    return false;
  }

  /** Reads the private key file and decrypts it, asking for the passphrase once. */
  async loadPrivateKey(): Promise<Buffer | undefined> {
    const file = this.options.privateKeyFile;
    if (!file) return undefined;
    let data: Buffer;
    try {
      data = await readFile(file);
    } catch (error) {
      throw new SshAuthenticationError(
        `Cannot read the SSH private key ${file}: ${(error as Error).message}. Check the ` +
          'private key setting.',
        [],
        false,
      );
    }

    let parsed = utils.parseKey(data, this.passphrase);
    if (parsed instanceof Error && /no passphrase given/i.test(parsed.message)) {
      this.passphrase = await this.options.passphrase?.(file);
      if (this.passphrase === undefined) {
        throw new SshAuthenticationError(
          `The SSH private key ${file} is encrypted, and no passphrase was given.`,
          [],
          false,
        );
      }
      parsed = utils.parseKey(data, this.passphrase);
    }
    if (parsed instanceof Error) {
      const wrongPassphrase = /passphrase|decrypt/i.test(parsed.message);
      if (wrongPassphrase) this.passphrase = undefined;
      throw new SshAuthenticationError(
        wrongPassphrase
          ? `The passphrase of the SSH private key ${file} is wrong (${parsed.message}).`
          : `The SSH private key ${file} could not be read: ${parsed.message}. Use an ` +
              'OpenSSH, PEM or PuTTY private key file.',
        [],
        false,
      );
    }
    return data;
  }

  /** Builds the error for a failed authentication; a rejected password is forgotten. */
  authenticationError(attempt: AuthAttempt, target: string): SshAuthenticationError {
    const offered = attempt.offeredMethods.length > 0 ? attempt.offeredMethods.join(', ') : 'none';
    const tried = attempt.tried
      .map((method) =>
        method === 'publickey' ? `publickey (${this.options.privateKeyFile ?? 'key'})` : method,
      )
      .join(', ');
    const passwordRejected = attempt.tried.includes('password');
    if (passwordRejected) this.password = undefined;
    return new SshAuthenticationError(
      `SSH authentication as ${target} failed. The server accepts: ${offered}; tried: ` +
        `${tried || 'nothing that it accepts'}. Check the user name, that the key's public half ` +
        "is in the user's ~/.ssh/authorized_keys on the board, or the password.",
      attempt.offeredMethods,
      passwordRejected,
    );
  }
}
