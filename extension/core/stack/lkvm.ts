// Realm profiles (the options of `lkvm run --realm`) and the command line built from one.
// lkvm-output.ts recognises what lkvm and the realm print on the normal-world console.

import { CONTROL_CHARACTER, parseShellWords, renderShellLine } from './shell-words';

export * from './lkvm-output';

/** The interrupt controllers that kvmtool's arm64 `--irqchip` option accepts. */
export const IRQCHIPS = ['gicv2', 'gicv2m', 'gicv3', 'gicv3-its'] as const;

/** An interrupt controller for `--irqchip`. */
export type Irqchip = (typeof IRQCHIPS)[number];

/** A named set of `lkvm run --realm` options. Paths are paths inside the normal world. */
export interface RealmProfile {
  /** The name shown in profile lists. */
  name: string;
  /** Virtual CPUs (`-c`). */
  cpus: number;
  /** Realm memory in MiB (`-m`). */
  memoryMb: number;
  /** The realm kernel image (`-k`). */
  kernel: string;
  /** An initrd with the realm's root file system (`-i`); exclusive with `disk`. */
  initrd?: string;
  /** A disk image with the realm's root file system (`-d`); exclusive with `initrd`. */
  disk?: string;
  /** A normal-world folder shared into the realm over 9p (`--9p <folder>,<tag>`). */
  ninePFolder?: string;
  /** The 9p mount tag the realm mounts the folder by. */
  ninePTag?: string;
  /** The interrupt controller (`--irqchip=`). */
  irqchip: Irqchip;
  /** Whether the realm may use SVE; off adds `--disable-sve`. */
  sve: boolean;
  /** Further lkvm arguments, one argv element each, placed after the others. */
  extraArguments: string[];
}

/** The options of the realm command in GuaranTEE's guide, as a profile. */
export const DEFAULT_REALM_PROFILE: Readonly<RealmProfile> = Object.freeze({
  name: 'default',
  cpus: 1,
  memoryMb: 300,
  kernel: '/realm/Image',
  initrd: '/realm/realm-fs.cpio',
  ninePFolder: '/root/shared_with_realm',
  ninePTag: 'sh',
  irqchip: 'gicv3',
  sve: false,
  extraArguments: Object.freeze([]) as unknown as string[],
});

/** One problem found in a realm profile. */
export interface RealmProfileProblem {
  /** The profile field, or `profile` for the whole value. */
  field: keyof RealmProfile | 'profile';
  message: string;
}

/** A realm profile that cannot be used, with every problem found in it. */
export class RealmProfileError extends Error {
  constructor(
    readonly profileName: string,
    readonly problems: readonly RealmProfileProblem[],
  ) {
    super(
      `Realm profile "${profileName}" is invalid: ` +
        problems.map((problem) => `${problem.field}: ${problem.message}`).join('; '),
    );
    this.name = 'RealmProfileError';
  }
}

// Options the profile's own fields set; repeating them in extraArguments would override them.
const FIELD_OPTIONS: Record<string, keyof RealmProfile> = {
  '--realm': 'extraArguments',
  '-c': 'cpus',
  '--cpus': 'cpus',
  '-m': 'memoryMb',
  '--mem': 'memoryMb',
  '-k': 'kernel',
  '--kernel': 'kernel',
  '-i': 'initrd',
  '--initrd': 'initrd',
  '--irqchip': 'irqchip',
  '--disable-sve': 'sve',
};

const NINE_P_TAG = /^[A-Za-z0-9_.-]+$/;

