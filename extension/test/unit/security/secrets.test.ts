// A console password reaches the board and nothing else: not the log lines at any level, not the
// console's log file, not the errors of waits. (The SSH password and passphrase are checked in
// extension/test/peers/ssh-transport.test.ts, against OpenSSH.)
import assert from 'node:assert/strict';
import { mkdtemp, readFile, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { describe, test } from 'node:test';
import { TelnetConsole } from '../../../core/telnet/console';
import { TelnetCommand as C, TelnetOption as O } from '../../../core/telnet/protocol';
import { recordingLogger, startServer } from '../telnet/servers';

const password = 'hunter2-console-secret';

describe('console password', () => {
  test('never in log lines, the log file or wait errors', async () => {
    const folder = await mkdtemp(path.join(os.tmpdir(), 'cca-secrets-'));
    const logFile = path.join(folder, 'terminal_0.log');
    // A login as getty does it: the server echoes the user name but not the password.
    const server = await startServer(async (socket, reader) => {
      socket.write(Buffer.from([C.IAC, C.WILL, O.ECHO, C.IAC, C.WILL, O.SGA]));
      socket.write('\r\nbuildroot login: ');
      await reader.until((bytes) => bytes.includes(Buffer.from('root\r')));
      socket.write('root\r\nPassword: ');
      await reader.until((bytes) => bytes.includes(Buffer.from(`${password}\r`)));
      socket.write('\r\nLogin incorrect\r\nbuildroot login: ');
    });
    const { log, lines } = recordingLogger();
    const console = new TelnetConsole({
      name: 'terminal_0',
      host: '127.0.0.1',
      port: server.port,
      logFile,
      log,
    });
    const errors: string[] = [];
    try {
      console.start();
      await console.waitFor('login: ', 5000, { includeRecent: true });
      console.sendLine('root');
      await console.waitFor('Password: ', 5000, { includeRecent: true });
      console.sendLine(password);
      await console.waitFor('Login incorrect', 5000, { includeRecent: true });
      // A wait that fails quotes the console's last line in its error.
      await console.waitFor('# ', 200).catch((error: unknown) => errors.push(String(error)));
      const received = (await server.connection(0)).bytes;
      assert.ok(received.includes(Buffer.from(password)), 'the board got the password');
    } finally {
      await console.stop();
      await server.close();
    }
    // Typed while not connected: dropped, and still not logged.
    console.sendLine(password);

    try {
      const logText = await readFile(logFile, 'utf8');
      assert.ok(logText.includes('Login incorrect'), 'the log file has the console output');
      assert.equal(errors.length, 1);
      assert.ok(
        lines.some((line) => line.startsWith('debug ')),
        'debug lines were recorded',
      );
      for (const text of [logText, ...lines, ...errors]) {
        assert.ok(!text.includes(password), `the password in: ${text}`);
      }
    } finally {
      await rm(folder, { recursive: true, force: true });
    }
  });
});
