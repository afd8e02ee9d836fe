import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync } from 'node:fs';
import { chmod, mkdir, mkdtemp, readFile, readdir, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { after, before, describe, test } from 'node:test';
import { unifiedDiff } from '../../../core/stack/diff';
import {
  applyModifications,
  BACKUPS_FOLDER,
  undoModifications,
  type BackupManifest,
} from '../../../core/stack/modification-backups';
import {
  findStackScriptsDir,
  ModificationShapeError,
  ModificationsError,
  modificationsStatus,
  planLinuxPatchLine,
  planModifications,
  planNinePRootPath,
  previewModifications,
  quoteShareFolder,
} from '../../../core/stack/modifications';

// Script shapes written for these tests, after the layout of the reference stack's scripts.
const PATCH_LINE =
  'git apply --ignore-space-change --whitespace=warn --inaccurate-eof -v $LINUX_CMD_LINE_EXTEND_PATCH';

function buildLinux(eol = '\n', patchLine = `\t\t${PATCH_LINE}`): string {
  return [
    '#!/usr/bin/env bash',
    '',
    'do_build ()',
    '{',
    '\tpushd $LINUX_PATH',
    '\tif [ ! -f .cmdline_patched ]; then',
    patchLine,
    '\t\ttouch .cmdline_patched',
    '\tfi',
    '\tmake -j $PARALLELISM Image',
    '\tpopd',
    '}',
    '',
    'source $DIR/framework.sh $@',
    '',
  ].join(eol);
}

function runModel(eol = '\n', indent = '\t'): string {
  return [
    '#!/usr/bin/env bash',
    '# Starts the FVP with the stack binaries.',
    '"$MODEL" \\',
    `${indent}-C bp.secure_memory=1 \\`,
    `${indent}-C cluster0.has_rme=1 \\`,
    `${indent}-C gic_distributor.extended-spi-count=992 \\`,
    `${indent}-C bp.terminal_0.start_telnet=0 \\`,
    `${indent}-C bp.pl011_uart0.out_file=uart0.log`,
    '',
  ].join(eol);
}

const ORIGINAL_BUILDROOT =
  '#!/usr/bin/env bash\ndo_build () { make; }\nsource $DIR/framework.sh $@\n';

async function writeStack(
  root: string,
  files: { linux?: string; model?: string; buildroot?: string } = {},
): Promise<void> {
  await mkdir(path.join(root, 'build-scripts'), { recursive: true });
  await mkdir(path.join(root, 'model-scripts', 'aemfvp-a-rme'), { recursive: true });
  const write = async (relative: string, text: string, mode: number): Promise<void> => {
    const file = path.join(root, relative);
    await writeFile(file, text);
    await chmod(file, mode);
  };
  await write('build-scripts/framework.sh', '# framework\n', 0o644);
  await write('build-scripts/build-buildroot.sh', files.buildroot ?? ORIGINAL_BUILDROOT, 0o755);
  await write('build-scripts/build-linux.sh', files.linux ?? buildLinux(), 0o750);
  await write('model-scripts/aemfvp-a-rme/run_model.sh', files.model ?? runModel(), 0o755);
}

const RELATIVE = [
  'build-scripts/build-buildroot.sh',
  'build-scripts/build-linux.sh',
  'model-scripts/aemfvp-a-rme/run_model.sh',
];

async function snapshot(root: string): Promise<Map<string, Buffer>> {
  const result = new Map<string, Buffer>();
  for (const relative of RELATIVE) {
    result.set(relative, await readFile(path.join(root, relative)));
  }
  return result;
}

function sha256(data: Buffer): string {
  return createHash('sha256').update(data).digest('hex');
}

let workFolder: string;
let caseNumber = 0;
let shareDir: string;

before(async () => {
  workFolder = await mkdtemp(path.join(os.tmpdir(), 'cca-modifications-test-'));
  shareDir = path.join(workFolder, 'share');
  await mkdir(shareDir);
  await mkdir(path.join(workFolder, 'first'));
  await mkdir(path.join(workFolder, 'second'));
});

after(async () => {
  await rm(workFolder, { recursive: true, force: true });
});

async function newStack(files?: Parameters<typeof writeStack>[1]): Promise<string> {
  caseNumber += 1;
  const root = path.join(workFolder, `stack-${caseNumber}`);
  await writeStack(root, files);
  return root;
}

describe('planLinuxPatchLine', () => {
  test('removes only the patch line', () => {
    const plan = planLinuxPatchLine(buildLinux());
    assert.equal(plan.changed, true);
    assert.equal(plan.next, buildLinux().replace(`\t\t${PATCH_LINE}\n`, ''));
    assert.match(plan.description, /line 7/);
  });

  test('keeps CRLF line ends', () => {
    const current = buildLinux('\r\n');
    const plan = planLinuxPatchLine(current);
    assert.equal(plan.next, current.replace(`\t\t${PATCH_LINE}\r\n`, ''));
    assert.equal(plan.next.split('\r\n').length, current.split('\r\n').length - 1);
    assert.doesNotMatch(plan.next.replace(/\r\n/g, ''), /\n/);
  });

  test('matches with other spacing', () => {
    const spaced =
      '    git  apply\t--ignore-space-change --whitespace=warn  --inaccurate-eof -v "${LINUX_CMD_LINE_EXTEND_PATCH}"  ';
    const plan = planLinuxPatchLine(buildLinux('\n', spaced));
    assert.equal(plan.changed, true);
    assert.doesNotMatch(plan.next, /LINUX_CMD_LINE_EXTEND_PATCH/);
  });

  test('second run plans nothing', () => {
    const once = planLinuxPatchLine(buildLinux('\r\n')).next;
    const twice = planLinuxPatchLine(once);
    assert.equal(twice.changed, false);
    assert.equal(twice.next, once);
  });

  test('last line without line end', () => {
    const current = `echo start\n${PATCH_LINE}`;
    assert.equal(planLinuxPatchLine(current).next, 'echo start');
  });

  test('ignores a commented-out line', () => {
    const current = buildLinux('\n', `\t\t# ${PATCH_LINE}`);
    assert.equal(planLinuxPatchLine(current).changed, false);
  });

  test('rejects several matching lines', () => {
    const current = `${PATCH_LINE}\necho\n${PATCH_LINE}\n`;
    assert.throws(
      () => planLinuxPatchLine(current),
      (error: unknown) =>
        error instanceof ModificationShapeError &&
        error.file === 'build-scripts/build-linux.sh' &&
        /found 2 \(lines 1, 3\)/.test(error.message),
    );
  });

  test('rejects an unknown form of the line', () => {
    const current = buildLinux('\n', '\t\tgit apply -v $LINUX_CMD_LINE_EXTEND_PATCH || true');
    assert.throws(() => planLinuxPatchLine(current), /line 7 applies .* in an unknown form/);
  });
});

describe('planNinePRootPath', () => {
  test('inserts after the anchor line', () => {
    const plan = planNinePRootPath(runModel(), '/srv/share');
    const lines = plan.next.split('\n');
    assert.equal(lines[5], '\t-C gic_distributor.extended-spi-count=992 \\');
    assert.equal(lines[6], '\t-C bp.virtiop9device.root_path=/srv/share \\');
    assert.equal(lines.length, runModel().split('\n').length + 1);
    assert.equal(
      plan.next.replace('\t-C bp.virtiop9device.root_path=/srv/share \\\n', ''),
      runModel(),
    );
  });

  test('uses the anchor indentation and CRLF', () => {
    const current = runModel('\r\n', '    ');
    const plan = planNinePRootPath(current, '/srv/share');
    assert.ok(plan.next.includes('    -C bp.virtiop9device.root_path=/srv/share \\\r\n'));
    assert.doesNotMatch(plan.next.replace(/\r\n/g, ''), /\n/);
  });

  test('second run plans nothing', () => {
    const once = planNinePRootPath(runModel('\r\n'), '/srv/my share/').next;
    const twice = planNinePRootPath(once, '/srv/my share');
    assert.equal(twice.changed, false);
    assert.match(twice.description, /already shares \/srv\/my share/);
  });

  test('replaces another folder', () => {
    const once = planNinePRootPath(runModel(), '/srv/old').next;
    const plan = planNinePRootPath(once, '/srv/new');
    assert.equal(plan.changed, true);
    assert.equal(plan.next, once.replace('root_path=/srv/old', 'root_path=/srv/new'));
    assert.match(plan.description, /Replace .*shares \/srv\/old now, and will share \/srv\/new/);
  });

  test('reads a quoted existing value', () => {
    const current = runModel().replace(
      'start_telnet=0 \\',
      'start_telnet=0 \\\n\t-C "bp.virtiop9device.root_path=/srv/a b" \\',
    );
    assert.equal(planNinePRootPath(current, '/srv/a b').changed, false);
    const plan = planNinePRootPath(current, '/srv/c');
    assert.ok(plan.next.includes('\t-C bp.virtiop9device.root_path=/srv/c \\\n'));
  });

  test('quotes a folder with a space and a quote', () => {
    assert.equal(quoteShareFolder('/srv/my share').word, "'/srv/my share'");
    assert.equal(quoteShareFolder("/srv/it's").word, "'/srv/it'\\''s'");
    assert.equal(quoteShareFolder('/srv/plain/').word, '/srv/plain');
  });

  test('rejects unsafe folders', () => {
    assert.throws(() => planNinePRootPath(runModel(), '/srv/a\nb'), /control character/);
    assert.throws(() => planNinePRootPath(runModel(), 'share'), /not an absolute path/);
    assert.throws(() => planNinePRootPath(runModel(), '~/share'), /expand ~ first/);
  });

  test('rejects a missing anchor', () => {
    const current = runModel().replace(/.*extended-spi-count.*\n/, '');
    assert.throws(
      () => planNinePRootPath(current, '/srv/share'),
      (error: unknown) =>
        error instanceof ModificationShapeError &&
        error.file === 'model-scripts/aemfvp-a-rme/run_model.sh' &&
        /found none/.test(error.message),
    );
  });

  test('rejects two anchors', () => {
    const current = runModel().replace(
      '-C bp.secure_memory=1',
      '-C gic_distributor.extended-spi-count=1',
    );
    assert.throws(() => planNinePRootPath(current, '/srv/share'), /found 2/);
  });

  test('rejects an anchor ending the command', () => {
    const current = '"$MODEL" \\\n\t-C gic_distributor.extended-spi-count=992\n';
    assert.throws(() => planNinePRootPath(current, '/srv/share'), /continue the FVP command/);
  });

  test('rejects two root_path lines', () => {
    const current = runModel().replace(
      'start_telnet=0 \\',
      'start_telnet=0 \\\n\t-C bp.virtiop9device.root_path=/a \\\n\t-C bp.virtiop9device.root_path=/b \\',
    );
    assert.throws(() => planNinePRootPath(current, '/srv/share'), /at most one .* found 2/);
  });

  test('bash passes the folder as one argument', async () => {
    const folder = path.join(workFolder, "with space and it's");
    const script = path.join(workFolder, 'run_model_quoting.sh');
    await writeFile(script, planNinePRootPath(runModel(), folder).next);
    const printer = path.join(workFolder, 'print-arguments.sh');
    await writeFile(printer, '#!/bin/sh\nprintf "%s\\0" "$@"\n', { mode: 0o755 });

    const output = execFileSync('bash', [script], { env: { ...process.env, MODEL: printer } });
    const argv = output.toString('utf8').split('\0').slice(0, -1);
    const index = argv.indexOf(`bp.virtiop9device.root_path=${folder}`);
    assert.ok(index > 0, `root_path argument not found in ${JSON.stringify(argv)}`);
    assert.equal(argv[index - 1], '-C');
    assert.equal(argv.at(-1), 'bp.pl011_uart0.out_file=uart0.log');
  });
});

describe('planModifications and applyModifications', () => {
  test('applies, keeps modes and backs up', async () => {
    const root = await newStack();
    const originals = await snapshot(root);
    const plans = await planModifications(root, { shareDir });
    assert.deepEqual(
      plans.map((plan) => plan.changed),
      [true, true, true],
    );

    const result = await applyModifications(root, plans, new Date('2024-05-01T10:00:00.000Z'));
    assert.deepEqual(result.files, RELATIVE);
    assert.ok(result.backupFolder?.endsWith(path.join(BACKUPS_FOLDER, '2024-05-01T10-00-00-000Z')));

    const projectScript = await readFile(path.join(findStackScriptsDir(), 'build-buildroot.sh'));
    assert.ok((await readFile(path.join(root, RELATIVE[0]))).equals(projectScript));
    assert.doesNotMatch(await readFile(path.join(root, RELATIVE[1]), 'utf8'), /LINUX_CMD_LINE/);
    assert.match(await readFile(path.join(root, RELATIVE[2]), 'utf8'), /root_path=/);
    assert.equal((await stat(path.join(root, RELATIVE[0]))).mode & 0o777, 0o755);
    assert.equal((await stat(path.join(root, RELATIVE[1]))).mode & 0o777, 0o750);

    const backup = result.backupFolder ?? '';
    const manifest = JSON.parse(
      await readFile(path.join(backup, 'manifest.json'), 'utf8'),
    ) as BackupManifest;
    for (const entry of manifest.files) {
      const original = originals.get(entry.path) ?? Buffer.alloc(0);
      assert.ok((await readFile(path.join(backup, entry.path))).equals(original));
      assert.equal(entry.sha256Before, sha256(original));
      assert.equal(entry.sha256After, sha256(await readFile(path.join(root, entry.path))));
    }
  });

  test('second run plans and writes nothing', async () => {
    const root = await newStack({ linux: buildLinux('\r\n'), model: runModel('\r\n') });
    await applyModifications(root, await planModifications(root, { shareDir }));
    const plans = await planModifications(root, { shareDir });
    assert.deepEqual(
      plans.map((plan) => plan.changed),
      [false, false, false],
    );
    assert.equal(previewModifications(plans), '');
    const result = await applyModifications(root, plans);
    assert.deepEqual(result.files, []);
    assert.equal((await readdir(path.join(root, BACKUPS_FOLDER))).length, 1);
  });

  test('unexpected shape writes nothing', async () => {
    const root = await newStack({ model: runModel().replace(/.*extended-spi-count.*\n/, '') });
    const originals = await snapshot(root);
    await assert.rejects(
      planModifications(root, { shareDir }),
      (error: unknown) =>
        error instanceof ModificationsError &&
        error.problems.length === 1 &&
        error.problems[0].file === 'model-scripts/aemfvp-a-rme/run_model.sh' &&
        /nothing was changed/.test(error.message),
    );
    assert.deepEqual(await snapshot(root), originals);
    assert.equal(existsSync(path.join(root, '.cca')), false);
  });

  test('missing file is named', async () => {
    const root = await newStack();
    await rm(path.join(root, 'build-scripts', 'build-linux.sh'));
    await assert.rejects(
      planModifications(root, { shareDir }),
      /build-scripts\/build-linux\.sh: expected the file at .*, found none/,
    );
  });

  test('missing share folder is named', async () => {
    const root = await newStack();
    const missing = path.join(workFolder, 'no-such-share');
    await assert.rejects(
      planModifications(root, { shareDir: missing }),
      new RegExp(`run_model\\.sh: the share folder ${missing} does not exist`),
    );
    await assert.rejects(planModifications(root, { shareDir: '' }), /No share folder is set/);
  });

  test('lists every problem at once', async () => {
    const root = await newStack({
      linux: `${PATCH_LINE}\n${PATCH_LINE}\n`,
      model: 'echo no fvp here\n',
    });
    await assert.rejects(
      planModifications(root, { shareDir }),
      (error: unknown) => error instanceof ModificationsError && error.problems.length === 2,
    );
  });

  test('rejects a file changed since the preview', async () => {
    const root = await newStack();
    const plans = await planModifications(root, { shareDir });
    await writeFile(path.join(root, RELATIVE[1]), buildLinux() + '# edited\n');
    const originals = await snapshot(root);
    await assert.rejects(
      applyModifications(root, plans),
      /build-linux\.sh changed since the preview/,
    );
    assert.deepEqual(await snapshot(root), originals);
    assert.equal(existsSync(path.join(root, BACKUPS_FOLDER)), false);
  });

  test('preview is a diff patch accepts', async () => {
    const root = await newStack();
    const plans = await planModifications(root, { shareDir });
    const preview = previewModifications(plans);
    assert.match(preview, /^--- a\/build-scripts\/build-buildroot\.sh$/m);
    assert.ok(preview.includes(`\n+\t-C bp.virtiop9device.root_path=${shareDir} \\\n`));
    assert.match(preview, /^-\t\tgit apply /m);

    const copy = path.join(workFolder, `patched-${caseNumber}`);
    await mkdir(copy);
    for (const relative of RELATIVE) {
      await mkdir(path.dirname(path.join(copy, relative)), { recursive: true });
      await writeFile(path.join(copy, relative), await readFile(path.join(root, relative)));
    }
    execFileSync('patch', ['-s', '-p1', '-d', copy], { input: preview });
    for (const plan of plans) {
      assert.equal(await readFile(path.join(copy, plan.file), 'utf8'), plan.next);
    }
  });
});

describe('undoModifications', () => {
  test('restores byte-identical originals', async () => {
    const root = await newStack({ linux: buildLinux('\r\n'), model: runModel('\r\n', '  ') });
    const originals = await snapshot(root);
    await applyModifications(root, await planModifications(root, { shareDir }));
    const result = await undoModifications(root);
    assert.deepEqual(result.files, RELATIVE);
    assert.deepEqual(await snapshot(root), originals);
    assert.equal((await stat(path.join(root, RELATIVE[1]))).mode & 0o777, 0o750);

    const manifest = JSON.parse(
      await readFile(path.join(result.backupFolder ?? '', 'manifest.json'), 'utf8'),
    ) as BackupManifest;
    assert.equal(typeof manifest.undoneAt, 'string');
    await assert.rejects(undoModifications(root), /No modifications to undo/);
  });

  test('undoes the newest backup first', async () => {
    const root = await newStack();
    const originals = await snapshot(root);
    await applyModifications(
      root,
      await planModifications(root, { shareDir: path.join(workFolder, 'first') }),
      new Date('2024-05-01T10:00:00.000Z'),
    );
    const afterFirst = await snapshot(root);
    await applyModifications(
      root,
      await planModifications(root, { shareDir: path.join(workFolder, 'second') }),
      new Date('2024-05-01T11:00:00.000Z'),
    );
    assert.deepEqual((await undoModifications(root)).files, [RELATIVE[2]]);
    assert.deepEqual(await snapshot(root), afterFirst);
    await undoModifications(root);
    assert.deepEqual(await snapshot(root), originals);
  });

  test('rejects undo after a user edit', async () => {
    const root = await newStack();
    await applyModifications(root, await planModifications(root, { shareDir }));
    const runModelFile = path.join(root, RELATIVE[2]);
    await writeFile(runModelFile, (await readFile(runModelFile, 'utf8')) + '# user edit\n');
    const before = await snapshot(root);
    await assert.rejects(
      undoModifications(root),
      /run_model\.sh was changed after CCA Realm Studio modified it/,
    );
    assert.deepEqual(await snapshot(root), before);
  });

  test('rejects a damaged backup', async () => {
    const root = await newStack();
    const result = await applyModifications(root, await planModifications(root, { shareDir }));
    await writeFile(path.join(result.backupFolder ?? '', RELATIVE[1]), 'damaged\n');
    await assert.rejects(
      undoModifications(root),
      /backup of build-scripts\/build-linux\.sh .* damaged/,
    );
  });
});

describe('modificationsStatus', () => {
  test('before and after applying', async () => {
    const root = await newStack();
    const states = async (share: string | undefined): Promise<string[]> =>
      (await modificationsStatus(root, share)).map((status) => status.state);
    assert.deepEqual(await states(shareDir), ['not-applied', 'not-applied', 'not-applied']);
    assert.deepEqual(await states(undefined), ['not-applied', 'not-applied', 'not-applied']);
    assert.deepEqual(await states(''), ['not-applied', 'not-applied', 'not-applied']);

    await applyModifications(root, await planModifications(root, { shareDir }));
    assert.deepEqual(await states(shareDir), ['applied', 'applied', 'applied']);
    assert.deepEqual(await states(undefined), ['applied', 'applied', 'applied']);
    assert.deepEqual(await states('/srv/other'), ['applied', 'applied', 'not-applied']);
  });

  test('unexpected shapes', async () => {
    const root = await newStack({ linux: `${PATCH_LINE}\n${PATCH_LINE}\n` });
    await rm(path.join(root, RELATIVE[2]));
    const statuses = await modificationsStatus(root, shareDir);
    assert.deepEqual(
      statuses.map((status) => status.state),
      ['not-applied', 'unexpected', 'unexpected'],
    );
    assert.match(statuses[2].detail, /run_model\.sh: expected the file/);
  });
});

describe('unifiedDiff', () => {
  test('matches diff -u for a small change', async () => {
    const oldText = ['a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', ''].join('\n');
    const newText = ['a', 'B', 'c', 'd', 'e', 'f', 'g', 'h', 'i', 'j', 'k', 'l', ''].join('\n');
    const oldFile = path.join(workFolder, 'diff-old.txt');
    const newFile = path.join(workFolder, 'diff-new.txt');
    await writeFile(oldFile, oldText);
    await writeFile(newFile, newText);
    let expected = '';
    try {
      execFileSync('diff', ['-u', oldFile, newFile]);
    } catch (error) {
      expected = (error as { stdout: Buffer }).stdout.toString('utf8');
    }
    const actual = unifiedDiff(oldText, newText, { oldLabel: 'old', newLabel: 'new' });
    assert.equal(actual.split('\n').slice(2).join('\n'), expected.split('\n').slice(2).join('\n'));
  });

  test('marks a missing final line end', () => {
    const diff = unifiedDiff('a\nb', 'a\nb\n', { oldLabel: 'x', newLabel: 'y' });
    assert.equal(diff, '--- x\n+++ y\n@@ -1,2 +1,2 @@\n a\n-b\n\\ No newline at end of file\n+b\n');
  });

  test('equal texts give nothing', () => {
    assert.equal(unifiedDiff('same\n', 'same\n', { oldLabel: 'x', newLabel: 'y' }), '');
  });
});
