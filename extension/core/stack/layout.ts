// Paths of Arm's reference stack for the aemfvp-a-rme platform (tag AEMFVP-A-RME-2023.12.22),
// as `repo sync` and the build scripts lay it out, plus the product's own folder inside it.

import path from 'node:path';

/** The platform name that the build and model scripts take with `-p`. */
export const platform = 'aemfvp-a-rme';

/** The FVP binary that `FVP_DIR` must contain and that `MODEL` names. */
export const fvpBinaryName = 'FVP_Base_RevC-2xAEMvA';

/**
 * Stack components that a complete `repo sync` checks out. Download detection uses the
 * manifest's project list when it can read it, and these when it cannot.
 */
export const knownComponents = [
  'build-scripts',
  'model-scripts',
  'rmm',
  'tf-a',
  'linux',
  'buildroot',
  'kvmtool',
  'hafnium',
] as const;

/** Files that a finished build leaves in `output/aemfvp-a-rme/`. */
export const buildOutputNames = [
  'bl1.bin',
  'fip.bin',
  'fip-std-tests.bin',
  'host-fs.ext4',
  'Image',
] as const;

/** One of {@link buildOutputNames}. */
export type BuildOutputName = (typeof buildOutputNames)[number];

/** Every path the stack steps read or write, all absolute. */
export interface StackLayout {
  /** The stack folder ("rme-stack"), where `repo init` runs. */
  root: string;
  /** `.repo/`, repo's metadata. */
  repoDir: string;
  /** `.repo/manifests/`, the checkout of the manifest repository. */
  manifestsDir: string;
  /** `.repo/manifest.xml`, the manifest in use (a file that includes the chosen one, or a link). */
  manifestFile: string;
  buildScriptsDir: string;
  modelScriptsDir: string;
  /** `build-scripts/aemfvp-a-rme/build-test-buildroot.sh`, the whole-stack build. */
  buildAllScript: string;
  /** `build-scripts/build-buildroot.sh`, which the modifications replace. */
  buildBuildrootScript: string;
  /** `build-scripts/build-linux.sh`, which holds the kernel patch line. */
  buildLinuxScript: string;
  /** `model-scripts/aemfvp-a-rme/boot.sh`. */
  bootScript: string;
  /** `model-scripts/aemfvp-a-rme/run_model.sh`, one `-C name=value \` per line. */
  runModelScript: string;
  rmmDir: string;
  /** `rmm/runtime/core/handler.c`, the RMI handler table. */
  handlerFile: string;
  /** `rmm/CMakeLists.txt`, which names the TF-RMM version. */
  rmmCMakeLists: string;
  /** `output/aemfvp-a-rme/`. */
  outputDir: string;
  /** The build's output files by name. */
  outputs: Record<BuildOutputName, string>;
  /** `logs/aemfvp-a-rme/`, where run_model.sh writes the UART logs. */
  uartLogDir: string;
  /** `uart0.log` to `uart3.log`. */
  uartLogs: [string, string, string, string];
  /** The product's own folder in the stack: step logs, process records and backups. */
  productDir: string;
  /** Step log files, one per step. */
  logDir: string;
  /** Records of the processes the product started, one JSON file per step. */
  processDir: string;
  /** Copies of files the modifications changed, for undo. */
  backupDir: string;
}

/** Options of {@link stackLayout}. */
export interface StackLayoutOptions {
  /** The product's folder; default `<root>/.cca`. */
  productDir?: string;
}

