import { readFileSync, statSync } from 'node:fs';
import * as vscode from 'vscode';
import {
  DEFAULT_REALM_PROFILE,
  IRQCHIPS,
  parseRealmProfile,
  realmProfileProblems,
  renderRealmLaunchLines,
  type RealmProfile,
} from '../../core/stack/lkvm';
import { summariseLkvmOutput, type LkvmLaunchSummary } from '../../core/stack/lkvm-output';
import {
  buildInferenceServiceLines,
  summariseInferenceStart,
  type InferenceServiceOptions,
} from '../../core/stack/inference-service';
import { quoteShellWord, renderShellLine } from '../../core/stack/shell-words';
import type { ConsoleManager } from '../consoles/manager';
import { readConsoleSettings } from '../consoles/settings';
import { stackSection } from './settings';

/** The console that carries the normal world's shell, where lkvm runs the realm. */
export const hostConsole = 'terminal_0';

/** A realm that the product started, as the Realms view lists it. */
export interface RealmEntry {
  profile: string;
  /** The guest name lkvm printed, such as `guest-123`. */
  guestName: string | undefined;
  console: string;
  startedAt: string;
  state: 'booting' | 'running' | 'stopped' | 'failed';
  detail?: string;
}

/** Reads the realm profiles setting; an invalid entry is reported and left out. */
export function readRealmProfiles(log: vscode.LogOutputChannel): RealmProfile[] {
  const raw = vscode.workspace.getConfiguration(stackSection).get<unknown[]>('realmProfiles', []);
  const profiles: RealmProfile[] = [];
  for (const entry of raw) {
    try {
      profiles.push(parseRealmProfile(entry));
    } catch (error) {
      log.warn(`Realm profile left out: ${error instanceof Error ? error.message : String(error)}`);
    }
  }
  return profiles;
}

/**
 * Lets the user pick a saved realm profile, or make a new one from the guide's options with
 * quick inputs and save it. Returns undefined when the user cancels.
 */
export async function pickRealmProfile(
  log: vscode.LogOutputChannel,
): Promise<RealmProfile | undefined> {
  const profiles = readRealmProfiles(log);
  const items: (vscode.QuickPickItem & { profile?: RealmProfile })[] = profiles.map((profile) => ({
    label: profile.name,
    description: `${profile.cpus} CPU, ${profile.memoryMb} MiB, ${profile.initrd ?? profile.disk ?? ''}`,
    profile,
  }));
  items.push({ label: '$(add) New realm profile…' });
  const picked = await vscode.window.showQuickPick(items, {
    title: 'Create a realm',
    placeHolder: 'A realm profile: the options of lkvm run --realm',
  });
  if (!picked) return undefined;
  return picked.profile ?? (await newRealmProfile(profiles));
}

async function newRealmProfile(existing: RealmProfile[]): Promise<RealmProfile | undefined> {
  const defaults = DEFAULT_REALM_PROFILE;
  const ask = (prompt: string, value: string, validate?: (text: string) => string | undefined) =>
    vscode.window.showInputBox({
      title: 'New realm profile',
      prompt,
      value,
      validateInput: validate,
    });
  const whole = (min: number) => (text: string) =>
    /^\d+$/.test(text) && Number(text) >= min
      ? undefined
      : `Enter a whole number of ${min} or more`;

  const name = await ask('Profile name', `realm-${existing.length + 1}`, (text) =>
    text.trim() === ''
      ? 'Enter a name'
      : existing.some((profile) => profile.name === text.trim())
        ? 'A profile with this name exists'
        : undefined,
  );
  if (name === undefined) return undefined;
  const cpus = await ask('Virtual CPUs (-c)', String(defaults.cpus), whole(1));
  if (cpus === undefined) return undefined;
  const memory = await ask('Memory in MiB (-m)', String(defaults.memoryMb), whole(32));
  if (memory === undefined) return undefined;
  const kernel = await ask('Realm kernel in the normal world (-k)', defaults.kernel);
  if (kernel === undefined) return undefined;
  const initrd = await ask('Realm initrd (-i)', defaults.initrd ?? '');
  if (initrd === undefined) return undefined;
  const share = await ask(
    '9p folder and tag (--9p folder,tag); empty for none',
    `${defaults.ninePFolder ?? ''},${defaults.ninePTag ?? ''}`,
    (text) => (text === '' || /^[^,]+,[^,]+$/.test(text) ? undefined : 'Enter folder,tag'),
  );
  if (share === undefined) return undefined;
  const irqchip = await vscode.window.showQuickPick([...IRQCHIPS], {
    title: 'New realm profile',
    placeHolder: `Interrupt controller (--irqchip), default ${defaults.irqchip}`,
  });
  if (irqchip === undefined) return undefined;
  const sve = await vscode.window.showQuickPick(['SVE off (--disable-sve)', 'SVE on'], {
    title: 'New realm profile',
  });
  if (sve === undefined) return undefined;
  const extra = await ask('Extra lkvm arguments (optional)', '');
  if (extra === undefined) return undefined;

  const [ninePFolder, ninePTag] = share === '' ? [undefined, undefined] : share.split(',');
  const profile = parseRealmProfile({
    name: name.trim(),
    cpus: Number(cpus),
    memoryMb: Number(memory),
    kernel,
    initrd: initrd === '' ? undefined : initrd,
    ninePFolder,
    ninePTag,
    irqchip,
    sve: sve === 'SVE on',
    extraArguments: extra,
  });
  const config = vscode.workspace.getConfiguration(stackSection);
  const saved = config.get<unknown[]>('realmProfiles', []);
  await config.update('realmProfiles', [...saved, profile], vscode.ConfigurationTarget.Workspace);
  return profile;
}

