import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { once } from 'node:events';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { dataDir, repositoryRoot, type ExpectedTop5 } from '../data';

const cli = path.join(repositoryRoot, 'out', 'cli', 'main.js');
const defaultModel = 'mobilenet_v1_0.75_192_quant.tflite';

interface ResultRecord {
  image: string;
  top5: { index: number; label: string; confidence: number }[];
  ms: number;
  error: string | null;
}

async function readExpected(data: string): Promise<ExpectedTop5> {
  const text = await readFile(path.join(data, 'expected', 'top5.json'), 'utf8');
  return JSON.parse(text) as ExpectedTop5;
}

/** Checks a results file against the expected top-5: indices in order, confidences to 1e-3. */
async function assertMatchesExpected(
  resultsFile: string,
  expected: ExpectedTop5[string],
): Promise<void> {
  const lines = (await readFile(resultsFile, 'utf8')).trim().split('\n');
  const records = lines.map((line) => JSON.parse(line) as ResultRecord);
  const names = Object.keys(expected);
  assert.ok(names.length >= 10, 'expected results cover the GuaranTEE images');
  for (const name of names) {
    const record = records.find((r) => path.basename(r.image) === name);
    assert.ok(record, `${name} is in ${resultsFile}`);
    assert.equal(record.error, null, name);
    assert.ok(record.ms > 0, name);
    const want = expected[name] ?? [];
    assert.deepEqual(
      record.top5.map((p) => p.index),
      want.map((p) => p.index),
      `${resultsFile}: ${name}`,
    );
    for (const [i, prediction] of record.top5.entries()) {
      const difference = Math.abs(prediction.confidence - (want[i]?.confidence ?? -1));
      assert.ok(difference <= 1e-3, `${name} #${i + 1} confidence off by ${difference}`);
      assert.equal(prediction.label, want[i]?.label, name);
    }
  }
}

interface Run {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runCli(args: string[], env: NodeJS.ProcessEnv, cwd: string): Promise<Run> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [cli, ...args], { cwd, env, stdio: 'pipe' });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
  });
}

let workDir: string;

before(async () => {
  workDir = await mkdtemp(path.join(os.tmpdir(), 'cca-demo-test-'));
});

after(async () => {
  await rm(workDir, { recursive: true, force: true });
});