/** Lists the problems of a profile; an empty list means buildLkvmArgv accepts it. */
export function realmProfileProblems(profile: RealmProfile): RealmProfileProblem[] {
  const problems: RealmProfileProblem[] = [];
  const add = (field: RealmProfileProblem['field'], message: string): void => {
    problems.push({ field, message });
  };

  if (profile.name.trim() === '') add('name', 'the name is empty.');
  if (CONTROL_CHARACTER.test(profile.name)) add('name', 'the name contains a control character.');
  if (!Number.isSafeInteger(profile.cpus) || profile.cpus < 1) {
    add('cpus', `${String(profile.cpus)} is not a whole number of CPUs of at least 1.`);
  }
  if (!Number.isSafeInteger(profile.memoryMb) || profile.memoryMb < 1) {
    add('memoryMb', `${String(profile.memoryMb)} is not a whole number of MiB of at least 1.`);
  }

  checkGuestPath(profile.kernel, 'kernel', add, true);
  if (profile.initrd !== undefined && profile.disk !== undefined) {
    add('disk', 'set either initrd or disk for the root file system, not both.');
  } else if (profile.initrd === undefined && profile.disk === undefined) {
    add(
      'initrd',
      'set initrd (for example /realm/realm-fs.cpio) or disk for the root file system.',
    );
  }
  checkGuestPath(profile.initrd, 'initrd', add, false);
  checkGuestPath(profile.disk, 'disk', add, false);

  if ((profile.ninePFolder === undefined) !== (profile.ninePTag === undefined)) {
    add('ninePTag', 'set both the 9p folder and its tag, or neither.');
  }
  checkGuestPath(profile.ninePFolder, 'ninePFolder', add, false);
  if (profile.ninePFolder?.includes(',')) {
    add('ninePFolder', 'lkvm splits --9p at the comma, so the folder cannot contain one.');
  }
  if (profile.ninePTag !== undefined && !NINE_P_TAG.test(profile.ninePTag)) {
    add('ninePTag', `"${profile.ninePTag}" is not a tag of letters, digits, "_", "." or "-".`);
  }

  if (!(IRQCHIPS as readonly string[]).includes(profile.irqchip)) {
    add('irqchip', `"${String(profile.irqchip)}" is not one of ${IRQCHIPS.join(', ')}.`);
  }
  checkExtraArguments(profile.extraArguments, add);
  return problems;
}

function checkGuestPath(
  value: string | undefined,
  field: keyof RealmProfile,
  add: (field: keyof RealmProfile, message: string) => void,
  required: boolean,
): void {
  if (value === undefined) {
    if (required) add(field, 'the path is missing.');
    return;
  }
  if (!value.startsWith('/')) {
    add(field, `"${value}" is not an absolute path in the normal world (it must start with /).`);
  }
  if (CONTROL_CHARACTER.test(value)) add(field, `"${value}" contains a control character.`);
}

function checkExtraArguments(
  extra: readonly string[],
  add: (field: keyof RealmProfile, message: string) => void,
): void {
  for (const argument of extra) {
    if (CONTROL_CHARACTER.test(argument)) {
      add('extraArguments', `${JSON.stringify(argument)} contains a control character.`);
    }
    const option = argument.split('=')[0];
    const field = FIELD_OPTIONS[option];
    if (field === 'extraArguments') {
      add('extraArguments', `${option} is always passed; remove it from the extra arguments.`);
    } else if (field !== undefined) {
      add('extraArguments', `set ${option} with the profile's ${field} field instead.`);
    }
  }
}

/**
 * Reads a realm profile from a settings value: missing fields take DEFAULT_REALM_PROFILE's
 * values (except that a profile with `disk` and no `initrd` gets no default initrd), and
 * `extraArguments` may be an array or one line split as a shell would. Throws a
 * RealmProfileError with every problem found.
 */
