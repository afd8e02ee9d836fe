// Real telnet servers on 127.0.0.1 for testing a telnet client against two kinds of option
// negotiation. inetutils-telnetd sends nothing else until the client has replied to each of its
// option requests, and busybox telnetd does not wait for replies. Both run
// `program` for each connection on a pseudo-terminal, by default login-stub.sh, which prints a
// banner and `login: ` and then echoes lines, without touching the host's accounts.
import { constants, accessSync } from 'node:fs';
import path from 'node:path';
import { readManifest, testPeersDir } from './paths.mjs';
import { startProcessGroup, waitForListening } from './processes.mjs';

export { freePorts } from './processes.mjs';

/** The default program: prints TELNET_BANNER and `login: `, then echoes lines as `echo: …`. */
export const LOGIN_STUB = path.join(testPeersDir, 'login-stub.sh');

/** The first line that LOGIN_STUB prints. */
export const TELNET_BANNER = 'CCA Realm Studio telnet test peer';

/**
 * Throws unless `file` is an executable whose path socat and telnetd take as it is: socat's
 * EXEC address splits on spaces and treats `:,!"'()[]{}\` specially, and inetutils-telnetd
 * expands `%` in the login command.
 */
function checkProgram(file, role) {
  if (!path.isAbsolute(file) || !/^[\w./+@=~-]+$/.test(file)) {
    throw new Error(`${role} ${file}: expected an absolute path of letters, digits and ./_+@=~-`);
  }
  try {
    accessSync(file, constants.X_OK);
  } catch {
    throw new Error(`${role} ${file} is not an executable file (chmod +x it)`);
  }
}

function checkPort(port) {
  if (!Number.isInteger(port) || port <= 0 || port >= 65536) {
    throw new Error(`port must be a TCP port number, got ${JSON.stringify(port)}`);
  }
}

async function startServer(name, command, args, port) {
  const server = startProcessGroup(command, args);
  await waitForListening(server, [port], { name });
  return { pid: server.pid, port, output: () => server.output(), stop: () => server.stop() };
}

/**
 * Starts inetutils-telnetd behind socat, which accepts on 127.0.0.1:`port` and runs one
 * `telnetd -h -E <program>` per connection (`-h`: no host banner before the program).
 *
 * Options: `port`, a free TCP port (see `freePorts`); `program`, the absolute path of an
 * executable to run in place of login (default LOGIN_STUB).
 *
 * Returns `{ pid, port, output(), stop() }`: socat's process ID, what socat and telnetd
 * printed lately, and `stop()`, which kills socat's process group and every telnetd and
 * program it started, and resolves when they are gone.
 */
export async function startInetutilsTelnetd({ port, program = LOGIN_STUB }) {
  checkPort(port);
  const { telnetd } = readManifest();
  checkProgram(telnetd, 'telnetd');
  checkProgram(program, 'program');
  // nofork: socat's per-connection child becomes telnetd, whose standard input is the socket.
  return startServer(
    'socat with inetutils-telnetd',
    'socat',
    [`TCP-LISTEN:${port},bind=127.0.0.1,reuseaddr,fork`, `EXEC:${telnetd} -h -E ${program},nofork`],
    port,
  );
}

/**
 * Starts busybox telnetd in the foreground on 127.0.0.1:`port`, running `program` for each
 * connection. The host's /etc/issue.net is not printed (`-f /dev/null`).
 *
 * Options: `port`, a free TCP port (see `freePorts`); `program`, the absolute path of an
 * executable to run in place of login (default LOGIN_STUB).
 *
 * Returns `{ pid, port, output(), stop() }`, as startInetutilsTelnetd does.
 */
export async function startBusyboxTelnetd({ port, program = LOGIN_STUB }) {
  checkPort(port);
  checkProgram(program, 'program');
  // Debian's busybox package has no telnetd applet, so this is busybox-static from the cache.
  const { busybox } = readManifest();
  return startServer(
    'busybox telnetd',
    busybox,
    ['telnetd', '-F', '-b', '127.0.0.1', '-p', String(port), '-l', program, '-f', '/dev/null'],
    port,
  );
}