/** Explains a failed realm start in a sentence with the fix. */
export function explainLaunchFailure(summary: LkvmLaunchSummary): string {
  return summary.error?.message ?? 'lkvm stopped before the realm reached its login prompt.';
}

/**
 * Types the profile's `lkvm run --realm` command into the normal world's console, and waits
 * until the realm shows its login prompt (then logs in) or lkvm reports an error.
 */
export async function launchRealm(
  consoles: ConsoleManager,
  profile: RealmProfile,
  timeoutMs: number,
): Promise<LkvmLaunchSummary> {
  const problems = realmProfileProblems(profile);
  if (problems.length > 0) {
    throw new Error(`Realm profile ${profile.name}: ${problems.map((p) => p.message).join('; ')}`);
  }
  const user = readConsoleSettings().user;
  await consoles.ensureShell(hostConsole, user, 120_000);
  const summary = await typeAndWatch(
    consoles,
    [...normalWorldShareLines(profile), ...renderRealmLaunchLines(profile)],
    summariseLkvmOutput,
    (result) => result.outcome === 'login' || result.outcome === 'failed',
    timeoutMs,
  );
  if (summary.outcome === 'login') await consoles.ensureShell(hostConsole, user, 60_000);
  return summary;
}

// The 9p tag of the FVP's virtio-9p device (bp.virtiop9device), which exports root_path.
const fvpShareTag = 'FM';

/**
 * Returns the lines that mount the FVP's 9p share (the host's share folder) in the normal world
 * at the folder lkvm passes on to the realm, unless a 9p file system is mounted there already.
 */
export function normalWorldShareLines(profile: RealmProfile): string[] {
  const folder = profile.ninePFolder;
  if (folder === undefined) return [];
  const quoted = quoteShellWord(folder);
  return [
    `mkdir -p ${quoted}`,
    `grep -qsF ${quoteShellWord(` ${mountTablePath(folder)} 9p `)} /proc/mounts || mount -t 9p ${fvpShareTag} ${quoted}`,
  ];
}

/** Writes a path as /proc/mounts does: space, tab, newline and backslash as octal escapes. */
export function mountTablePath(folder: string): string {
  return folder.replace(/[ \t\n\\]/g, (c) => `\\${c.charCodeAt(0).toString(8).padStart(3, '0')}`);
}

/**
 * Starts realm_inference in the realm's shell and waits for it to load the model or fail. The
 * service writes to output.txt in the share, so `hostOutputFile` (the same file in the host's
 * share folder) is read along with the console.
 */
export async function startInferenceService(
  consoles: ConsoleManager,
  options: InferenceServiceOptions,
  timeoutMs: number,
  hostOutputFile?: string,
): Promise<ReturnType<typeof summariseInferenceStart>> {
  // The start line truncates output.txt; reading starts at its size now, or 0 once it shrank.
  let offset = hostOutputFile
    ? (statSync(hostOutputFile, { throwIfNoEntry: false })?.size ?? 0)
    : 0;
  let fileText = '';
  const readHostOutput = (): string => {
    if (!hostOutputFile) return '';
    try {
      const size = statSync(hostOutputFile).size;
      if (size < offset) offset = 0;
      fileText = readFileSync(hostOutputFile, 'utf8').slice(offset);
    } catch {
      // Not there yet: the service creates it.
    }
    return fileText;
  };
  return typeAndWatch(
    consoles,
    buildInferenceServiceLines(options),
    (consoleText) => summariseInferenceStart(`${consoleText}\n${readHostOutput()}`),
    (result) => result.outcome !== 'starting',
    timeoutMs,
  );
}

