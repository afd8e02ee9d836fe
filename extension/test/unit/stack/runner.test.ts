import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { after, describe, test } from 'node:test';
import type { Logger } from '../../../core/log';
import {
  findMatchingProcess,
  isRecordAlive,
  processGroupMembers,
  readCommandLine,
  readProcessInfo,
  readProcessRecord,
  stopRecordedProcess,
  type ProcessRecord,
} from '../../../core/stack/processes';
import { execFileRunner, loggingExecRunner, startCommand } from '../../../core/stack/runner';

const temporary = fs.mkdtempSync(path.join(os.tmpdir(), 'cca-runner-'));
after(() => fs.rmSync(temporary, { recursive: true, force: true }));

function script(name: string, body: string): string {
  const file = path.join(temporary, name);
  fs.writeFileSync(file, `#!/bin/bash\n${body}\n`, { mode: 0o755 });
  return file;
}

function memoryLogger(): Logger & { lines: string[] } {
  const lines: string[] = [];
  const add = (level: string) => (message: string) => lines.push(`${level} ${message}`);
  return { lines, debug: add('debug'), info: add('info'), warn: add('warn'), error: add('error') };
}

function isGone(pid: number): boolean {
  const info = readProcessInfo(pid);
  return info === undefined || info.state === 'Z';
}

