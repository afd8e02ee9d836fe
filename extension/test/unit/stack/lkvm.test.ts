import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { describe, test } from 'node:test';
import {
  buildLkvmArgv,
  DEFAULT_REALM_PROFILE,
  parseRealmProfile,
  RealmProfileError,
  realmProfileProblems,
  recogniseLkvmLine,
  recogniseLkvmOutput,
  renderLkvmCommand,
  renderRealmLaunchLines,
  summariseLkvmOutput,
  type RealmProfile,
} from '../../../core/stack/lkvm';
import { parseShellWords, renderShellLine } from '../../../core/stack/shell-words';

const GUIDE_COMMAND =
  'lkvm run --realm -c 1 -m 300 -k /realm/Image -i /realm/realm-fs.cpio ' +
  '--9p /root/shared_with_realm,sh --irqchip=gicv3 --disable-sve';

function profile(changes: Partial<RealmProfile>): RealmProfile {
  return { ...DEFAULT_REALM_PROFILE, extraArguments: [], ...changes };
}

// Shells that stand in for the normal world's busybox ash: dash, bash and busybox itself.
const SHELLS: string[][] = [['sh'], ['bash']];
if (existsSync('/usr/bin/busybox') || existsSync('/bin/busybox')) SHELLS.push(['busybox', 'sh']);

/** Runs a rendered line in a real shell, with lkvm defined to print its argv. */
function argvSeenByShell(shell: string[], line: string): string[] {
  const script = `lkvm() { printf '%s\\0' lkvm "$@"; }\n${line}\n`;
  const output = execFileSync(shell[0], [...shell.slice(1), '-c', script]);
  return output.toString('utf8').split('\0').slice(0, -1);
}

describe('buildLkvmArgv', () => {
  test('default profile is the guide command', () => {
    assert.equal(renderLkvmCommand(DEFAULT_REALM_PROFILE), GUIDE_COMMAND);
    assert.deepEqual(buildLkvmArgv(DEFAULT_REALM_PROFILE), GUIDE_COMMAND.split(' '));
  });

  test('disk, SVE on, no share, extra arguments', () => {
    const argv = buildLkvmArgv(
      profile({
        cpus: 2,
        memoryMb: 512,
        initrd: undefined,
        disk: '/realm/realm-fs.ext4',
        ninePFolder: undefined,
        ninePTag: undefined,
        irqchip: 'gicv3-its',
        sve: true,
        extraArguments: ['--console', 'virtio', '-p', 'earlycon loglevel=8'],
      }),
    );
    assert.deepEqual(argv, [
      'lkvm',
      'run',
      '--realm',
      '-c',
      '2',
      '-m',
      '512',
      '-k',
      '/realm/Image',
      '-d',
      '/realm/realm-fs.ext4',
      '--irqchip=gicv3-its',
      '--console',
      'virtio',
      '-p',
      'earlycon loglevel=8',
    ]);
  });

  test('launch lines create the 9p folder', () => {
    assert.deepEqual(renderRealmLaunchLines(DEFAULT_REALM_PROFILE), [
      'mkdir -p /root/shared_with_realm',
      GUIDE_COMMAND,
    ]);
    const noShare = profile({ ninePFolder: undefined, ninePTag: undefined });
    assert.equal(renderRealmLaunchLines(noShare).length, 1);
  });

  test('rejects an invalid profile', () => {
    assert.throws(
      () => buildLkvmArgv(profile({ cpus: 0 })),
      (error: unknown) =>
        error instanceof RealmProfileError &&
        error.problems.length === 1 &&
        error.problems[0].field === 'cpus',
    );
  });
});

describe('realmProfileProblems', () => {
  const cases: [string, Partial<RealmProfile>, RegExp][] = [
    ['cpus fraction', { cpus: 1.5 }, /^cpus: 1\.5 is not a whole number/],
    ['memory zero', { memoryMb: 0 }, /^memoryMb: 0 is not/],
    ['relative kernel', { kernel: 'Image' }, /^kernel: "Image" is not an absolute path/],
    ['initrd and disk', { disk: '/realm/realm-fs.ext4' }, /^disk: set either initrd or disk/],
    ['no root file system', { initrd: undefined }, /^initrd: set initrd/],
    ['folder without tag', { ninePTag: undefined }, /^ninePTag: set both/],
    ['comma in folder', { ninePFolder: '/root/a,b' }, /^ninePFolder: lkvm splits --9p/],
    ['space in tag', { ninePTag: 's h' }, /^ninePTag: "s h" is not a tag/],
    ['unknown irqchip', { irqchip: 'gicv4' as never }, /^irqchip: "gicv4" is not one of/],
    ['memory in extras', { extraArguments: ['-m', '512'] }, /memoryMb field instead/],
    ['irqchip in extras', { extraArguments: ['--irqchip=gicv2'] }, /irqchip field instead/],
    ['realm in extras', { extraArguments: ['--realm'] }, /always passed/],
    ['newline in extras', { extraArguments: ['a\nb'] }, /control character/],
    ['empty name', { name: ' ' }, /^name: the name is empty/],
  ];
  for (const [name, changes, pattern] of cases) {
    test(name, () => {
      const problems = realmProfileProblems(profile(changes));
      assert.equal(problems.length, 1, JSON.stringify(problems));
      assert.match(`${problems[0].field}: ${problems[0].message}`, pattern);
    });
  }

  test('default profile has none', () => {
    assert.deepEqual(realmProfileProblems(DEFAULT_REALM_PROFILE), []);
  });
});

