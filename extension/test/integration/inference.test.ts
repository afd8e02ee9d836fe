/// <reference types="mocha" />
import assert from 'node:assert/strict';
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { readFile } from 'node:fs/promises';
import path from 'node:path';
import * as vscode from 'vscode';

// The outcome a classify command returns (see extension/vscode/inference/batch.ts).
type Outcome =
  | {
      kind: 'done';
      resultsFile: string;
      results: {
        image: string;
        top5: { index: number; confidence: number }[];
        error: string | null;
      }[];
      cancelled: boolean;
    }
  | { kind: 'rejected'; message: string };

type Expected = Record<string, Record<string, { index: number; confidence: number }[]>>;

const section = 'ccaRealmStudio.inference';

function workspaceFolder(): string {
  const folder = vscode.workspace.workspaceFolders?.[0]?.uri.fsPath;
  assert.ok(folder, 'the test workspace is open');
  return folder;
}

function sampleImages(): vscode.Uri[] {
  const folder = path.join(workspaceFolder(), 'images');
  return readdirSync(folder)
    .filter((name) => /^image\d*\.bmp$/.test(name))
    .sort()
    .map((name) => vscode.Uri.file(path.join(folder, name)));
}

/** Reads the expected top-5 of the model setting's model, which sits in `<data>/models/`. */
function expectedForModel(): { model: string; expected: Expected[string] } {
  const model = vscode.workspace.getConfiguration(section).get<string>('model', '');
  const dataDir = path.dirname(path.dirname(model));
  const expected = JSON.parse(
    readFileSync(path.join(dataDir, 'expected', 'top5.json'), 'utf8'),
  ) as Expected;
  return { model, expected: expected[path.basename(model)] ?? {} };
}

/** Process ids of emulated realms started by this extension host. */
function realmChildren(): number[] {
  const pids: number[] = [];
  for (const entry of readdirSync('/proc')) {
    if (!/^\d+$/.test(entry)) continue;
    try {
      const status = readFileSync(`/proc/${entry}/status`, 'utf8');
      const parent = /^PPid:\s+(\d+)/m.exec(status)?.[1];
      const command = readFileSync(`/proc/${entry}/cmdline`, 'utf8');
      if (Number(parent) === process.pid && command.includes('emulated-realm.js')) {
        pids.push(Number(entry));
      }
    } catch {
      // The process ended while being read.
    }
  }
  return pids;
}