async function waitFor(check: () => boolean, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

describe('execFileRunner', () => {
  test('output and exit code', async () => {
    const result = await execFileRunner('sh', ['-c', 'echo out; echo err >&2; exit 3'], {
      timeoutMs: 5000,
    });
    assert.equal(result.code, 3);
    assert.equal(result.stdout, 'out\n');
    assert.equal(result.stderr, 'err\n');
  });

  test('missing command', async () => {
    const result = await execFileRunner(path.join(temporary, 'no-such'), [], { timeoutMs: 5000 });
    assert.equal(result.code, null);
    assert.equal(result.errorCode, 'ENOENT');
  });

  test('timeout', async () => {
    const result = await execFileRunner('sleep', ['5'], { timeoutMs: 200 });
    assert.equal(result.timedOut, true);
    assert.match(result.error ?? '', /did not finish within 200 ms/);
  });
});

describe('startCommand', () => {
  test('streams lines and updates, appends to the log', async () => {
    const logFile = path.join(temporary, 'logs', 'stream.log');
    fs.mkdirSync(path.dirname(logFile), { recursive: true });
    fs.writeFileSync(logFile, 'earlier run\n');
    const command = script(
      'stream.sh',
      'echo "first $1"; printf "step 1\\rstep 2\\r" ; echo done; echo "warn: é" >&2; printf tail; exit 4',
    );
    const lines: string[] = [];
    const logger = memoryLogger();
    const running = startCommand(
      { command, args: ['a b'], cwd: temporary },
      {
        logFile,
        logger,
        label: 'stream',
        onLine: (line, stream, kind) => lines.push(`${stream}:${kind}:${line}`),
      },
    );
    const result = await running.exited;

    assert.equal(result.code, 4);
    assert.equal(result.stopped, false);
    assert.deepEqual(
      lines.filter((l) => l.startsWith('stdout')),
      [
        'stdout:line:first a b',
        'stdout:update:step 1',
        'stdout:update:step 2',
        'stdout:line:done',
        'stdout:line:tail',
      ],
    );
    assert.deepEqual(
      lines.filter((l) => l.startsWith('stderr')),
      ['stderr:line:warn: é'],
    );

    const log = fs.readFileSync(logFile, 'utf8');
    assert.ok(log.startsWith('earlier run\n'), 'the earlier log is kept');
    assert.match(log, /=== \S+ \S+stream\.sh 'a b' \(in /);
    assert.ok(log.includes('step 1\rstep 2\rdone\n'), 'raw output is logged');
    assert.ok(log.includes('warn: é'));
    assert.match(log, /=== \S+ exited with code 4\n$/);
    assert.ok(logger.lines.some((l) => /^info stream: started .*stream\.sh 'a b'/.test(l)));
    assert.ok(logger.lines.some((l) => /^info stream: exited with code 4/.test(l)));
  });

  test('environment additions and removals', async () => {
    process.env.CCA_RUNNER_REMOVE = 'present';
    const output: string[] = [];
    const running = startCommand(
      {
        command: 'sh',
        args: ['-c', 'echo "${CCA_RUNNER_SET}-${CCA_RUNNER_REMOVE:-absent}"'],
        cwd: temporary,
        env: { CCA_RUNNER_SET: 'set', CCA_RUNNER_REMOVE: undefined },
      },
      { onLine: (line) => output.push(line) },
    );
    await running.exited;
    delete process.env.CCA_RUNNER_REMOVE;
    assert.deepEqual(output, ['set-absent']);
  });

  test('missing command fails with a reason', async () => {
    const logger = memoryLogger();
    const running = startCommand(
      { command: path.join(temporary, 'missing.sh'), args: [], cwd: temporary },
      { logger },
    );
    const result = await running.exited;
    assert.equal(result.code, null);
    assert.match(result.error ?? '', /missing\.sh could not start: .*ENOENT/);
    assert.ok(logger.lines.some((l) => l.startsWith('error ')));
  });

  test('stop ends the group and its children', async () => {
    const command = script(
      'tree.sh',
      [
        'sleep 300 & echo "child $!"',
        'bash -c \'sleep 300 & echo "grandchild $!"; wait\' &',
        'echo ready',
        'wait',
      ].join('\n'),
    );
    const recordFile = path.join(temporary, 'processes', 'tree.json');
    const pids: number[] = [];
    let ready = false;
    const running = startCommand(
      { command, args: [], cwd: temporary },
      {
        recordFile,
        onLine: (line) => {
          const match = /^(?:child|grandchild) (\d+)$/.exec(line);
          if (match) pids.push(Number(match[1]));
          if (line === 'ready') ready = true;
        },
      },
    );
    await waitFor(() => ready && pids.length === 2);

    const record = readProcessRecord(recordFile);
    assert.equal(record?.pid, running.pid);
    assert.equal(record?.pgid, running.pid);
    assert.ok(record);
    assert.equal(isRecordAlive(record), true);
    assert.ok(processGroupMembers(running.pid ?? -1).length >= 3);

    const result = await running.stop(2000);
    assert.equal(result.stopped, true);
    assert.equal(result.signal, 'SIGTERM');
    for (const pid of pids) assert.ok(isGone(pid), `process ${pid} is gone`);
    assert.deepEqual(processGroupMembers(running.pid ?? -1), []);
    assert.equal(fs.existsSync(recordFile), false, 'the record is removed');
  });

  test('SIGKILL after the grace period, with stop hooks', async () => {
    const command = script(
      'stubborn.sh',
      "trap '' TERM; echo ready; while true; do sleep 0.1; done",
    );
    const marker = path.join(temporary, 'hooks.txt');
    let ready = false;
    const logger = memoryLogger();
    const running = startCommand(
      {
        command,
        args: [],
        cwd: temporary,
        stopHooks: {
          term: ['sh', '-c', `echo term >> '${marker}'`],
          kill: ['sh', '-c', `echo kill >> '${marker}'`],
        },
      },
      { logger, onLine: (line) => (ready ||= line === 'ready') },
    );
    await waitFor(() => ready);
    const started = Date.now();
    const result = await running.stop(500);

    assert.ok(Date.now() - started >= 500);
    assert.equal(result.signal, 'SIGKILL');
    assert.deepEqual(processGroupMembers(running.pid ?? -1), []);
    assert.equal(fs.readFileSync(marker, 'utf8'), 'term\nkill\n');
    assert.ok(logger.lines.some((l) => /outlived SIGTERM for 500 ms/.test(l)));
  });
});

describe('process records', () => {
  test('stopped from another window', async () => {
    const recordFile = path.join(temporary, 'processes', 'fvp.json');
    const fvp = script('FVP_Base_RevC-2xAEMvA', 'echo ready; sleep 300');
    const launcher = script('boot.sh', `"${fvp}" & wait`);
    let ready = false;
    const running = startCommand(
      { command: launcher, args: [], cwd: temporary },
      {
        recordFile,
        match: 'FVP_Base_RevC-2xAEMvA',
        onLine: (line) => (ready ||= line === 'ready'),
      },
    );
    await waitFor(() => ready);
    const record = readProcessRecord(recordFile);
    assert.ok(record);
    assert.equal(record.match, 'FVP_Base_RevC-2xAEMvA');
    const fvpPid = findMatchingProcess(record);
    assert.ok(fvpPid !== undefined, 'the FVP is found in the group');
    assert.notEqual(fvpPid, record.pid);
    assert.match(readCommandLine(fvpPid)?.join(' ') ?? '', /FVP_Base_RevC-2xAEMvA/);

    await stopRecordedProcess(recordFile, { graceMs: 2000 });
    const result = await running.exited;
    assert.equal(result.signal, 'SIGTERM');
    assert.equal(isRecordAlive(record), false);
    assert.equal(fs.existsSync(recordFile), false);
  });

  test('reused PID is not alive', () => {
    const own = readProcessInfo(process.pid);
    assert.ok(own);
    const record: ProcessRecord = {
      pid: process.pid,
      pgid: own.pgid,
      startTicks: own.startTicks + 1,
      argv: ['/opt/fvp/FVP_Base_RevC-2xAEMvA'],
      cwd: '/',
      startedAt: new Date().toISOString(),
      match: 'FVP_Base_RevC-2xAEMvA',
    };
    assert.equal(isRecordAlive(record), false);
    assert.equal(isRecordAlive({ ...record, startTicks: own.startTicks }), true);
  });

  test('invalid record files', () => {
    const file = path.join(temporary, 'bad.json');
    fs.writeFileSync(file, '{"pid": "12"}');
    assert.equal(readProcessRecord(file), undefined);
    fs.writeFileSync(file, 'not json');
    assert.equal(readProcessRecord(file), undefined);
    assert.equal(readProcessRecord(path.join(temporary, 'none.json')), undefined);
  });
});

describe('loggingExecRunner', () => {
  test('one line per command', async () => {
    const logger = memoryLogger();
    const exec = loggingExecRunner(logger);
    await exec('sh', ['-c', 'exit 0'], { timeoutMs: 5000 });
    await exec('sh', ['-c', 'exit 2'], { timeoutMs: 5000 });
    assert.equal(logger.lines.length, 2);
    assert.match(logger.lines[0], /^info sh -c 'exit 0': exit code 0 \(\d+ ms\)$/);
    assert.match(logger.lines[1], /^warn sh -c 'exit 2': exit code 2 \(\d+ ms\)$/);
  });
});