describe('parseRealmProfile', () => {
  test('fills missing fields from the defaults', () => {
    const parsed = parseRealmProfile({ name: 'big', memoryMb: 1024, cpus: '2' });
    assert.deepEqual(parsed, profile({ name: 'big', memoryMb: 1024, cpus: 2 }));
  });

  test('disk without initrd gets no default initrd', () => {
    const parsed = parseRealmProfile({ name: 'disk', disk: '/realm/realm-fs.ext4' });
    assert.equal(parsed.initrd, undefined);
    assert.equal(parsed.disk, '/realm/realm-fs.ext4');
  });

  test('splits an extra arguments line', () => {
    const parsed = parseRealmProfile({ extraArguments: `--console virtio -p 'console=hvc0 x'` });
    assert.deepEqual(parsed.extraArguments, ['--console', 'virtio', '-p', 'console=hvc0 x']);
  });

  test('empty 9p fields mean no share', () => {
    const parsed = parseRealmProfile({ ninePFolder: '', ninePTag: '' });
    assert.equal(parsed.ninePFolder, undefined);
    assert.ok(!buildLkvmArgv(parsed).includes('--9p'));
  });

  test('lists every problem', () => {
    assert.throws(
      () => parseRealmProfile({ name: 'bad', cpus: 'many', sve: 'yes', extraArguments: '$HOME' }),
      (error: unknown) =>
        error instanceof RealmProfileError &&
        error.profileName === 'bad' &&
        error.problems.map((problem) => problem.field).join() === 'cpus,sve,extraArguments',
    );
  });

  test('rejects a value that is no object', () => {
    assert.throws(() => parseRealmProfile('lkvm run'), /must be an object/);
  });
});

describe('shell quoting', () => {
  const awkward = [
    '/root/my share',
    "/root/it's",
    '/root/$HOME',
    '/root/`id`',
    '/root/back\\slash',
    '/root/*',
    '"quoted"',
    '',
    'ünïcode',
    '~',
    '--opt=a b;c&d|e',
  ];

  for (const shell of SHELLS) {
    test(`round trip through ${shell.join(' ')}`, () => {
      const argv = buildLkvmArgv(profile({ extraArguments: awkward, kernel: "/realm/Im age's" }));
      const line = renderShellLine(argv);
      assert.doesNotMatch(line, /\n/);
      assert.deepEqual(argvSeenByShell(shell, line), argv);
    });
  }

  test('parseShellWords inverts renderShellLine', () => {
    const argv = ['lkvm', ...awkward];
    assert.deepEqual(parseShellWords(renderShellLine(argv)), argv);
  });

  test('renderShellLine rejects a newline', () => {
    assert.throws(() => renderShellLine(['echo', 'a\nb']), /control character U\+000a/);
  });

  test('parseShellWords handles double quotes', () => {
    assert.deepEqual(parseShellWords('a "b c" "d\\"e" f\\ g'), ['a', 'b c', 'd"e', 'f g']);
  });

  test('parseShellWords rejects expansions and operators', () => {
    assert.throws(() => parseShellWords('a $B'), /Expansion "\$" at column 3/);
    assert.throws(() => parseShellWords('a "$B"'), /Expansion/);
    assert.throws(() => parseShellWords('a; b'), /Shell operator ";"/);
    assert.throws(() => parseShellWords("a 'b"), /Unterminated single quote/);
    assert.throws(() => parseShellWords('~/x'), /Tilde/);
  });
});

