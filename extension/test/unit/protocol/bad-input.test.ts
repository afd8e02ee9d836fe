// Bad input to the shared-folder protocol: damaged signalling files, awkward file and folder
// names, and image paths that lead out of the shared folder. Each case must end in a result or
// a clear error, and lose no result and no user file.
import assert from 'node:assert/strict';
import {
  copyFile,
  mkdir,
  mkdtemp,
  readFile,
  readdir,
  rm,
  symlink,
  utimes,
  writeFile,
} from 'node:fs/promises';
import { existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { afterEach, beforeEach, describe, test } from 'node:test';
import type { EmulatedRealm } from '../../../core/emulated-realm/launcher';
import type { Logger } from '../../../core/log';
import { RealmClient } from '../../../core/protocol/client';
import { parseOutputLine, realmLines, type Prediction } from '../../../core/protocol/output';
import { FakeRealm, writeTinyBmp } from './fake-realm';
import { assertSampleResult, sampleImage, startRealm } from './realm-process';

const predictions: Prediction[] = [{ index: 1, label: '1:goldfish', confidence: 0.5 }];

let workDir: string;
let sharedDir: string;
let fake: FakeRealm | undefined;
let realm: EmulatedRealm | undefined;

function recordingLog(): { log: Logger; lines: string[] } {
  const lines: string[] = [];
  const add = (level: string) => (message: string) => lines.push(`${level}: ${message}`);
  return {
    log: { debug: add('debug'), info: add('info'), warn: add('warn'), error: add('error') },
    lines,
  };
}

function startFake(): FakeRealm {
  fake = new FakeRealm({
    signallingFile: path.join(sharedDir, 'signalling.txt'),
    outputFile: path.join(sharedDir, 'output.txt'),
    pollMs: 10,
    answer: () => predictions,
  });
  return fake;
}

function client(log?: Logger): RealmClient {
  return new RealmClient({ sharedDir, pollMs: 20, timeoutMs: 30_000, log });
}

/** Waits until the realm has written `processed` after a query; returns output.txt. */
async function waitForProcessed(): Promise<string> {
  const deadline = Date.now() + 30_000;
  for (;;) {
    const state = await readFile(path.join(sharedDir, 'signalling.txt'), 'utf8').catch(() => '');
    if (state === 'systemState: processed\n') {
      return readFile(path.join(sharedDir, 'output.txt'), 'utf8');
    }
    assert.ok(Date.now() < deadline, `no processed state; signalling.txt: ${state}`);
    await delay(20);
  }
}

/** Counts the result lines the realm printed after the last name line of an image. */
function resultCount(output: string, imagePath: string): number {
  const lines = output.split('\n');
  const start = lines.lastIndexOf(realmLines.inputName(imagePath));
  assert.ok(start >= 0, `no name line for ${imagePath}:\n${output}`);
  let count = 0;
  for (const line of lines.slice(start + 1)) {
    const kind = parseOutputLine(line).kind;
    if (kind === 'cycle' || kind === 'error' || kind === 'fatal') break;
    if (kind === 'result') count += 1;
  }
  return count;
}

/** Writes a query the way GuaranTEE's normal-world script does, for the emulated realm. */
async function query(imagePath: string): Promise<string> {
  await writeFile(
    path.join(sharedDir, 'signalling.txt'),
    `systemState: query\nfileName: ${imagePath}\n`,
  );
  return waitForProcessed();
}

beforeEach(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'cca-bad-input-'));
  sharedDir = path.join(workDir, 'shared');
  await mkdir(sharedDir);
});

afterEach(async () => {
  await fake?.stop();
  fake = undefined;
  await realm?.stop();
  realm = undefined;
  await rm(workDir, { recursive: true, force: true });
});

