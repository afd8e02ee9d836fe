// Types of index.mjs for the TypeScript tests that import it.

export const FIXTURE_MANIFEST_URL: string;
export const FIXTURE_MANIFEST: 'pinned-aemfvp-a-rme.xml';
export const FIXTURE_TAG: 'refs/tags/AEMFVP-A-RME-2023.12.22';
export const FIXTURE_IMAGE: 'aemfvp-builder';
export const FVP_BINARY_NAME: 'FVP_Base_RevC-2xAEMvA';
/** The files of output/aemfvp-a-rme after a complete build. */
export const STACK_OUTPUTS: readonly string[];

export interface FixtureStackOptions {
  /** Create the empty stack folder `<dir>/rme-stack` (default true). */
  createStackDir?: boolean;
}

export interface FixtureStack {
  /** The fixture's folder, absolute. */
  readonly dir: string;
  /** `<dir>/bin`, with the `docker` and `repo` stand-ins: put it first in PATH. */
  readonly binDir: string;
  /** `<dir>/docker-repo`, the folder of container.sh (the docker build context). */
  readonly dockerRepoDir: string;
  /** `<dir>/docker-repo/container.sh`. */
  readonly containerScript: string;
  /** `<dir>/fvp`, the value for FVP_DIR. */
  readonly fvpDir: string;
  /** `<dir>/fvp/FVP_Base_RevC-2xAEMvA`, the value for MODEL. */
  readonly fvpBinary: string;
  /** `<dir>/fixture-state`: recorded docker images and the repo server's manifests and trees. */
  readonly stateDir: string;
  /** `<dir>/rme-stack`, the stack folder (empty until `repo init` and `repo sync`). */
  readonly stackDir: string;
  readonly manifestUrl: string;
  readonly manifest: string;
  readonly tag: string;
  readonly image: string;
  /** Returns process.env with `binDir` first in PATH, and `extra` on top. */
  env(extra?: Record<string, string | undefined>): NodeJS.ProcessEnv;
}

/** Writes a fresh fixture stack into `dir`; throws when `dir` holds one of its names already. */
export function createFixtureStack(dir: string, options?: FixtureStackOptions): FixtureStack;
