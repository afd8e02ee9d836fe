// Test fixture: a stand-in for Google's `repo` tool, run by <fixture>/bin/repo with
// FIXTURE_STACK_ROOT set to the fixture's folder. The "server" is
// <fixture>/fixture-state/remote: its manifests/ folder contains the manifests, and its projects/
// folder one tree per project path. `repo init` and `repo sync` take repo's options and print
// repo's messages, progress lines and errors, for the cases that the fixture models.
//
// Knobs:
//   CCA_FIXTURE_REPO_FAIL_AFTER=<n>  `repo sync` fetches n projects, then every other fetch
//                                    fails as with a network outage; the projects fetched are
//                                    checked out. The next sync without the knob completes.
//   CCA_FIXTURE_REPO_DELAY_MS=<ms>   time to fetch one project (default 100; a project fetched
//                                    before takes a quarter of it).
import { execFileSync } from 'node:child_process';
import { chmodSync, cpSync, existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { openSync, readSync, closeSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const REPO_SOURCE_URL = 'https://gerrit.googlesource.com/git-repo';
const LAUNCHER_VERSION = '2.40';
/** Manifest revisions that the fixture's server has. */
const KNOWN_REVISIONS = [
  'refs/tags/AEMFVP-A-RME-2023.12.22',
  'refs/tags/AEMFVP-A-RME-2023.09.29',
  'refs/heads/main',
  'main',
];
const DEFAULT_FETCH_DELAY_MS = 100;
const CHECKOUT_DELAY_MS = 10;
/** ANSI "erase to end of line", which repo writes after each progress update. */
const ERASE_LINE = '\x1b[K';

class UsageError extends Error {}

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

function fixtureRoot() {
  const root = process.env.FIXTURE_STACK_ROOT;
  if (!root)
    throw new Error('repo (fixture): FIXTURE_STACK_ROOT is not set; run <fixture>/bin/repo');
  return root;
}

function remoteDir() {
  return path.join(fixtureRoot(), 'fixture-state', 'remote');
}

/** Returns the folder above `start` (or `start` itself) that contains .repo/, or undefined. */
function findTopDir(start) {
  for (let dir = path.resolve(start); ; dir = path.dirname(dir)) {
    if (existsSync(path.join(dir, '.repo', 'manifest.xml'))) return dir;
    if (path.dirname(dir) === dir) return undefined;
  }
}

/** Parses `--name value`, `--name=value` and `-n value`/`-nvalue` options with optparse rules. */
function parseOptions(command, args, spec) {
  const options = {};
  const positional = [];
  for (let i = 0; i < args.length; i += 1) {
    const arg = args[i];
    if (!arg.startsWith('-') || arg === '-') {
      positional.push(arg);
      continue;
    }
    const [flag, inline] = arg.startsWith('--')
      ? splitOnce(arg, '=')
      : [arg.slice(0, 2), arg.slice(2) || undefined];
    const option = spec[flag];
    if (!option) throw new UsageError(`${command}: error: no such option: ${flag}`);
    if (!option.value) {
      options[option.name] = true;
      continue;
    }
    const value = inline ?? args[(i += 1)];
    if (value === undefined)
      throw new UsageError(`${command}: error: ${flag} option requires 1 argument`);
    if (option.integer && !/^\d+$/.test(value)) {
      throw new UsageError(`${command}: error: option ${flag}: invalid integer value: '${value}'`);
    }
    options[option.name] = option.integer ? Number(value) : value;
  }
  return { options, positional };
}

function splitOnce(text, separator) {
  const index = text.indexOf(separator);
  return index < 0 ? [text, undefined] : [text.slice(0, index), text.slice(index + 1)];
}

const INIT_OPTIONS = {
  '-u': { name: 'manifestUrl', value: true },
  '--manifest-url': { name: 'manifestUrl', value: true },
  '-m': { name: 'manifestName', value: true },
  '--manifest-name': { name: 'manifestName', value: true },
  '-b': { name: 'manifestBranch', value: true },
  '--manifest-branch': { name: 'manifestBranch', value: true },
  '--depth': { name: 'depth', value: true, integer: true },
  '-g': { name: 'groups', value: true },
  '--groups': { name: 'groups', value: true },
  '--repo-url': { name: 'repoUrl', value: true },
  '--repo-rev': { name: 'repoRev', value: true },
  '--no-repo-verify': { name: 'noRepoVerify' },
  '--no-clone-bundle': { name: 'noCloneBundle' },
  '--current-branch': { name: 'currentBranch' },
  '-c': { name: 'currentBranch' },
  '-q': { name: 'quiet' },
  '--quiet': { name: 'quiet' },
};

/** Writes .repo/ for a manifest of the fixture's server, as `repo init` does. */
function init(args) {
  const { options, positional } = parseOptions('repo init', args, INIT_OPTIONS);
  if (positional.length > 0 && options.manifestUrl) {
    throw new UsageError(
      'repo init: error: --manifest-url option and URL argument both specified: only use one to select the manifest URL.',
    );
  }
  const manifestUrl = options.manifestUrl ?? positional[0];
  const topDir = findTopDir(process.cwd()) ?? process.cwd();
  const repoDir = path.join(topDir, '.repo');
  const isNew = !existsSync(path.join(repoDir, 'manifests.git', 'config'));

  if (isNew && !manifestUrl) return fail('fatal: manifest url is required.');
  if (!existsSync(path.join(repoDir, 'repo'))) {
    process.stderr.write(`Downloading Repo source from ${REPO_SOURCE_URL}\n`);
    mkdirSync(path.join(repoDir, 'repo'), { recursive: true });
    writeFileSync(path.join(repoDir, 'repo', 'VERSION'), `repo fixture ${LAUNCHER_VERSION}\n`);
  }
  const url = manifestUrl ?? readConfig(repoDir).url;
  if (!options.quiet) process.stderr.write(`Downloading manifest from ${url}\n`);

  const branch = options.manifestBranch ?? readConfig(repoDir)?.branch ?? 'refs/heads/main';
  if (!KNOWN_REVISIONS.includes(branch)) {
    process.stderr.write(`fatal: couldn't find remote ref ${branch}\n`);
    return fail(`fatal: cannot obtain manifest ${url}`);
  }
  const manifestName = options.manifestName ?? 'default.xml';
  const available = readdirSync(path.join(remoteDir(), 'manifests'));
  if (!available.includes(manifestName)) {
    process.stderr.write(`fatal: manifest '${manifestName}' not available\n`);
    return fail(`fatal: manifest ${manifestName} not found`);
  }

  mkdirSync(path.join(repoDir, 'manifests.git'), { recursive: true });
  writeFileSync(path.join(repoDir, 'manifests.git', 'config'), `url=${url}\nbranch=${branch}\n`);
  cpSync(path.join(remoteDir(), 'manifests'), path.join(repoDir, 'manifests'), { recursive: true });
  writeFileSync(
    path.join(repoDir, 'manifest.xml'),
    `<?xml version="1.0" encoding="UTF-8"?>\n<manifest>\n  <include name="${manifestName}" />\n</manifest>\n`,
  );

  if (!options.quiet) process.stdout.write(`\nrepo has been initialized in ${topDir}\n`);
  if (path.resolve(process.cwd()) !== topDir) {
    process.stdout.write(
      'If this is not the directory in which you want to initialize repo, please run:\n' +
        `   rm -r ${topDir}/.repo\nand try again.\n`,
    );
  }
  return 0;
}

function readConfig(repoDir) {
  const file = path.join(repoDir, 'manifests.git', 'config');
  if (!existsSync(file)) return undefined;
  return Object.fromEntries(
    readFileSync(file, 'utf8')
      .split('\n')
      .filter(Boolean)
      .map((line) => splitOnce(line, '=')),
  );
}

/** Reads the projects of the manifest that .repo/manifest.xml includes, with their fetch URLs. */
function readProjects(topDir) {
  const repoDir = path.join(topDir, '.repo');
  const include = /<include\s+name="([^"]+)"/.exec(
    readFileSync(path.join(repoDir, 'manifest.xml'), 'utf8'),
  );
  if (!include) throw new Error('repo (fixture): .repo/manifest.xml includes no manifest');
  const text = readFileSync(path.join(repoDir, 'manifests', include[1]), 'utf8');
  const attributes = (tag) =>
    Object.fromEntries(
      [...tag.matchAll(/(\w[\w-]*)="([^"]*)"/g)].map((match) => [match[1], match[2]]),
    );

  const remotes = new Map();
  for (const tag of text.match(/<remote\b[^>]*>/g) ?? []) {
    const { name, fetch } = attributes(tag);
    remotes.set(name, fetch);
  }
  const defaults = attributes(/<default\b[^>]*>/.exec(text)?.[0] ?? '');
  return (text.match(/<project\b[^>]*>/g) ?? []).map((tag) => {
    const project = attributes(tag);
    const remote = project.remote ?? defaults.remote;
    return {
      name: project.name,
      path: project.path ?? project.name,
      revision: project.revision ?? defaults.revision,
      url: `${remotes.get(remote)}/${project.name}`,
    };
  });
}