describe('signalling file bad input', () => {
  const cases: { name: string; text: string | Buffer; warning: RegExp | undefined }[] = [
    { name: 'torn state', text: 'systemState: quer', warning: /its state "quer" is not processed/ },
    { name: 'empty file', text: '', warning: /it has no systemState line/ },
    {
      name: 'unknown state',
      text: 'systemState: busy\nfileName: /x.bmp\n',
      warning: /its state "busy" is not processed, query or finished/,
    },
    {
      name: 'binary junk',
      text: Buffer.from([0, 0xff, 0xfe, 10, 13, 0x80]),
      warning: /no systemState/,
    },
    {
      name: 'CRLF processed',
      text: 'systemState: processed\r\nfileName: \r\n',
      warning: undefined,
    },
    { name: 'CRLF finished', text: 'systemState: finished\r\n', warning: undefined },
  ];
  for (const { name, text, warning } of cases) {
    test(`client starts from: ${name}`, async () => {
      const signallingFile = path.join(sharedDir, 'signalling.txt');
      await writeFile(signallingFile, text);
      const image = path.join(workDir, 'photo.bmp');
      await writeTinyBmp(image);
      startFake();
      const { log, lines } = recordingLog();

      const results = await client(log).classify([image]);
      assert.equal(results[0]?.error, null);
      assert.deepEqual(results[0]?.top5, predictions);
      const resets = lines.filter((line) => line.includes(`Resetting ${signallingFile}`));
      if (warning) {
        assert.equal(resets.length, 1, lines.join('\n'));
        assert.match(resets[0] ?? '', warning);
      } else {
        assert.deepEqual(resets, []);
      }
    });
  }

  test('client starts from: huge file', async () => {
    const junk = 'garbage that is not a signalling line\n'.repeat(400_000);
    await writeFile(path.join(sharedDir, 'signalling.txt'), junk);
    const image = path.join(workDir, 'photo.bmp');
    await writeTinyBmp(image);
    startFake();
    const { log, lines } = recordingLog();
    const results = await client(log).classify([image]);
    assert.equal(results[0]?.error, null);
    assert.ok(lines.some((line) => /Resetting .*no systemState line/.test(line)));
  });

  test('huge signalling file, small realm output', async () => {
    await writeFile(path.join(sharedDir, 'signalling.txt'), 'junk\n'.repeat(200_000));
    realm = startRealm(sharedDir);
    const outputFile = path.join(sharedDir, 'output.txt');
    const deadline = Date.now() + 30_000;
    while (!(await readFile(outputFile, 'utf8')).includes(realmLines.waitingForQuery())) {
      assert.ok(Date.now() < deadline, 'the realm never read the signalling file');
      await delay(20);
    }
    // Several reads at the realm's safety poll of one second.
    await delay(2500);
    const output = await readFile(outputFile, 'utf8');
    assert.ok(output.length < 64 * 1024, `output.txt grew to ${output.length} bytes`);
    assert.equal(realm.status(), undefined, 'the realm still runs');
  });
});

describe('awkward names', () => {
  test('spaces, quotes, newlines, non-ASCII', async () => {
    sharedDir = path.join(workDir, `shared it's "quoted" ünï 共有 $(touch pwned) ;`);
    await mkdir(sharedDir);
    const sources = ['image1.bmp', 'image2.bmp', 'image3.bmp', 'image4.bmp', 'image5.bmp'];
    const names = [
      'a photo with spaces.bmp',
      `it's "quoted".bmp`,
      'new\nline.bmp',
      'ünïcödé 照片 \u2028.bmp',
      '$(touch pwned);`id`|&.bmp',
    ];
    const images: string[] = [];
    for (const [i, name] of names.entries()) {
      const image = path.join(workDir, name);
      await copyFile(sampleImage(sources[i] ?? ''), image);
      images.push(image);
    }

    const batch = client();
    await batch.open();
    try {
      realm = startRealm(sharedDir, batch);
      const results = await batch.classify(images);
      for (const [i, result] of results.entries()) {
        assert.equal(result.image, images[i]);
        assertSampleResult(result, sources[i] ?? '');
      }
    } finally {
      await batch.close();
    }

    assert.deepEqual((await readdir(sharedDir)).sort(), ['output.txt', 'signalling.txt']);
    assert.deepEqual(
      (await readdir(workDir)).sort(),
      [...names, 'shared', path.basename(sharedDir)].sort(),
    );
    assert.equal(existsSync('pwned'), false, 'no shell ran the names');
  });

  test('shared folder path with a line break', async () => {
    sharedDir = path.join(workDir, 'two\nlines');
    await mkdir(sharedDir);
    const image = path.join(workDir, 'photo.bmp');
    await writeTinyBmp(image);
    const results = await client().classify([image, image]);
    for (const result of results) {
      assert.match(result.error ?? '', /Image path ".*two\\nlines.*" contains a line break/);
      assert.equal(result.ms, null);
    }
    assert.ok((await readFile(image)).length > 0, 'the image is untouched');
  });
});