export function parseRealmProfile(value: unknown): RealmProfile {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    throw new RealmProfileError('(unnamed)', [
      { field: 'profile', message: 'a realm profile must be an object of lkvm options.' },
    ]);
  }
  const raw = value as Record<string, unknown>;
  const name = typeof raw.name === 'string' ? raw.name : DEFAULT_REALM_PROFILE.name;
  const problems: RealmProfileProblem[] = [];

  const text = (field: keyof RealmProfile, fallback: string | undefined): string | undefined => {
    const item = raw[field];
    if (item === undefined || item === null) return fallback;
    if (typeof item === 'string') return item;
    problems.push({ field, message: `expected a string, found ${JSON.stringify(item)}.` });
    return fallback;
  };
  const number = (field: keyof RealmProfile, fallback: number): number => {
    const item = raw[field];
    if (item === undefined || item === null) return fallback;
    if (typeof item === 'number') return item;
    if (typeof item === 'string' && /^\d+$/.test(item.trim())) return Number(item.trim());
    problems.push({ field, message: `expected a number, found ${JSON.stringify(item)}.` });
    return fallback;
  };

  const hasDisk = typeof raw.disk === 'string';
  const profile: RealmProfile = {
    name,
    cpus: number('cpus', DEFAULT_REALM_PROFILE.cpus),
    memoryMb: number('memoryMb', DEFAULT_REALM_PROFILE.memoryMb),
    kernel: text('kernel', DEFAULT_REALM_PROFILE.kernel) ?? DEFAULT_REALM_PROFILE.kernel,
    initrd: text('initrd', hasDisk ? undefined : DEFAULT_REALM_PROFILE.initrd),
    disk: text('disk', undefined),
    ninePFolder: text('ninePFolder', DEFAULT_REALM_PROFILE.ninePFolder),
    ninePTag: text('ninePTag', DEFAULT_REALM_PROFILE.ninePTag),
    irqchip: (text('irqchip', DEFAULT_REALM_PROFILE.irqchip) ?? 'gicv3') as Irqchip,
    sve: DEFAULT_REALM_PROFILE.sve,
    extraArguments: [],
  };
  if (profile.initrd === '') profile.initrd = undefined;
  if (profile.disk === '') profile.disk = undefined;
  if (profile.ninePFolder === '' && (profile.ninePTag === '' || raw.ninePTag === undefined)) {
    profile.ninePFolder = undefined;
    profile.ninePTag = undefined;
  }

  if (raw.sve !== undefined && raw.sve !== null) {
    if (typeof raw.sve === 'boolean') profile.sve = raw.sve;
    else
      problems.push({
        field: 'sve',
        message: `expected true or false, found ${JSON.stringify(raw.sve)}.`,
      });
  }

  const extra = raw.extraArguments;
  if (typeof extra === 'string') {
    try {
      profile.extraArguments = parseShellWords(extra);
    } catch (error) {
      problems.push({ field: 'extraArguments', message: (error as Error).message });
    }
  } else if (Array.isArray(extra) && extra.every((item) => typeof item === 'string')) {
    profile.extraArguments = [...extra];
  } else if (extra !== undefined && extra !== null) {
    problems.push({
      field: 'extraArguments',
      message: 'expected a list of arguments or one line of arguments.',
    });
  }

  problems.push(...realmProfileProblems(profile));
  if (problems.length > 0) throw new RealmProfileError(name, problems);
  for (const field of ['initrd', 'disk', 'ninePFolder', 'ninePTag'] as const) {
    if (profile[field] === undefined) delete profile[field];
  }
  return profile;
}

/**
 * Builds the argv of `lkvm run --realm` for a profile, in the order of GuaranTEE's guide.
 * Throws a RealmProfileError when the profile has problems.
 */
export function buildLkvmArgv(profile: RealmProfile, lkvm = 'lkvm'): string[] {
  const problems = realmProfileProblems(profile);
  if (problems.length > 0) throw new RealmProfileError(profile.name, problems);

  const argv = [lkvm, 'run', '--realm', '-c', String(profile.cpus), '-m', String(profile.memoryMb)];
  argv.push('-k', profile.kernel);
  if (profile.initrd !== undefined) argv.push('-i', profile.initrd);
  if (profile.disk !== undefined) argv.push('-d', profile.disk);
  if (profile.ninePFolder !== undefined && profile.ninePTag !== undefined) {
    argv.push('--9p', `${profile.ninePFolder},${profile.ninePTag}`);
  }
  argv.push(`--irqchip=${profile.irqchip}`);
  if (!profile.sve) argv.push('--disable-sve');
  argv.push(...profile.extraArguments);
  return argv;
}

/**
 * Renders the lines to type into the normal world's busybox ash to start a realm: `mkdir -p`
 * of the 9p folder, which lkvm requires to exist, then the lkvm command.
 */
export function renderRealmLaunchLines(profile: RealmProfile, lkvm = 'lkvm'): string[] {
  const command = renderLkvmCommand(profile, lkvm);
  if (profile.ninePFolder === undefined) return [command];
  return [renderShellLine(['mkdir', '-p', profile.ninePFolder]), command];
}

/** Renders a profile's lkvm command as a line to type into the normal world's busybox ash. */
export function renderLkvmCommand(profile: RealmProfile, lkvm = 'lkvm'): string {
  return renderShellLine(buildLkvmArgv(profile, lkvm));
}
