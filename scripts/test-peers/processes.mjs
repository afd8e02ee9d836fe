// Process helpers of the test peers: start a server in its own process group, wait until it
// listens on a loopback port, and stop it with everything it started, by process group and
// process ID only.
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { readdirSync, readFileSync, readlinkSync } from 'node:fs';
import net from 'node:net';

const STOP_GRACE_MS = 3000;
const POLL_MS = 20;
/** How much of a server's output is kept for error messages, in characters. */
const OUTPUT_KEPT = 4000;

/** Process groups started here and not stopped yet, killed when this process exits. */
const liveGroups = new Set();
process.on('exit', () => {
  for (const pgid of liveGroups) {
    try {
      process.kill(-pgid, 'SIGKILL');
    } catch {
      // The group is gone already.
    }
  }
});

const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));

/**
 * Returns `n` distinct TCP ports that are free on 127.0.0.1 now. They are held open together
 * while they are picked, so no two are the same. Another process may still take one before the
 * caller binds it.
 */
export async function freePorts(n) {
  const servers = [];
  try {
    for (let i = 0; i < n; i += 1) {
      const server = net.createServer();
      servers.push(server);
      server.listen(0, '127.0.0.1');
      await once(server, 'listening');
    }
    return servers.map((server) => server.address().port);
  } finally {
    await Promise.all(servers.map((server) => new Promise((resolve) => server.close(resolve))));
  }
}

/**
 * Returns the ports on which process `pid` itself listens on 127.0.0.1: the entries of
 * /proc/net/tcp in the listen state whose socket is one of its open files. Another process on
 * the same port does not count, so a server that failed to bind is not taken for ready.
 */
function loopbackPortsListenedBy(pid) {
  const sockets = new Set();
  try {
    for (const fd of readdirSync(`/proc/${pid}/fd`)) {
      const match = /^socket:\[(\d+)\]$/.exec(readlinkSafe(`/proc/${pid}/fd/${fd}`));
      if (match) sockets.add(match[1]);
    }
  } catch {
    return new Set();
  }
  const ports = new Set();
  for (const line of readFileSync('/proc/net/tcp', 'utf8').split('\n').slice(1)) {
    const fields = line.trim().split(/\s+/);
    const [, local, , state] = fields;
    // Addresses are hex in host byte order (0100007F is 127.0.0.1), and state 0A is LISTEN.
    if (state === '0A' && local.startsWith('0100007F:') && sockets.has(fields[9])) {
      ports.add(Number.parseInt(local.slice(9), 16));
    }
  }
  return ports;
}

function readlinkSafe(file) {
  try {
    return readlinkSync(file);
  } catch {
    return '';
  }
}

/** Returns the start time of a process in clock ticks, or undefined when it is gone. */
function startTime(pid) {
  try {
    const stat = readFileSync(`/proc/${pid}/stat`, 'utf8');
    // Fields after the command name, which is in parentheses and may contain spaces.
    const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
    return fields[0] === 'Z' ? undefined : fields[19];
  } catch {
    return undefined;
  }
}

/**
 * Returns every live descendant of `pid` as `{ pid, startTime }`. A telnet server's login
 * program calls setsid(), so it leaves the server's process group and is found only this way.
 */
function descendants(pid) {
  const children = new Map();
  for (const name of readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    try {
      const stat = readFileSync(`/proc/${name}/stat`, 'utf8');
      const parent = Number(stat.slice(stat.lastIndexOf(')') + 2).split(' ')[1]);
      if (!children.has(parent)) children.set(parent, []);
      children.get(parent).push(Number(name));
    } catch {
      // The process exited while the list was read.
    }
  }
  const found = [];
  const pending = [pid];
  while (pending.length > 0) {
    for (const child of children.get(pending.pop()) ?? []) {
      found.push({ pid: child, startTime: startTime(child) });
      pending.push(child);
    }
  }
  return found;
}