describe('recogniseLkvmLine', () => {
  test('unknown option realm, both quote styles', () => {
    for (const line of ["  Error: unknown option `realm'", "  Error: unknown option 'realm'"]) {
      const event = recogniseLkvmLine(line);
      assert.equal(event?.kind, 'unknown-option-realm');
      assert.equal(event.option, '--realm');
      assert.match(event.message, /without the Arm CCA patches/);
    }
  });

  test('other unknown option and switch', () => {
    assert.equal(recogniseLkvmLine("  Error: unknown option `foo'")?.option, '--foo');
    assert.equal(recogniseLkvmLine("  Error: unknown switch `Z'")?.option, '-Z');
  });

  test('KVM missing', () => {
    const line =
      "  Error: '/dev/kvm' not found. Please make sure your kernel has CONFIG_KVM enabled";
    assert.equal(recogniseLkvmLine(line)?.kind, 'kvm-missing');
    assert.equal(recogniseLkvmLine('  Fatal: Could not open /dev/kvm: ')?.kind, 'kvm-missing');
  });

  test('out of memory', () => {
    for (const line of [
      '  Fatal: Failed to map 314572800 bytes for guest memory (12)',
      'Out of memory: Killed process 230 (lkvm) total-vm:400000kB',
      '  Fatal: mmap: Cannot allocate memory',
    ]) {
      assert.equal(recogniseLkvmLine(line)?.kind, 'out-of-memory', line);
    }
  });

  test('kernel and initrd not found', () => {
    const kernel = recogniseLkvmLine('  Fatal: Unable to open kernel /realm/Imagex');
    assert.equal(kernel?.kind, 'file-not-found');
    assert.equal(kernel.fileRole, 'kernel');
    assert.equal(kernel.path, '/realm/Imagex');
    const initrd = recogniseLkvmLine('  Fatal: Unable to open initrd /realm/missing.cpio');
    assert.equal(initrd?.fileRole, 'initrd');
    assert.equal(initrd.path, '/realm/missing.cpio');
  });

  test('disk and 9p folder not found', () => {
    const disk = recogniseLkvmLine("  Error: Loading disk image '/realm/missing.ext4' failed");
    assert.equal(disk?.kind, 'file-not-found');
    assert.equal(disk.fileRole, 'disk');
    assert.equal(disk.path, '/realm/missing.ext4');
    const share = recogniseLkvmLine('  Fatal: Failed resolving 9p path');
    assert.equal(share?.fileRole, 'ninep-folder');
  });

  test('kernel module line is no missing file', () => {
    assert.equal(recogniseLkvmLine('modprobe: module kernel-extra not found'), undefined);
  });

  test('lkvm not on PATH', () => {
    assert.equal(recogniseLkvmLine('-sh: lkvm: not found')?.kind, 'lkvm-not-found');
  });

  test('start line gives the guest name', () => {
    const event = recogniseLkvmLine('  # lkvm run -k /realm/Image -m 300 -c 1 --name guest-187');
    assert.equal(event?.kind, 'started');
    assert.equal(event.guestName, 'guest-187');
    const newer = recogniseLkvmLine(
      '  Info: # lkvm run -k /realm/Image -m 300 -c 1 --name guest-9',
    );
    assert.equal(newer?.guestName, 'guest-9');
  });

  test('login prompt through escapes', () => {
    const event = recogniseLkvmLine('\u001b[0mbuildroot login: \r');
    assert.equal(event?.kind, 'login-prompt');
    assert.equal(event.line, 'buildroot login:');
  });

  test('kernel panic and other lkvm errors', () => {
    assert.equal(
      recogniseLkvmLine('Kernel panic - not syncing: VFS: Unable to mount root fs')?.kind,
      'kernel-panic',
    );
    const other = recogniseLkvmLine('  Fatal: KVM_CREATE_VM ioctl: Invalid argument');
    assert.equal(other?.kind, 'lkvm-error');
    assert.match(other.message, /KVM_CREATE_VM ioctl/);
  });

  test('ordinary lines are not recognised', () => {
    assert.equal(recogniseLkvmLine('Welcome to Buildroot'), undefined);
    assert.equal(recogniseLkvmLine('[    0.000000] Booting Linux on physical CPU 0x0'), undefined);
  });
});

describe('summariseLkvmOutput', () => {
  test('boot to login', () => {
    const text = [
      '# lkvm run --realm -c 1 -m 300 -k /realm/Image',
      '  # lkvm run -k /realm/Image -m 300 -c 1 --name guest-152',
      '[    0.000000] Booting Linux on physical CPU 0x0000000000 [0x410fd0f0]',
      'Welcome to Buildroot',
      'buildroot login: ',
    ].join('\r\n');
    const summary = summariseLkvmOutput(text);
    assert.equal(summary.outcome, 'login');
    assert.equal(summary.guestName, 'guest-152');
    assert.deepEqual(
      summary.events.map((event) => [event.kind, event.lineIndex]),
      [
        ['started', 1],
        ['login-prompt', 4],
      ],
    );
  });

  test('failed launch', () => {
    const text = "# lkvm run --realm\n  Error: unknown option `realm'\n\n usage: lkvm run\n";
    const summary = summariseLkvmOutput(text);
    assert.equal(summary.outcome, 'failed');
    assert.equal(summary.error?.kind, 'unknown-option-realm');
    assert.equal(summary.error.lineIndex, 1);
  });

  test('started, not yet booted', () => {
    const summary = summariseLkvmOutput('  # lkvm run -k /realm/Image --name guest-9\n');
    assert.equal(summary.outcome, 'started');
  });

  test('nothing yet', () => {
    assert.equal(summariseLkvmOutput('').outcome, 'unknown');
    assert.deepEqual(recogniseLkvmOutput('plain\ntext'), []);
  });
});