describe('paths outside the shared folder', () => {
  test('realm rejects an outside path', async () => {
    const outside = path.join(workDir, 'outside.bmp');
    await copyFile(sampleImage('image1.bmp'), outside);
    realm = startRealm(sharedDir);

    let output = await query(outside);
    const rejected = realmLines.rejected(outside, `it is outside the shared folder ${sharedDir}`);
    assert.ok(output.includes(`${rejected}\n`), output);
    assert.ok(!output.includes(realmLines.fatalNotFound(outside)));

    // A missing file outside is rejected too, so the output reveals nothing about other folders.
    output = await query('/etc/no-such-file.bmp');
    assert.match(output, /ERROR: input file \/etc\/no-such-file\.bmp rejected: it is outside/);
    assert.equal(realm.status(), undefined, 'the realm still runs');

    const inside = path.join(sharedDir, 'inside.bmp');
    await copyFile(sampleImage('image1.bmp'), inside);
    output = await query(inside);
    assert.ok(resultCount(output, inside) > 0, output);
  });

  test('realm rejects links leading out', async () => {
    const outsideDir = path.join(workDir, 'elsewhere');
    await mkdir(outsideDir);
    await copyFile(sampleImage('image2.bmp'), path.join(outsideDir, 'secret.bmp'));
    await symlink(path.join(outsideDir, 'secret.bmp'), path.join(sharedDir, 'link.bmp'));
    await symlink(outsideDir, path.join(sharedDir, 'linked-folder'));
    await copyFile(sampleImage('image3.bmp'), path.join(sharedDir, 'real.bmp'));
    await symlink(path.join(sharedDir, 'real.bmp'), path.join(sharedDir, 'inner-link.bmp'));
    realm = startRealm(sharedDir);

    for (const name of ['link.bmp', 'linked-folder/secret.bmp', 'linked-folder/missing.bmp']) {
      const imagePath = path.join(sharedDir, name);
      const output = await query(imagePath);
      assert.ok(
        output.includes(
          `ERROR: input file ${imagePath} rejected: it leads through a symbolic link to a file ` +
            `outside the shared folder ${sharedDir}\n`,
        ),
        `${name}:\n${output}`,
      );
    }
    assert.equal(realm.status(), undefined, 'the realm still runs');

    // A link that stays inside the folder is followed.
    const inner = path.join(sharedDir, 'inner-link.bmp');
    const output = await query(inner);
    assert.ok(resultCount(output, inner) > 0, output);
  });

  test('client keeps link targets intact', async () => {
    const precious = path.join(workDir, 'precious.txt');
    await writeFile(precious, 'not the product’s');
    // Old enough that a lock file with these contents counts as left by a dead client.
    const minuteAgo = new Date(Date.now() - 60_000);
    await utimes(precious, minuteAgo, minuteAgo);
    await symlink(precious, path.join(sharedDir, 'signalling.txt'));
    await symlink(precious, path.join(sharedDir, 'cca-0badc0de-1-leftover.bmp'));
    await symlink(precious, path.join(sharedDir, '.cca-client.lock'));

    const { log, lines } = recordingLog();
    assert.deepEqual(await client(log).classify([]), []);

    assert.equal(await readFile(precious, 'utf8'), 'not the product’s');
    assert.deepEqual(await readdir(sharedDir), ['signalling.txt']);
    assert.ok(
      lines.some((line) => /Taking over .* lock .*unreadable/.test(line)),
      lines.join('\n'),
    );
    assert.equal(
      await readFile(path.join(sharedDir, 'signalling.txt'), 'utf8'),
      'systemState: finished\nfileName: \n',
    );
    assert.ok(lines.some((line) => line.includes('cca-0badc0de-1-leftover.bmp')));
  });
});