const SYNC_OPTIONS = {
  '-c': { name: 'currentBranch' },
  '--current-branch': { name: 'currentBranch' },
  '-j': { name: 'jobs', value: true, integer: true },
  '--jobs': { name: 'jobs', value: true, integer: true },
  '--jobs-network': { name: 'jobsNetwork', value: true, integer: true },
  '--jobs-checkout': { name: 'jobsCheckout', value: true, integer: true },
  '--fetch-submodules': { name: 'fetchSubmodules' },
  '--force-sync': { name: 'forceSync' },
  '--no-clone-bundle': { name: 'noCloneBundle' },
  '--no-tags': { name: 'noTags' },
  '--fail-fast': { name: 'failFast' },
  '-l': { name: 'localOnly' },
  '--local-only': { name: 'localOnly' },
  '-n': { name: 'networkOnly' },
  '--network-only': { name: 'networkOnly' },
  '-d': { name: 'detach' },
  '--detach': { name: 'detach' },
  '--optimized-fetch': { name: 'optimizedFetch' },
  '--prune': { name: 'prune' },
  '--retry-fetches': { name: 'retryFetches', value: true, integer: true },
  '-q': { name: 'quiet' },
  '--quiet': { name: 'quiet' },
};

/**
 * Prints one progress update of repo's Progress class: `Title: NN% (done/total) message`.
 * NOTE: repo prints progress only when stderr is a terminal; this stand-in always does.
 */
