import path from 'node:path';
import { LocalRealmFs, type RealmFs } from '../protocol/realm-fs';
import type { SshRealmFsOptions } from './ssh';

/**
 * The location of the realm side of the protocol:
 * - `emulated`: the emulated realm, on a folder of this machine (file events and polling);
 * - `fvpShare`: a realm on the FVP, through a host folder that the FVP exports over 9p (file
 *   events of the host folder and polling);
 * - `ssh`: a realm on the FVP, through the normal world's folder over SFTP (polling only).
 */
export type RealmBackendKind = 'emulated' | 'fvpShare' | 'ssh';

export const realmBackendKinds: readonly RealmBackendKind[] = ['emulated', 'fvpShare', 'ssh'];

/** GuaranTEE's shared folder, in the normal world and, mounted at the same path, in the realm. */
export const defaultRealmSharedFolder = '/root/shared_with_realm';

export interface RealmBackendSettings {
  backend: RealmBackendKind;
  /**
   * The shared folder as the client reaches it: a folder of this machine for `emulated` and
   * `fvpShare`, an absolute path in the normal world for `ssh` (default
   * /root/shared_with_realm there).
   */
  sharedFolder?: string;
  /**
   * The same folder's path inside the realm, for the paths written into signalling.txt. Used by
   * `fvpShare` and `ssh`; default /root/shared_with_realm.
   */
  realmFolder?: string;
  /** Connection settings and callbacks for `ssh`. */
  ssh?: SshRealmFsOptions;
}

/** A shared folder ready for a RealmClient: pass `fs`, `sharedDir` and `toRealmPath` to it. */
export interface RealmFsBackend {
  kind: RealmBackendKind;
  fs: RealmFs;
  /** The shared folder's path in the file system of `fs`. */
  sharedDir: string;
  /** Maps a file in `sharedDir` to the path the realm opens. */
  toRealmPath: (file: string) => string;
  /** Closes the connection, if any. */
  close(): Promise<void>;
}

/**
 * Creates the file system for a backend. An `ssh` backend connects at its first operation;
 * call `(fs as SshRealmFs).connect()` to connect earlier. Invalid settings raise an error that
 * names the setting.
 */
export function createRealmFs(settings: RealmBackendSettings): RealmFsBackend {
  const realmFolder = settings.realmFolder ?? defaultRealmSharedFolder;
  if (settings.backend !== 'emulated' && !path.posix.isAbsolute(realmFolder)) {
    throw new Error(`The realm's shared folder must be an absolute path, not ${realmFolder}`);
  }

  switch (settings.backend) {
    case 'emulated': {
      const sharedDir = path.resolve(requireFolder(settings));
      const fs = new LocalRealmFs({ fileEvents: true });
      return {
        kind: 'emulated',
        fs,
        sharedDir,
        toRealmPath: (file) => file,
        close: () => fs.close(),
      };
    }
    case 'fvpShare': {
      const sharedDir = path.resolve(requireFolder(settings));
      // The FVP's 9p server writes the realm's changes into this host folder itself, so the
      // host's file events see them; polling stays on as well.
      const fs = new LocalRealmFs({ fileEvents: true });
      return {
        kind: 'fvpShare',
        fs,
        sharedDir,
        toRealmPath: (file) => translatePath(path, sharedDir, realmFolder, file),
        close: () => fs.close(),
      };
    }
    case 'ssh': {
      const sharedDir = settings.sharedFolder ?? defaultRealmSharedFolder;
      if (!path.posix.isAbsolute(sharedDir)) {
        throw new Error(
          `Over SSH the shared folder must be an absolute path in the normal world, not ${sharedDir}`,
        );
      }
      // ssh2 is loaded for this backend only: at start-up it costs the extension about 18 ms.
      // eslint-disable-next-line @typescript-eslint/no-require-imports
      const { SshRealmFs } = require('./ssh') as typeof import('./ssh');
      const fs = new SshRealmFs(settings.ssh ?? {});
      return {
        kind: 'ssh',
        fs,
        sharedDir: path.posix.normalize(sharedDir),
        toRealmPath: (file) => translatePath(path.posix, sharedDir, realmFolder, file),
        close: () => fs.close(),
      };
    }
  }
}

function requireFolder(settings: RealmBackendSettings): string {
  if (!settings.sharedFolder) {
    throw new Error(`The ${settings.backend} backend needs a shared folder on this machine`);
  }
  return settings.sharedFolder;
}

/** Maps a file inside `from` (in the file system of `pathApi`) to the same file under `to`. */
export function translatePath(
  pathApi: path.PlatformPath,
  from: string,
  to: string,
  file: string,
): string {
  const relative = pathApi.relative(from, file);
  if (relative.startsWith('..') || pathApi.isAbsolute(relative)) {
    throw new Error(`${file} is not inside the shared folder ${from}`);
  }
  return path.posix.join(to, ...relative.split(pathApi.sep));
}
