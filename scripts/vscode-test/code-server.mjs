// Starts and stops code-server (VS Code 1.139.1 in the browser, with a Node extension host) and
// headless Chromium for the VS Code tests. Every server listens on 127.0.0.1 only, and each
// start gets its own process group and state folder, which stop() removes.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { createWriteStream, existsSync, readdirSync, readFileSync } from 'node:fs';
import { mkdir, mkdtemp, rm } from 'node:fs/promises';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as sleep } from 'node:timers/promises';
import { CHROMIUM_PATH, codeServerEntry, node24Binary } from './paths.mjs';

const START_TIMEOUT_MS = 60_000;
const STOP_GRACE_MS = 5_000;

/**
 * Chromium flags: no sandbox (the tests may run as root), no GPU, and none of Chromium's own
 * connections to Google's services, which a closed network refuses.
 */
export const CHROMIUM_ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
];

/** Returns a TCP port that is free on 127.0.0.1 at the time of the call. */
export async function findFreePort() {
  const server = net.createServer();
  server.listen(0, '127.0.0.1');
  await once(server, 'listening');
  const { port } = server.address();
  server.close();
  await once(server, 'close');
  return port;
}

/**
 * Returns the environment for code-server: no marketplace, and the XDG folders and TMPDIR in
 * `stateDir`, so that nothing is read from or written to the user's own folders. `extra` is laid
 * over the inherited variables; an undefined value removes one.
 */
function codeServerEnvironment(stateDir, extra = {}) {
  const env = {};
  for (const [name, value] of Object.entries(process.env)) {
    // A VS Code terminal sets VSCODE_* variables (IPC handles among them) that would make this
    // code-server talk to that window.
    if (name.startsWith('VSCODE_') || name === 'ELECTRON_RUN_AS_NODE') continue;
    env[name] = value;
  }
  for (const [name, value] of Object.entries(extra)) {
    if (value === undefined) delete env[name];
    else env[name] = value;
  }
  return {
    ...env,
    EXTENSIONS_GALLERY: '{}',
    XDG_DATA_HOME: path.join(stateDir, 'data'),
    XDG_CONFIG_HOME: path.join(stateDir, 'config'),
    XDG_CACHE_HOME: path.join(stateDir, 'cache'),
    TMPDIR: path.join(stateDir, 'tmp'),
  };
}

async function createStateDir(stateDir) {
  const dir = stateDir ?? (await mkdtemp(path.join(os.tmpdir(), 'cca-code-server-')));
  for (const name of ['data', 'config', 'cache', 'tmp']) {
    await mkdir(path.join(dir, name), { recursive: true });
  }
  return dir;
}

function checkInstalled() {
  for (const file of [node24Binary(), codeServerEntry()]) {
    if (!existsSync(file)) {
      throw new Error(`${file} not found: run \`node scripts/vscode-test/setup.mjs\` first`);
    }
  }
}

/**
 * Installs a .vsix into `extensionsDir` with code-server's own command line, using the same
 * user-data and state folders as the server will.
 */