function progress(title, done, total, message) {
  const percent = String(Math.floor((100 * done) / total)).padStart(2);
  process.stderr.write(`\r${title}: ${percent}% (${done}/${total}) ${message}${ERASE_LINE}`);
}

function progressEnd(title, done, total, startedAt) {
  const seconds = ((performance.now() - startedAt) / 1000).toFixed(3);
  const percent = String(Math.floor((100 * done) / total)).padStart(3);
  process.stderr.write(
    `\r${title}: ${percent}% (${done}/${total}), done in ${seconds}s${ERASE_LINE}\n`,
  );
}

function gitDirOf(topDir, project) {
  return path.join(topDir, '.repo', 'projects', `${project.path}.git`);
}

/** Fetches every project into .repo/projects; returns the names of those that failed. */
async function fetchProjects(topDir, projects, options) {
  const failAfter = knob('CCA_FIXTURE_REPO_FAIL_AFTER');
  const delayMs = knob('CCA_FIXTURE_REPO_DELAY_MS') ?? DEFAULT_FETCH_DELAY_MS;
  const startedAt = performance.now();
  const failed = [];
  let fetched = 0;

  for (const [index, project] of projects.entries()) {
    const gitDir = gitDirOf(topDir, project);
    const known = existsSync(path.join(gitDir, 'FETCH_HEAD'));
    await sleep(known ? delayMs / 4 : delayMs);
    if (failAfter !== undefined && fetched >= failAfter) {
      const host = new URL(project.url).host;
      process.stderr.write(
        `\nfatal: unable to access '${project.url}/': Failed to connect to ${host} port 443 after ` +
          `${Math.round(delayMs)} ms: Couldn't connect to server\n` +
          `error: Cannot fetch ${project.name} from ${project.url}\n`,
      );
      failed.push(project.name);
    } else {
      mkdirSync(gitDir, { recursive: true });
      mkdirSync(path.join(topDir, '.repo', 'project-objects', `${project.name}.git`), {
        recursive: true,
      });
      writeFileSync(
        path.join(gitDir, 'FETCH_HEAD'),
        `${project.revision}\t\t'${project.revision}' of ${project.url}\n`,
      );
      fetched += 1;
    }
    if (!options.quiet)
      progress('Fetching', index + 1, projects.length, `Last synced: ${project.name}`);
    if (failed.length > 0 && options.failFast) break;
  }
  if (!options.quiet) progressEnd('Fetching', projects.length, projects.length, startedAt);
  return failed;
}

/** Checks out the fetched projects that have no work tree yet; returns how many it checked out. */
async function checkoutProjects(topDir, projects, options) {
  const fetched = projects.filter((project) =>
    existsSync(path.join(gitDirOf(topDir, project), 'FETCH_HEAD')),
  );
  const startedAt = performance.now();
  for (const [index, project] of fetched.entries()) {
    const workTree = path.join(topDir, project.path);
    if (!existsSync(path.join(workTree, '.git'))) {
      await sleep(CHECKOUT_DELAY_MS);
      checkoutProject(project, workTree);
    }
    if (!options.quiet) progress('Checking out', index + 1, fetched.length, project.name);
  }
  if (!options.quiet && fetched.length > 0) {
    progressEnd('Checking out', fetched.length, fetched.length, startedAt);
  }
  return fetched.length;
}

