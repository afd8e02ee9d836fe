// The boot step against the fixture rme-stack, whose "FVP" boots the QEMU board of
// scripts/test-peers (set up by scripts/test-peers/setup.mjs). boot.sh runs through the runner
// as a process group, and the ports and validate's results come from its output. The state
// shows the FVP running, and stopping the group from its record leaves no console listening.

import assert from 'node:assert/strict';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { bootCommand } from '../../core/stack/commands';
import { locateFvp } from '../../core/stack/fvp';
import { fvpBinaryName, processRecordFile, stackLayout } from '../../core/stack/layout';
import { readProcessRecord, stopRecordedProcess } from '../../core/stack/processes';
import { BootTracker } from '../../core/stack/progress';
import { startCommand } from '../../core/stack/runner';
import { isStepProcessAlive } from '../../core/stack/state';

const loadFixture = () => import('../../../scripts/test-peers/fixture-stack/index.mjs');
const bootTimeoutMs = 90_000;

const temporary = fs.mkdtempSync(path.join(os.tmpdir(), 'cca-stack-boot-'));
after(() => fs.rmSync(temporary, { recursive: true, force: true }));

function portOpen(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect({ host: '127.0.0.1', port });
    socket.once('connect', () => {
      socket.destroy();
      resolve(true);
    });
    socket.once('error', () => resolve(false));
  });
}

async function waitFor(
  check: () => boolean,
  what: string,
  timeoutMs = bootTimeoutMs,
): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('boot step on the fixture', () => {
  let stackDir: string;
  let env: NodeJS.ProcessEnv;
  let home: string;

  before(async () => {
    const fixture = await loadFixture();
    const stack = fixture.createFixtureStack(path.join(temporary, 'fixture'));
    env = stack.env({ DISPLAY: undefined });
    stackDir = stack.stackDir;

    // boot.sh only checks that these exist; the board boots its own kernel.
    fs.mkdirSync(path.join(stackDir, 'model-scripts'), { recursive: true });
    fs.cpSync(
      path.join(stack.stateDir, 'remote', 'projects', 'model-scripts'),
      path.join(stackDir, 'model-scripts'),
      { recursive: true },
    );
    for (const name of ['bl1.bin', 'fip.bin', 'Image', 'host-fs.ext4']) {
      fs.mkdirSync(path.join(stackDir, 'output', 'aemfvp-a-rme'), { recursive: true });
      fs.writeFileSync(path.join(stackDir, 'output', 'aemfvp-a-rme', name), '');
    }

    // The FVP folder is given with `~`, as users write it in settings.
    home = path.dirname(stack.fvpDir);
  });

  test('shell: ports, running state, stop by record', async () => {
    const layout = stackLayout(stackDir);
    const fvp = await locateFvp({ fvpDir: '~/fvp', env, home });
    const spec = bootCommand(layout, 'shell', fvp.variable);
    const tracker = new BootTracker();
    const recordFile = processRecordFile(layout, 'boot');
    const running = startCommand(
      { ...spec, env: { ...spec.env, PATH: env.PATH, DISPLAY: undefined } },
      {
        recordFile,
        match: fvpBinaryName,
        logFile: path.join(layout.logDir, 'boot.log'),
        onLine: (line) => tracker.push(line),
      },
    );

    try {
      await waitFor(() => tracker.ports.entries().length === 4, 'the four terminal ports');
      assert.deepEqual(
        tracker.ports.entries().map((entry) => entry.terminal),
        ['terminal_0', 'terminal_1', 'terminal_2', 'terminal_3'],
      );
      assert.equal(await portOpen(tracker.ports.get('terminal_0') ?? 0), true);
      assert.equal(readProcessRecord(recordFile)?.pid, running.pid);
      assert.equal(isStepProcessAlive(layout, 'boot'), true);

      // Stop once the normal world is up, as a user would.
      const uart0 = layout.uartLogs[0];
      await waitFor(
        () =>
          fs.existsSync(uart0) && fs.readFileSync(uart0, 'utf8').includes('Welcome to Buildroot'),
        'the normal world on UART0',
      );
    } finally {
      // As after a reload: the window that started it is gone, so the record is all there is.
      await stopRecordedProcess(recordFile, { graceMs: 10_000 });
    }

    const result = await running.exited;
    assert.equal(result.signal ?? result.code, 'SIGTERM');
    assert.equal(isStepProcessAlive(layout, 'boot'), false);
    for (const { port } of tracker.ports.entries()) {
      assert.equal(await portOpen(port), false, `port ${port} is closed`);
    }
    assert.match(
      fs.readFileSync(path.join(layout.logDir, 'boot.log'), 'utf8'),
      /terminal_3: Listening/,
    );
  });

  test('validate: a result per world', async () => {
    const layout = stackLayout(stackDir);
    const fvp = await locateFvp({
      env: { ...env, FVP_DIR: '${HOME_FOR_TEST}/fvp', HOME_FOR_TEST: home },
      home,
    });
    const spec = bootCommand(layout, 'validate', fvp.variable);
    const tracker = new BootTracker();
    const running = startCommand(
      { ...spec, env: { ...spec.env, PATH: env.PATH, CCA_FIXTURE_VALIDATE_TIMEOUT: '80' } },
      { onLine: (line) => tracker.push(line) },
    );
    const result = await running.exited;

    assert.equal(result.code, 0, tracker.errors.join('\n'));
    assert.deepEqual(
      [...tracker.results.values()].map((r) => [r.world, r.ok]),
      [
        ['secure', true],
        ['realm', true],
        ['normal', true],
        ['all', true],
      ],
    );
    assert.equal(tracker.allWorldsBooted(), true);
  });
});