export async function installExtension({ vsixPath, extensionsDir, userDataDir, stateDir }) {
  checkInstalled();
  const args = [
    codeServerEntry(),
    '--user-data-dir',
    userDataDir,
    '--extensions-dir',
    extensionsDir,
    '--install-extension',
    vsixPath,
  ];
  const child = spawn(node24Binary(), args, {
    env: codeServerEnvironment(stateDir),
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout.on('data', (chunk) => (output += chunk));
  child.stderr.on('data', (chunk) => (output += chunk));
  const [code, signal] = await once(child, 'close');
  if (code !== 0) {
    throw new Error(`installing ${vsixPath} failed (exit ${code ?? signal}):\n${output.trim()}`);
  }
  return output.trim();
}

/** Reads pid, parent pid, process group and state of every process from /proc. */
function readProcessTable() {
  const table = [];
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    let stat;
    try {
      stat = readFileSync(`/proc/${name}/stat`, 'utf8');
    } catch {
      continue; // The process exited while the table was read.
    }
    // The command name in brackets may contain spaces, so fields are counted after its `)`.
    const [state, parentPid, groupId] = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    table.push({
      pid: Number(name),
      parentPid: Number(parentPid),
      groupId: Number(groupId),
      state,
    });
  }
  return table;
}

function listDescendants(rootPid, table) {
  const descendants = [];
  const queue = [rootPid];
  while (queue.length > 0) {
    const parent = queue.shift();
    for (const entry of table) {
      if (entry.parentPid !== parent) continue;
      descendants.push(entry.pid);
      queue.push(entry.pid);
    }
  }
  return descendants;
}

function signalProcess(pid, signal) {
  try {
    process.kill(pid, signal);
  } catch (error) {
    if (error.code !== 'ESRCH') throw error;
  }
}

/**
 * Stops the process group led by `groupId` and any descendant that left it (node-pty starts
 * terminals in new sessions): SIGTERM, then SIGKILL after the grace time. Resolves once none
 * of them is left. Zombies count as gone, because only init reaps them, and it may do so late.
 */
export async function stopProcessTree(groupId) {
  // Descendants are listed before the signal, because a child whose parent dies is adopted by
  // init and can no longer be found from here.
  const stragglers = new Set(listDescendants(groupId, readProcessTable()));
  const remaining = () =>
    readProcessTable()
      .filter((entry) => entry.groupId === groupId || stragglers.has(entry.pid))
      .filter((entry) => entry.state !== 'Z')
      .map((entry) => entry.pid);

  signalProcess(-groupId, 'SIGTERM');
  for (const pid of stragglers) signalProcess(pid, 'SIGTERM');
  const graceEnd = Date.now() + STOP_GRACE_MS;
  while (remaining().length > 0 && Date.now() < graceEnd) await sleep(100);

  const killEnd = Date.now() + STOP_GRACE_MS;
  for (let left = remaining(); left.length > 0; left = remaining()) {
    if (Date.now() > killEnd) {
      throw new Error(`processes ${left.join(', ')} still run after SIGKILL`);
    }
    for (const pid of left) signalProcess(pid, 'SIGKILL');
    await sleep(50);
  }
}

async function waitForHttp200(url, isRunning) {
  const deadline = Date.now() + START_TIMEOUT_MS;
  let lastStatus = 'no response';
  while (Date.now() < deadline) {
    if (!isRunning()) throw new Error(`code-server exited before ${url} responded`);
    try {
      const response = await fetch(url, { signal: AbortSignal.timeout(5_000) });
      await response.arrayBuffer();
      if (response.status === 200) return;
      lastStatus = `HTTP ${response.status}`;
    } catch (error) {
      lastStatus = error.cause?.code ?? error.message;
    }
    await sleep(200);
  }
  throw new Error(
    `${url} did not return HTTP 200 within ${START_TIMEOUT_MS} ms (last: ${lastStatus})`,
  );
}

/**
 * Starts code-server on a free port of 127.0.0.1 with `workspace` open and resolves once both
 * /healthz and / return HTTP 200. With `installVsix`, installs that .vsix first. With
 * `smokeTestDriver`, the workbench accepts the extensionTestsPath payload that runs extension
 * tests. `env` is laid over the inherited environment (an undefined value removes a variable),
 * and then the extension host gets code-server's environment as it is: VS Code's merge of the
 * login shell's environment, whose profile scripts reset PATH, is turned off. Its output goes to `<stateDir>/code-server.log`, and also to
 * stderr when CCA_DEBUG is set. `exit` resolves with the exit code or signal when the server exits. `stop()` ends every
 * process it started and removes `stateDir` unless it was given.
 */
export async function startCodeServer({
  workspace,
  extensionsDir,
  userDataDir,
  installVsix,
  smokeTestDriver = false,
  stateDir: givenStateDir,
  env = {},
  workspaceTrust = false,
}) {
  checkInstalled();
  const stateDir = await createStateDir(givenStateDir);
  const removeStateDir = () =>
    givenStateDir ? Promise.resolve() : rm(stateDir, { recursive: true, force: true });

  try {
    if (installVsix) {
      await installExtension({ vsixPath: installVsix, extensionsDir, userDataDir, stateDir });
    }
  } catch (error) {
    await removeStateDir();
    throw error;
  }

  const port = await findFreePort();
  const args = [
    codeServerEntry(),
    '--auth',
    'none',
    '--bind-addr',
    `127.0.0.1:${port}`,
    '--config',
    '/dev/null',
    '--disable-telemetry',
    '--disable-update-check',
    // With workspace trust on, the folder opens in restricted mode (the user settings of the run
    // turn the trust prompt off).
    ...(workspaceTrust ? [] : ['--disable-workspace-trust']),
    '--ignore-last-opened',
    '--user-data-dir',
    userDataDir,
    '--extensions-dir',
    extensionsDir,
    ...(smokeTestDriver ? ['--vscode-option', 'enable-smoke-test-driver'] : []),
    ...(Object.keys(env).length > 0 ? ['--vscode-option', 'force-disable-user-env'] : []),
    workspace,
  ];
  const logPath = path.join(stateDir, 'code-server.log');
  const log = createWriteStream(logPath);
  const recentLines = [];
  const server = spawn(node24Binary(), args, {
    env: codeServerEnvironment(stateDir, env),
    detached: true, // its own process group, so stop() reaches every process it starts
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let exited = false;
  const exit = new Promise((resolve) => {
    server.on('exit', (code, signal) => {
      exited = true;
      resolve(code ?? signal);
    });
  });
  for (const stream of [server.stdout, server.stderr]) {
    stream.on('data', (chunk) => {
      log.write(chunk);
      if (process.env.CCA_DEBUG) process.stderr.write(chunk);
      recentLines.push(...chunk.toString().split('\n').filter(Boolean));
      recentLines.splice(0, recentLines.length - 40);
    });
  }

  let stopped;
  const stop = () => {
    stopped ??= (async () => {
      if (server.pid !== undefined) await stopProcessTree(server.pid);
      log.end();
      await removeStateDir();
    })();
    return stopped;
  };

  const url = `http://127.0.0.1:${port}/`;
  try {
    await waitForHttp200(`${url}healthz`, () => !exited);
    await waitForHttp200(url, () => !exited);
  } catch (error) {
    const output = recentLines.join('\n');
    await stop();
    throw new Error(`code-server did not start: ${error.message}\ncode-server output:\n${output}`, {
      cause: error,
    });
  }
  return { url, port, stop, logPath, exit, isRunning: () => !exited };
}

/**
 * Launches Debian's Chromium headless through playwright-core, with a new profile folder that
 * close() removes. Returns the browser context, its first page and close().
 */
export async function launchChromium({ viewport = { width: 1280, height: 800 } } = {}) {
  const { chromium } = await import('playwright-core');
  if (!existsSync(CHROMIUM_PATH)) {
    throw new Error(`${CHROMIUM_PATH} not found: run \`node scripts/vscode-test/setup.mjs\` first`);
  }
  const profileDir = await mkdtemp(path.join(os.tmpdir(), 'cca-chromium-'));
  let context;
  try {
    context = await chromium.launchPersistentContext(profileDir, {
      executablePath: CHROMIUM_PATH,
      headless: true,
      args: CHROMIUM_ARGS,
      viewport,
      // Chromium's crash handler keeps its database under XDG_CONFIG_HOME, ~/.config by default.
      env: {
        ...process.env,
        XDG_CONFIG_HOME: path.join(profileDir, 'config'),
        XDG_CACHE_HOME: path.join(profileDir, 'cache'),
      },
    });
  } catch (error) {
    await rm(profileDir, { recursive: true, force: true });
    throw error;
  }
  const page = context.pages()[0] ?? (await context.newPage());
  const close = async () => {
    await context.close();
    await rm(profileDir, { recursive: true, force: true });
  };
  return { context, page, close };
}