/** Sends `signal` to each process of `processes` that is still the one recorded. */
function signalProcesses(processes, signal) {
  for (const { pid, startTime: started } of processes) {
    if (started === undefined || startTime(pid) !== started) continue;
    try {
      process.kill(pid, signal);
    } catch {
      // It exited in between.
    }
  }
}

async function waitUntilGone(processes, timeoutMs) {
  const deadline = performance.now() + timeoutMs;
  while (performance.now() < deadline) {
    if (processes.every(({ pid, startTime: s }) => s === undefined || startTime(pid) !== s)) {
      return true;
    }
    await sleep(POLL_MS);
  }
  return false;
}

/**
 * Starts `command` with `args` in a new process group (detached), keeping its latest output for
 * error messages. Returns `{ pid, output(), exited, stop() }`, where `exited` resolves with the
 * exit code or signal. `stop()` sends SIGTERM to the group and to any descendant that left it,
 * then SIGKILL after STOP_GRACE_MS, and resolves once all of them are gone.
 */
export function startProcessGroup(command, args, { env } = {}) {
  const child = spawn(command, args, {
    detached: true,
    env: env ?? process.env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  const keep = (chunk) => {
    output = (output + chunk).slice(-OUTPUT_KEPT);
  };
  child.stdout.on('data', keep);
  child.stderr.on('data', keep);
  // A peer that a test forgot to stop must not keep the test process alive. The exit handler
  // above kills its group.
  child.unref();
  child.stdout.unref?.();
  child.stderr.unref?.();

  const exited = new Promise((resolve, reject) => {
    child.on('error', (error) => {
      const reason = error.code === 'ENOENT' ? 'command not found' : error.message;
      reject(new Error(`${command}: ${reason}`));
    });
    child.on('exit', (code, signal) => resolve(code ?? signal));
  });
  exited.catch(() => {});
  if (child.pid !== undefined) liveGroups.add(child.pid);
  let stopping;

  const stop = () => {
    stopping ??= (async () => {
      const pid = child.pid;
      if (pid === undefined) return;
      // Keeps this process alive until the exit event below arrives.
      child.ref();
      const leader = { pid, startTime: startTime(pid) };
      const all = [leader, ...descendants(pid)];
      try {
        process.kill(-pid, 'SIGTERM');
      } catch {
        // The group has no process left.
      }
      signalProcesses(all, 'SIGTERM');
      if (!(await waitUntilGone(all, STOP_GRACE_MS))) {
        try {
          process.kill(-pid, 'SIGKILL');
        } catch {
          // The group has no process left.
        }
        signalProcesses(all, 'SIGKILL');
        await waitUntilGone(all, STOP_GRACE_MS);
      }
      await exited.catch(() => {});
      liveGroups.delete(pid);
    })();
    return stopping;
  };

  return { pid: child.pid, output: () => output, exited, stop };
}

/**
 * Waits until something listens on each of `ports` on 127.0.0.1, without connecting (a QEMU
 * console serves one client at a time and, with `wait=on`, starts the guest for the first
 * one). Throws when `started` exits first or after `timeoutMs`.
 */
export async function waitForListening(started, ports, { name, timeoutMs = 15_000 }) {
  let exitStatus;
  void started.exited.then(
    (status) => (exitStatus = status),
    (error) => (exitStatus = error.message),
  );
  const deadline = performance.now() + timeoutMs;
  for (;;) {
    const listening = loopbackPortsListenedBy(started.pid);
    const missing = ports.filter((port) => !listening.has(port));
    if (missing.length === 0) return;
    if (exitStatus !== undefined) {
      throw new Error(`${name} exited (${exitStatus}) before listening:\n${started.output()}`);
    }
    if (performance.now() > deadline) {
      await started.stop();
      throw new Error(
        `${name} did not listen on 127.0.0.1:${missing.join(', ')} within ${timeoutMs} ms:\n` +
          started.output(),
      );
    }
    await sleep(POLL_MS);
  }
}