/** Returns the layout of the stack at `root`, which must be an absolute path. */
export function stackLayout(root: string, options: StackLayoutOptions = {}): StackLayout {
  if (!path.isAbsolute(root)) {
    throw new Error(`The stack folder must be an absolute path, not '${root}'.`);
  }
  const at = (...parts: string[]): string => path.join(root, ...parts);
  const outputDir = at('output', platform);
  const uartLogDir = at('logs', platform);
  const productDir = options.productDir ?? at('.cca');
  return {
    root: path.normalize(root),
    repoDir: at('.repo'),
    manifestsDir: at('.repo', 'manifests'),
    manifestFile: at('.repo', 'manifest.xml'),
    buildScriptsDir: at('build-scripts'),
    modelScriptsDir: at('model-scripts'),
    buildAllScript: at('build-scripts', platform, 'build-test-buildroot.sh'),
    buildBuildrootScript: at('build-scripts', 'build-buildroot.sh'),
    buildLinuxScript: at('build-scripts', 'build-linux.sh'),
    bootScript: at('model-scripts', platform, 'boot.sh'),
    runModelScript: at('model-scripts', platform, 'run_model.sh'),
    rmmDir: at('rmm'),
    handlerFile: at('rmm', 'runtime', 'core', 'handler.c'),
    rmmCMakeLists: at('rmm', 'CMakeLists.txt'),
    outputDir,
    outputs: {
      'bl1.bin': path.join(outputDir, 'bl1.bin'),
      'fip.bin': path.join(outputDir, 'fip.bin'),
      'fip-std-tests.bin': path.join(outputDir, 'fip-std-tests.bin'),
      'host-fs.ext4': path.join(outputDir, 'host-fs.ext4'),
      Image: path.join(outputDir, 'Image'),
    },
    uartLogDir,
    uartLogs: [0, 1, 2, 3].map((n) =>
      path.join(uartLogDir, `uart${n}.log`),
    ) as StackLayout['uartLogs'],
    productDir,
    logDir: path.join(productDir, 'logs'),
    processDir: path.join(productDir, 'processes'),
    backupDir: path.join(productDir, 'backups'),
  };
}

/** The per-component build script, `build-scripts/build-<component>.sh`. */
export function componentBuildScript(layout: StackLayout, component: string): string {
  if (!/^[a-z0-9][a-z0-9_-]*$/i.test(component)) {
    throw new Error(`Invalid stack component name '${component}': expected a name like 'rmm'.`);
  }
  return path.join(layout.buildScriptsDir, `build-${component}.sh`);
}

/** The log file of a step's runs, `<product folder>/logs/<step>.log`. */
export function stepLogFile(layout: StackLayout, step: string): string {
  return path.join(layout.logDir, `${step}.log`);
}

/** The record of a step's running process group, `<product folder>/processes/<step>.json`. */
export function processRecordFile(layout: StackLayout, step: string): string {
  return path.join(layout.processDir, `${step}.json`);
}

/** Raised by {@link expandPath} for a variable that is not set, or a `~name` form. */
export class PathExpansionError extends Error {
  constructor(
    message: string,
    /** The path as given. */
    readonly input: string,
    /** The variable that is not set, when that is the cause. */
    readonly variable?: string,
  ) {
    super(message);
    this.name = 'PathExpansionError';
  }
}

const variablePattern =
  /\$\{env:([A-Za-z_][A-Za-z0-9_]*)\}|\$\{([^}]*)\}|\$([A-Za-z_][A-Za-z0-9_]*)/g;

/**
 * Expands a leading `~` (the home folder) and the variables `$VAR`, `${VAR}` and `${env:VAR}`
 * from `env` in a path setting. To expand `${workspaceFolder}`, pass it in `env`. A `$` that
 * starts no variable name stays as it is.
 *
 * @throws PathExpansionError for a variable missing from `env`, a malformed `${...}`, or
 *   `~name` (another user's home, which is not expanded).
 */
export function expandPath(
  p: string,
  env: Readonly<Record<string, string | undefined>>,
  home: string,
): string {
  const expanded = p.replace(
    variablePattern,
    (whole, envName?: string, braced?: string, bare?: string) => {
      const name = envName ?? braced ?? bare ?? '';
      if (braced !== undefined && !/^[A-Za-z_][A-Za-z0-9_]*$/.test(braced)) {
        throw new PathExpansionError(
          `Invalid variable '${whole}' in the path '${p}': use \${NAME}, \${env:NAME} or $NAME.`,
          p,
        );
      }
      const value = env[name];
      if (value === undefined) {
        throw new PathExpansionError(
          `The path '${p}' uses the variable ${name}, which is not set: set ${name} in the ` +
            `environment of VS Code or write the path out.`,
          p,
          name,
        );
      }
      return value;
    },
  );

  if (expanded === '~' || expanded.startsWith('~/')) return path.join(home, expanded.slice(1));
  if (expanded.startsWith('~')) {
    throw new PathExpansionError(
      `The path '${p}' starts with '${expanded.split('/')[0]}': only '~' (your home folder) is ` +
        `expanded, so write that user's home folder out.`,
      p,
    );
  }
  return expanded;
}