async function waitFor(condition: () => boolean, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!condition()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

function classify(uris: vscode.Uri[]): Thenable<Outcome | undefined> {
  return vscode.commands.executeCommand<Outcome | undefined>(
    'ccaRealmStudio.classifyInRealm',
    uris[0],
    uris,
  );
}

describe('Classify in Realm', function (this: Mocha.Suite) {
  this.timeout(120_000);

  it('classifies the sample images as expected', async () => {
    const { expected } = expectedForModel();
    const outcome = await classify(sampleImages());
    assert.ok(outcome?.kind === 'done', JSON.stringify(outcome));
    assert.equal(outcome.cancelled, false);
    assert.ok(outcome.resultsFile.startsWith(path.join(workspaceFolder(), '.cca', 'results')));

    const lines = (await readFile(outcome.resultsFile, 'utf8')).trim().split('\n');
    assert.equal(lines.length, 10);
    for (const line of lines) {
      const record = JSON.parse(line) as Extract<Outcome, { kind: 'done' }>['results'][number];
      const want = expected[path.basename(record.image)];
      assert.ok(want, `expected results for ${record.image}`);
      assert.equal(record.error, null);
      assert.deepEqual(
        record.top5.map((p) => p.index),
        want.map((p) => p.index),
        record.image,
      );
      for (const [i, p] of record.top5.entries()) {
        assert.ok(Math.abs(p.confidence - (want[i]?.confidence ?? -1)) <= 1e-3, record.image);
      }
    }
    const thumbnails = path.join(
      workspaceFolder(),
      '.cca',
      'thumbnails',
      path.basename(outcome.resultsFile, '.jsonl'),
    );
    assert.equal(readdirSync(thumbnails).length, 10, 'a thumbnail per image');
  });

  it('classifies every image in a folder', async () => {
    const folder = vscode.Uri.file(path.join(workspaceFolder(), 'images'));
    const images = readdirSync(folder.fsPath).filter((name) => /\.(bmp|png|jpe?g)$/i.test(name));
    const outcome = await classify([folder]);
    assert.ok(outcome?.kind === 'done', JSON.stringify(outcome));
    assert.equal(outcome.results.length, images.length);
    assert.deepEqual(
      outcome.results.filter((r) => r.error !== null),
      [],
    );
  });

  it('skips files that are not images', async () => {
    const settingsFile = vscode.Uri.file(path.join(workspaceFolder(), '.vscode', 'settings.json'));
    const [image] = sampleImages();
    assert.ok(image);
    const outcome = await classify([image, settingsFile]);
    assert.ok(outcome?.kind === 'done', JSON.stringify(outcome));
    assert.deepEqual(
      outcome.results.map((r) => path.basename(r.image)),
      [path.basename(image.fsPath)],
    );
  });

  it('opens the results view', async () => {
    await vscode.commands.executeCommand('ccaRealmStudio.showResults');
    const labels = vscode.window.tabGroups.all.flatMap((group) => group.tabs.map((t) => t.label));
    assert.ok(labels.includes('Realm Results'), labels.join(', '));
  });

  it('stops the realm process after the run', async () => {
    assert.deepEqual(realmChildren(), [], 'no realm before the run');
    const running = classify(sampleImages());
    let seen: number[] = [];
    await waitFor(
      () => {
        seen = realmChildren();
        return seen.length > 0;
      },
      20_000,
      'the realm process to start',
    );
    const outcome = await running;
    assert.equal(outcome?.kind, 'done');
    assert.equal(seen.length, 1);
    assert.deepEqual(realmChildren(), [], 'the realm process is gone');
    assert.equal(existsSync(`/proc/${seen[0]}`), false);
  });

  it('cancel keeps the finished results', async () => {
    // Five copies of the ten images make the batch long enough to cancel part way.
    const images = Array.from({ length: 5 }, () => sampleImages()).flat();
    const running = classify(images);
    const resultsFolder = path.join(workspaceFolder(), '.cca', 'results');
    const before = new Set(readdirSync(resultsFolder));
    await waitFor(
      () => readdirSync(resultsFolder).some((name) => !before.has(name)),
      20_000,
      'the first result',
    );
    await vscode.commands.executeCommand('ccaRealmStudio.cancelClassification');
    const outcome = await running;

    assert.ok(outcome?.kind === 'done', JSON.stringify(outcome));
    assert.equal(outcome.cancelled, true);
    const finished = outcome.results.filter((r) => r.error === null);
    const cancelled = outcome.results.filter((r) => /cancelled/.test(r.error ?? ''));
    assert.ok(finished.length >= 1, 'at least one image finished');
    assert.ok(cancelled.length >= 1, 'the rest were cancelled');
    assert.equal(finished.length + cancelled.length, images.length);
    const saved = (await readFile(outcome.resultsFile, 'utf8')).trim().split('\n');
    assert.equal(saved.length, images.length, 'every image has a line in the results file');
    assert.deepEqual(realmChildren(), []);
  });

  it('reports a missing model', async () => {
    const config = vscode.workspace.getConfiguration(section);
    const previous = config.get<string>('model');
    const missing = path.join(workspaceFolder(), 'no-such-model.tflite');
    await config.update('model', missing, vscode.ConfigurationTarget.Workspace);
    try {
      const outcome = await classify(sampleImages().slice(0, 1));
      assert.ok(outcome?.kind === 'rejected', JSON.stringify(outcome));
      assert.match(outcome.message, /Model not found: .*no-such-model\.tflite/);
      assert.match(outcome.message, /ccaRealmStudio\.inference\.model/);
    } finally {
      await config.update('model', previous, vscode.ConfigurationTarget.Workspace);
    }
  });
});
