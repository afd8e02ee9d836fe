/// <reference types="mocha" />
import assert from 'node:assert/strict';
import { readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import * as vscode from 'vscode';
import type { QemuBoard, QemuBoardOptions } from '../../../scripts/test-peers/qemu-board.mjs' with {
  'resolution-mode': 'import',
};

/** The part of scripts/test-peers/qemu-board.mjs these tests use. */
interface BoardPeers {
  freePorts(count: number): Promise<number[]>;
  startQemuBoard(options: QemuBoardOptions): Promise<QemuBoard>;
}

// The compiled test is out/test/integration/; the repository is three folders up.
const repositoryRoot = path.resolve(__dirname, '..', '..', '..');

function workspaceFolder(): string {
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  assert.ok(folder, 'the test workspace is open');
  return folder;
}

function waitFor(uart: string, pattern: string, timeoutMs: number, includeRecent: boolean) {
  return vscode.commands.executeCommand<string>(
    'ccaRealmStudio.consoles.waitFor',
    uart,
    pattern,
    timeoutMs,
    includeRecent,
  );
}

function output(uart: string): Thenable<string | undefined> {
  return vscode.commands.executeCommand<string | undefined>('ccaRealmStudio.consoles.output', uart);
}

/** Waits until a console is closed, which happens shortly after its terminal is disposed. */
async function waitUntilClosed(uart: string): Promise<void> {
  const deadline = Date.now() + 10_000;
  while ((await output(uart)) !== undefined) {
    if (Date.now() > deadline) throw new Error(`${uart} is still open`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

// Busybox ash follows its `# ` prompt with a cursor position query (ESC [ 6 n).
const shellPrompt = '# *(\\x1b\\[6n)?$';

describe('FVP consoles on the QEMU board', function (this: Mocha.Suite) {
  this.timeout(180_000);
  let board: QemuBoard | undefined;

  before(async () => {
    const peers = (await import(
      path.join(repositoryRoot, 'scripts', 'test-peers', 'qemu-board.mjs')
    )) as BoardPeers;
    const ports = await peers.freePorts(4);
    // The guest waits for the first console, so the whole boot log reaches it, as on an FVP
    // whose consoles connect when its ports open.
    board = await peers.startQemuBoard({ ports, waitForClient: true });
    const config = vscode.workspace.getConfiguration('ccaRealmStudio.consoles');
    await config.update('ports', ports, vscode.ConfigurationTarget.Workspace);
  });

  after(async () => {
    for (const terminal of vscode.window.terminals) terminal.dispose();
    await board?.stop();
  });

  it('lists a task per UART', async () => {
    const tasks = await vscode.tasks.fetchTasks({ type: 'cca-console' });
    const names = tasks.map((task) => task.name).sort();
    assert.deepEqual(names, [
      'terminal_0 (TF-A and normal world)',
      'terminal_1 (UART 1)',
      'terminal_2 (UART 2)',
      'terminal_3 (RMM)',
    ]);
  });

  it('shows the boot log and logs every byte', async () => {
    await vscode.commands.executeCommand('ccaRealmStudio.openConsoles');
    await waitFor('terminal_0', 'login: *$', 120_000, true);
    const received = (await output('terminal_0')) ?? '';
    assert.match(received, /Booting Linux on physical CPU/);
    assert.match(received, /Linux version/);

    const logFile = path.join(workspaceFolder(), '.cca', 'consoles', 'terminal_0.log');
    assert.equal(readFileSync(logFile, 'utf8'), received, 'the log has what the terminal got');
    const terminalNames = vscode.window.terminals.map((terminal) => terminal.name);
    assert.ok(
      terminalNames.some((name) => name.includes('terminal_0')),
      terminalNames.join(', '),
    );
  });

  it('logs in and runs a command', async () => {
    await vscode.commands.executeCommand('ccaRealmStudio.consoles.sendLine', 'terminal_0', 'root');
    await waitFor('terminal_0', '[Pp]assword: *$', 30_000, true);
    await vscode.commands.executeCommand('ccaRealmStudio.consoles.sendLine', 'terminal_0', 'root');
    await waitFor('terminal_0', shellPrompt, 30_000, false);
    await vscode.commands.executeCommand(
      'ccaRealmStudio.consoles.sendLine',
      'terminal_0',
      'uname -m',
    );
    const reply = await waitFor('terminal_0', 'aarch64', 30_000, false);
    assert.equal(reply, 'aarch64');
  });

  it('the other UARTs answer too', async () => {
    for (const uart of ['terminal_1', 'terminal_2', 'terminal_3']) {
      await vscode.commands.executeCommand('ccaRealmStudio.consoles.sendLine', uart, '');
      await waitFor(uart, 'login: *$', 60_000, true);
    }
  });

  it('takes the ports from the FVP output', async () => {
    assert.ok(board);
    for (const terminal of vscode.window.terminals) terminal.dispose();
    await waitUntilClosed('terminal_1');
    // Wrong fallback ports: only the FVP's own lines can lead the consoles to the board.
    const fvpOutput = path.join(workspaceFolder(), 'fvp-stdout.log');
    const lines = board.ports.map(
      (port, i) => `terminal_${i}: Listening for serial connection on port ${port}`,
    );
    writeFileSync(fvpOutput, `Info: FVP_Base_RevC-2xAEMvA: booting\n${lines.join('\n')}\n`);
    const config = vscode.workspace.getConfiguration('ccaRealmStudio.consoles');
    await config.update('ports', [1, 2, 3, 4], vscode.ConfigurationTarget.Workspace);
    await config.update('fvpOutputFile', fvpOutput, vscode.ConfigurationTarget.Workspace);

    await vscode.commands.executeCommand('ccaRealmStudio.openConsoles');
    // QEMU prints a new login prompt only on input once a client is connected, and a line sent
    // before the connection is up is lost: send one every few seconds until the prompt shows.
    const deadline = Date.now() + 60_000;
    for (;;) {
      await vscode.commands.executeCommand('ccaRealmStudio.consoles.sendLine', 'terminal_1', '');
      try {
        await waitFor('terminal_1', 'login: *$', 3_000, true);
        break;
      } catch (error) {
        if (Date.now() > deadline) throw error;
      }
    }
  });

  it('reconnects after the board restarts', async () => {
    assert.ok(board);
    await board.restart();
    // The guest boots again only once the console has reconnected to the first port.
    const banner = await waitFor('terminal_0', 'Booting Linux on physical CPU', 120_000, false);
    assert.match(banner, /Booting Linux/);
    await waitFor('terminal_0', 'login: *$', 120_000, false);
  });
  it('logs in by itself with the stored password', async () => {
    for (const terminal of vscode.window.terminals) terminal.dispose();
    await waitUntilClosed('terminal_0');
    const config = vscode.workspace.getConfiguration('ccaRealmStudio.consoles');
    await config.update('autoLogin', true, vscode.ConfigurationTarget.Workspace);
    await vscode.commands.executeCommand('ccaRealmStudio.setConsolePassword', 'root');
    try {
      await vscode.commands.executeCommand('ccaRealmStudio.openConsoles');
      await waitFor('terminal_0', shellPrompt, 120_000, true);
      await vscode.commands.executeCommand(
        'ccaRealmStudio.consoles.sendLine',
        'terminal_0',
        'id -un',
      );
      assert.equal(await waitFor('terminal_0', '^root', 30_000, false), 'root');
      const settingsText = readFileSync(
        path.join(workspaceFolder(), '.vscode', 'settings.json'),
        'utf8',
      );
      assert.doesNotMatch(settingsText, /password/i, 'the password is not in settings.json');
    } finally {
      await config.update('autoLogin', undefined, vscode.ConfigurationTarget.Workspace);
    }
  });
});