/** Copies a project's tree from the server and makes it a git work tree. */
function checkoutProject(project, workTree) {
  const source = path.join(remoteDir(), 'projects', project.path);
  if (!existsSync(source))
    throw new Error(`repo (fixture): the server has no tree for ${project.path}`);
  cpSync(source, workTree, { recursive: true, force: true });
  markExecutables(workTree);
  // A real .git folder, so that git commands in the tree (git apply in build-linux.sh) stop here.
  execFileSync('git', ['-c', 'init.defaultBranch=main', 'init', '-q', workTree], {
    stdio: 'ignore',
  });
}

/** Sets mode 755 on every file that starts with `#!`, whatever modes the copy kept. */
function markExecutables(dir) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      markExecutables(file);
    } else if (entry.isFile() && startsWithShebang(file)) {
      chmodSync(file, 0o755);
    }
  }
}

function startsWithShebang(file) {
  const buffer = Buffer.alloc(2);
  const fd = openSync(file, 'r');
  try {
    return readSync(fd, buffer, 0, 2, 0) === 2 && buffer.toString('latin1') === '#!';
  } finally {
    closeSync(fd);
  }
}

/** Reads a non-negative integer knob, or undefined when it is not set. */
function knob(name) {
  const value = process.env[name];
  if (value === undefined || value === '') return undefined;
  if (!/^\d+$/.test(value))
    throw new Error(`repo (fixture): ${name} must be a whole number, got "${value}"`);
  return Number(value);
}

async function sync(args) {
  const { options, positional } = parseOptions('repo sync', args, SYNC_OPTIONS);
  const topDir = findTopDir(process.cwd());
  if (!topDir) return fail('error: repo is not installed.  Use "repo init" to install it here.');

  let projects = readProjects(topDir);
  if (positional.length > 0) {
    projects = projects.filter(
      (project) => positional.includes(project.name) || positional.includes(project.path),
    );
    const unknown = positional.filter(
      (name) => !projects.some((p) => p.name === name || p.path === name),
    );
    if (unknown.length > 0) return fail(`error: project ${unknown[0]} not found`);
  }

  const failed = options.localOnly ? [] : await fetchProjects(topDir, projects, options);
  if (failed.length > 0 && options.failFast) {
    return fail(
      '\nerror: Exited sync due to fetch errors.\n' +
        'Local checkouts *not* updated. Resolve network issues & retry.\n' +
        '`repo sync -l` will update some local checkouts.',
    );
  }
  if (!options.networkOnly) await checkoutProjects(topDir, projects, options);

  if (failed.length > 0) {
    return fail(
      '\nerror: Unable to fully sync the tree.\n' +
        'error: Downloading network changes failed.\n' +
        'Try re-running with "-j1 --fail-fast" to exit at the first error.',
    );
  }
  const list = readProjects(topDir)
    .map((project) => project.path)
    .sort();
  writeFileSync(path.join(topDir, '.repo', 'project.list'), `${list.join('\n')}\n`);
  if (!options.quiet) process.stdout.write('repo sync has finished successfully.\n');
  return 0;
}

function version() {
  const git = execFileSync('git', ['--version'], { encoding: 'utf8' }).trim();
  const topDir = findTopDir(process.cwd());
  process.stdout.write(
    `${topDir ? `repo version v${LAUNCHER_VERSION}\n       (from ${REPO_SOURCE_URL})\n` : '<repo not installed>\n'}` +
      `repo launcher version ${LAUNCHER_VERSION}\n       (from ${path.join(fixtureRoot(), 'bin', 'repo')})\n` +
      `${git}\nPython 3 (fixture stand-in on Node.js ${process.version})\n`,
  );
  return 0;
}

function fail(message) {
  process.stderr.write(`${message}\n`);
  return 1;
}

async function main(argv) {
  const [command, ...args] = argv;
  switch (command) {
    case 'init':
      return init(args);
    case 'sync':
      return sync(args);
    case 'version':
    case '--version':
      return version();
    case undefined:
    case 'help':
    case '--help':
      process.stdout.write(
        'usage: repo COMMAND [ARGS]\nThe fixture models: init, sync, version.\n',
      );
      return 0;
    default:
      return fail(`repo: '${command}' is not a repo command.  See 'repo help'.`);
  }
}

try {
  process.exitCode = await main(process.argv.slice(2));
} catch (error) {
  if (error instanceof UsageError) {
    const [command] = process.argv.slice(2);
    process.stderr.write(`Usage: repo ${command} [options]\n\n${error.message}\n`);
    process.exitCode = 2;
  } else {
    process.stderr.write(`${error.message}\n`);
    process.exitCode = 1;
  }
}