/** How the realm's service script (realm/cca-inference-service.sh) ended. */
export interface ServiceScriptResult {
  outcome: 'started' | 'already running' | 'failed' | 'pending';
  pid?: number;
  imageCount?: number;
  /** The script's status line, or the shell's error. */
  message?: string;
}

/** Reads the service script's status line (its last line) from console output. */
export function parseServiceScriptOutput(text: string, script: string): ServiceScriptResult {
  const ok = /^cca-inference-service: (started|already running) pid (\d+) with -N (\d+).*$/m.exec(
    text,
  );
  if (ok) {
    return {
      outcome: ok[1] === 'started' ? 'started' : 'already running',
      pid: Number(ok[2]),
      imageCount: Number(ok[3]),
      message: ok[0].trim(),
    };
  }
  const error = /^cca-inference-service: error: (.*)$/m.exec(text);
  if (error) return { outcome: 'failed', message: error[1]?.trim() };
  // busybox ash: "sh: can't open '/x.sh': No such file or directory".
  const missing = /^sh: can't open '([^']*)'/m.exec(text);
  if (missing?.[1] === script) {
    return {
      outcome: 'failed',
      message:
        `${script} is not in the realm: put realm/cca-inference-service.sh of CCA Realm Studio ` +
        'in the realm overlay and rebuild, or set ccaRealmStudio.stack.serviceScript.',
    };
  }
  return { outcome: 'pending' };
}

/**
 * Runs the realm's service script in the realm's shell: it mounts the share, checks the model
 * and labels, and starts (or keeps) realm_inference for `imageCount` images.
 */
export async function runServiceScript(
  consoles: ConsoleManager,
  options: {
    script: string;
    imageCount: number;
    model: string;
    labels: string;
    shareDir: string;
    tag: string;
  },
  timeoutMs: number,
): Promise<ServiceScriptResult> {
  const line = renderShellLine([
    'sh',
    options.script,
    '-n',
    String(options.imageCount),
    '-m',
    options.model,
    '-l',
    options.labels,
    '-d',
    options.shareDir,
    '-t',
    options.tag,
  ]);
  // The share is mounted first, so that a script kept in the share (instead of in the realm's
  // root file system) is found; the script skips a share that is mounted.
  const dir = quoteShellWord(options.shareDir);
  const mount = [
    `mkdir -p ${dir}`,
    `grep -qsF ${quoteShellWord(` ${mountTablePath(options.shareDir)} 9p `)} /proc/mounts || ` +
      `mount -t 9p -o trans=virtio ${quoteShellWord(options.tag)} ${dir}`,
  ];
  return typeAndWatch(
    consoles,
    [...mount, line],
    (text) => parseServiceScriptOutput(text, options.script),
    (result) => result.outcome !== 'pending',
    timeoutMs,
  );
}

/** Powers off the realm from its shell and waits for lkvm to return to the normal world. */
export async function powerOffRealm(consoles: ConsoleManager, timeoutMs: number): Promise<void> {
  consoles.sendLine(hostConsole, 'poweroff');
  await consoles.waitFor(
    hostConsole,
    /KVM session ended|reboot: Power down|# *$/m,
    timeoutMs,
    false,
  );
}

/**
 * Sends lines to the host console and summarises what it prints after them, until `done`
 * holds for the summary or the time runs out (then the last summary is returned).
 */
async function typeAndWatch<T>(
  consoles: ConsoleManager,
  lines: string[],
  summarise: (text: string) => T,
  done: (summary: T) => boolean,
  timeoutMs: number,
): Promise<T> {
  const managed = consoles.get(hostConsole);
  if (!managed) throw new Error(`Console ${hostConsole} is not open; boot the FVP first`);
  let text = '';
  let attached = false;
  let finish!: (summary: T) => void;
  const finished = new Promise<T>((resolve) => (finish = resolve));
  // Whole lines only, so that a line cut between two chunks is not read half; a prompt, which
  // has no line end, counts at once.
  const readable = (): string => {
    const end = text.lastIndexOf('\n') + 1;
    return /(?:login|[Pp]assword): *$/.test(text.slice(end)) ? text : text.slice(0, end);
  };
  const subscription = managed.attach((chunk) => {
    // attach() replays the kept output first; only what follows the command counts.
    if (!attached) return;
    text += chunk;
    const summary = summarise(readable());
    if (done(summary)) finish(summary);
  });
  attached = true;
  for (const line of lines) consoles.sendLine(hostConsole, line);
  const timer = setTimeout(() => finish(summarise(readable())), timeoutMs);
  // Output that does not reach the console (a file) is summarised without a console event.
  const poll = setInterval(() => {
    const summary = summarise(readable());
    if (done(summary)) finish(summary);
  }, 500);
  try {
    return await finished;
  } finally {
    clearTimeout(timer);
    clearInterval(poll);
    subscription.dispose();
  }
}