describe('npm run demo', () => {
  test('classifies the sample images as expected', async () => {
    const data = dataDir();
    const expected = await readExpected(data);
    const out = path.join(workDir, 'results.jsonl');
    const env = { ...process.env, CCA_DATA_DIR: data };
    const run = await runCli(['demo', '--out', out], env, workDir);
    assert.equal(run.code, 0, run.stderr);

    await assertMatchesExpected(out, expected[defaultModel] ?? {});
    assert.match(run.stdout, /image1\.bmp {2}\d+ ms\n {4}1\. 0\.647\d {2}212:vizsla/);
    assert.match(run.stdout, /\d+ images, \d+ classified, 0 failed; mean \d+ ms, median \d+ ms/);
    assert.ok(run.stdout.includes(`Results: ${out}\n`), run.stdout);
  });

  test('every expected model through the protocol', async () => {
    const data = dataDir();
    const expected = await readExpected(data);
    const env = { ...process.env, CCA_DATA_DIR: data };
    const models = Object.keys(expected).filter((model) => model !== defaultModel);
    assert.ok(models.length >= 3, 'expected results cover the other models');
    for (const model of models) {
      const images = Object.keys(expected[model] ?? {}).map((name) =>
        path.join(data, 'images', name),
      );
      const out = path.join(workDir, `${model}.jsonl`);
      const modelPath = path.join(data, 'models', model);
      const run = await runCli(
        ['demo', '--model', modelPath, '--out', out, ...images],
        env,
        workDir,
      );
      assert.equal(run.code, 0, `${model}: ${run.stderr}`);
      await assertMatchesExpected(out, expected[model] ?? {});
    }
  });

  test('writes results under .cca/results by default', async () => {
    const data = dataDir();
    const cwd = await mkdtemp(path.join(workDir, 'default-'));
    const image = path.join(data, 'images', 'image.bmp');
    const run = await runCli(['demo', image], { ...process.env, CCA_DATA_DIR: data }, cwd);
    assert.equal(run.code, 0, run.stderr);
    const match = /Results: (.*\.jsonl)/.exec(run.stdout);
    assert.ok(match?.[1], run.stdout);
    assert.ok(match[1].startsWith(path.join(cwd, '.cca', 'results')), match[1]);
    assert.equal((await readFile(match[1], 'utf8')).trim().split('\n').length, 1);
  });

  test('reports a missing model and exits non-zero', async () => {
    const empty = await mkdtemp(path.join(workDir, 'empty-'));
    const run = await runCli(['demo'], { ...process.env, CCA_DATA_DIR: empty }, workDir);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /Model not found: .*mobilenet_v1_0\.75_192_quant\.tflite/);
    assert.match(run.stderr, /CCA_DATA_DIR must name a folder with models\//);
    assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace for bad input');
  });

  test('reports a data folder that does not exist', async () => {
    const missing = path.join(workDir, 'no-such-folder');
    const run = await runCli(['demo'], { ...process.env, CCA_DATA_DIR: missing }, workDir);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /CCA_DATA_DIR is set to .*no-such-folder, which does not exist/);
  });

  test('refuses to overwrite an existing results file', async () => {
    const data = dataDir();
    const out = path.join(workDir, 'mine.jsonl');
    await writeFile(out, 'my notes\n');
    const run = await runCli(
      ['demo', '--out', out],
      { ...process.env, CCA_DATA_DIR: data },
      workDir,
    );
    assert.equal(run.code, 2);
    assert.match(run.stderr, /already exists/);
    assert.equal(await readFile(out, 'utf8'), 'my notes\n');
  });

  test('rejects an unknown option', async () => {
    const run = await runCli(['demo', '--bogus'], process.env, workDir);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /Unknown option '--bogus'\. Run npm run demo -- --help/);
  });

  test('busy shared folder is left intact', async () => {
    const data = dataDir();
    const shared = await mkdtemp(path.join(workDir, 'busy-'));
    const owner = { pid: process.pid, hostname: os.hostname(), startedAt: 'earlier' };
    await writeFile(path.join(shared, '.cca-client.lock'), JSON.stringify(owner));
    await writeFile(path.join(shared, 'output.txt'), 'INFO: Loaded model /m.tflite\n');
    const out = path.join(workDir, 'busy.jsonl');
    const env = { ...process.env, CCA_DATA_DIR: data };
    const run = await runCli(['demo', '--shared', shared, '--out', out], env, workDir);

    assert.equal(run.code, 2);
    assert.match(run.stderr, /in use by process/);
    assert.doesNotMatch(run.stderr, /\n\s+at /, 'no stack trace for a busy folder');
    const output = await readFile(path.join(shared, 'output.txt'), 'utf8');
    assert.equal(output, 'INFO: Loaded model /m.tflite\n');
    await assert.rejects(readFile(out), /ENOENT/, 'no empty results file');
  });

  test('Ctrl+C keeps finished results', async () => {
    const data = dataDir();
    const images = ['image.bmp', 'image1.bmp', 'image2.bmp'].map((name) =>
      path.join(data, 'images', name),
    );
    const out = path.join(workDir, 'cancelled.jsonl');
    const args = [cli, 'demo', '--realm-poll-ms', '5000', '--out', out, ...images];
    const child = spawn(process.execPath, args, {
      cwd: workDir,
      env: { ...process.env, CCA_DATA_DIR: data },
      stdio: 'pipe',
    });
    let stdout = '';
    let interrupted = false;
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      // Interrupt once, after the first image's result is printed: a second SIGINT would
      // end the process at once, as Node.js does by default.
      if (!interrupted && /image\.bmp {2}\d+ ms/.test(stdout)) {
        interrupted = true;
        child.kill('SIGINT');
      }
    });
    const [code] = (await once(child, 'close')) as [number | null];

    assert.equal(code, 130);
    const records = (await readFile(out, 'utf8'))
      .trim()
      .split('\n')
      .map((line) => JSON.parse(line) as ResultRecord);
    assert.equal(records.length, 3);
    assert.equal(records[0]?.error, null);
    assert.equal(records[0]?.top5[0]?.index, 92);
    assert.match(records[1]?.error ?? '', /cancelled/);
    assert.match(records[2]?.error ?? '', /cancelled/);
  });

  test('reports a missing shared folder', async () => {
    const data = dataDir();
    const missing = path.join(workDir, 'no-shared');
    const env = { ...process.env, CCA_DATA_DIR: data };
    const run = await runCli(['demo', '--shared', missing], env, workDir);
    assert.equal(run.code, 2);
    assert.match(run.stderr, /Shared folder not found: .*no-shared/);
  });

  test('labels image arguments as such', async () => {
    const data = dataDir();
    const image = path.join(data, 'images', 'image2.bmp');
    const out = path.join(workDir, 'one.jsonl');
    const env = { ...process.env, CCA_DATA_DIR: data };
    const run = await runCli(['demo', '--out', out, image], env, workDir);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, /Images: 1 \(from the command line\)/);
    assert.match(run.stdout, /1 image, 1 classified, 0 failed/);
  });
});
