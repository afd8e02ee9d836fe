import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import {
  ConsoleOutput,
  bufferedOutputChars,
  recentOutputChars,
  type WaitFailure,
} from '../../../core/telnet/output';

function newOutput() {
  const dropped: string[] = [];
  const errors: unknown[] = [];
  const output = new ConsoleOutput(
    (error) => errors.push(error),
    () => dropped.push('dropped'),
  );
  return { output, dropped, errors };
}

const fail = (reason: WaitFailure) => new Error(`wait ${reason}`);

describe('ConsoleOutput', () => {
  test('text before a listener goes to the first listener', async () => {
    const { output } = newOutput();
    output.push('NOTICE:  Booting ');
    output.push('Trusted Firmware\r\n');
    const received: string[] = [];
    output.onData((text) => received.push(text));
    output.push('NOTICE:  BL1: v2.10\r\n');
    assert.deepEqual(received, []);
    await Promise.resolve();
    assert.deepEqual(received, ['NOTICE:  Booting Trusted Firmware\r\nNOTICE:  BL1: v2.10\r\n']);
  });

  test('buffer keeps the newest text and reports once', async () => {
    const { output, dropped } = newOutput();
    const block = 'x'.repeat(bufferedOutputChars / 4);
    for (let index = 0; index < 6; index += 1) output.push(block);
    output.push('end');
    assert.deepEqual(dropped, ['dropped']);
    const received: string[] = [];
    output.onData((text) => received.push(text));
    await Promise.resolve();
    assert.equal(received.length, 1);
    assert.equal(received[0].length, bufferedOutputChars);
    assert.ok(received[0].endsWith('xend'));
  });

  test('buffering resumes when every listener is gone', async () => {
    const { output } = newOutput();
    const first: string[] = [];
    const subscription = output.onData((text) => first.push(text));
    output.push('a');
    subscription.dispose();
    output.push('b');
    const second: string[] = [];
    output.onData((text) => second.push(text));
    await Promise.resolve();
    assert.deepEqual(first, ['a']);
    assert.deepEqual(second, ['b']);
  });

  test('a listener that throws is reported', () => {
    const { output, errors } = newOutput();
    output.onData(() => {
      throw new Error('broken listener');
    });
    const received: string[] = [];
    output.onData((text) => received.push(text));
    output.push('text');
    assert.equal(errors.length, 1);
    assert.deepEqual(received, ['text']);
  });

  test('recent text is bounded', () => {
    const { output } = newOutput();
    output.onData(() => undefined);
    for (let index = 0; index < 100; index += 1) output.push(`${index}`.padEnd(4096, '.'));
    const recent = output.recentText();
    assert.ok(recent.length >= recentOutputChars);
    assert.ok(recent.length < recentOutputChars + 4096);
    assert.ok(recent.startsWith('84'));
  });

  test('waitFor sees only later output unless asked', async () => {
    const { output } = newOutput();
    output.push('buildroot login: ');
    await assert.rejects(output.waitFor('login:', 20, {}, fail), /wait timeout/);
    assert.equal(await output.waitFor('login:', 20, { includeRecent: true }, fail), 'login:');
  });

  test('waitFor matches across pushes and ignores g and y flags', async () => {
    const { output } = newOutput();
    const regex = /RMM init (\w+)/gy;
    regex.lastIndex = 5;
    const waiting = output.waitFor(regex, 1000, {}, fail);
    output.push('INFO: RMM in');
    output.push('it end\r\n');
    assert.equal(await waiting, 'RMM init end');
  });

  test('failWaits rejects every pending wait', async () => {
    const { output } = newOutput();
    const waits = [output.waitFor('a', 10_000, {}, fail), output.waitFor(/b/, 10_000, {}, fail)];
    output.failWaits('stopped');
    for (const wait of waits) await assert.rejects(wait, /wait stopped/);
  });

  test('an aborted signal rejects at once', async () => {
    const { output } = newOutput();
    await assert.rejects(
      output.waitFor('a', 10_000, { signal: AbortSignal.abort() }, fail),
      /wait aborted/,
    );
  });
});
