// Processes seen through /proc, and the record file of a step's process group with its ids and
// start time. A reloaded window reads the record to tell whether the step still runs and to
// stop it, and the start time keeps a PID that a new process reused from passing as the step's.

import fs from 'node:fs';
import path from 'node:path';
import { silentLogger, type Logger } from '../log';
import { formatCommandLine } from './commands';

/** Fields of /proc/<pid>/stat. */
export interface ProcessInfo {
  pid: number;
  pgid: number;
  /** The start time in clock ticks after boot; a reused PID has another. */
  startTicks: number;
  /** `Z` for a zombie, which counts as gone. */
  state: string;
}

/** Reads /proc/<pid>/stat, or returns undefined when the process does not exist. */
export function readProcessInfo(pid: number): ProcessInfo | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
  } catch {
    return undefined;
  }
  // The command name (field 2) is in parentheses and may hold spaces and parentheses itself.
  const fields = text.slice(text.lastIndexOf(')') + 2).split(' ');
  return { pid, state: fields[0], pgid: Number(fields[2]), startTicks: Number(fields[19]) };
}

/** Returns a process's command line as its arguments, or undefined when it is gone. */
export function readCommandLine(pid: number): string[] | undefined {
  try {
    const text = fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8');
    return text.split('\0').filter((arg, i, all) => arg !== '' || i < all.length - 1);
  } catch {
    return undefined;
  }
}

/** Returns the live (not zombie) processes of process group `pgid`. */
export function processGroupMembers(pgid: number): ProcessInfo[] {
  const members: ProcessInfo[] = [];
  for (const name of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(name)) continue;
    const info = readProcessInfo(Number(name));
    if (info && info.pgid === pgid && info.state !== 'Z') members.push(info);
  }
  return members;
}

/** The file that records a running step's process group, JSON. */
export interface ProcessRecord {
  /** The process the product started, also the group's id (it is the group leader). */
  pid: number;
  pgid: number;
  /** The leader's start time in clock ticks after boot, to tell a reused PID apart. */
  startTicks: number;
  argv: string[];
  cwd: string;
  /** When the process started, ISO 8601. */
  startedAt: string;
  logFile?: string;
  /**
   * A text that the command line of the step's main process contains, such as the FVP's
   * binary name. The step counts as running while a process of the group matches it.
   */
  match?: string;
}

/** Reads a process record, or returns undefined when there is none or it is not one. */
export function readProcessRecord(file: string): ProcessRecord | undefined {
  let value: unknown;
  try {
    value = JSON.parse(fs.readFileSync(file, 'utf8'));
  } catch {
    return undefined;
  }
  const record = value as Partial<ProcessRecord>;
  if (typeof record.pid !== 'number' || typeof record.pgid !== 'number') return undefined;
  if (typeof record.startTicks !== 'number' || !Array.isArray(record.argv)) return undefined;
  return record as ProcessRecord;
}

/**
 * Returns the live processes that belong to a record: the leader, when its PID still has the
 * recorded start time, and the group's members whose command line contains `record.match`
 * and that started after the leader. A PID or group id that a new process reused matches
 * neither.
 */
export function liveRecordProcesses(record: ProcessRecord): ProcessInfo[] {
  const live: ProcessInfo[] = [];
  for (const member of processGroupMembers(record.pgid)) {
    if (member.pid === record.pid) {
      if (member.startTicks === record.startTicks) live.push(member);
      continue;
    }
    if (!record.match || member.startTicks < record.startTicks) continue;
    const argv = readCommandLine(member.pid);
    if (argv?.join(' ').includes(record.match)) live.push(member);
  }
  return live;
}

/** Returns the group's process whose command line contains `record.match`, such as the FVP. */
export function findMatchingProcess(record: ProcessRecord): number | undefined {
  if (!record.match) return undefined;
  const match = record.match;
  return liveRecordProcesses(record).find(
    (info) => readCommandLine(info.pid)?.join(' ').includes(match) ?? false,
  )?.pid;
}

/** Returns true while a record's process or its matching group member runs. */
export function isRecordAlive(record: ProcessRecord): boolean {
  return liveRecordProcesses(record).length > 0;
}

export function writeRecord(file: string, record: ProcessRecord): void {
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const temporary = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(temporary, `${JSON.stringify(record, null, 2)}\n`);
  fs.renameSync(temporary, file);
}

export function removeRecord(file: string, pid: number): void {
  if (readProcessRecord(file)?.pid === pid) fs.rmSync(file, { force: true });
}

const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

export function signalGroup(pgid: number, signal: NodeJS.Signals): void {
  try {
    process.kill(-pgid, signal);
  } catch {
    // The group has no processes left.
  }
}

export async function waitForGroupExit(pgid: number, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (processGroupMembers(pgid).length > 0) {
    if (Date.now() >= deadline) return false;
    await sleep(50);
  }
  return true;
}

/**
 * Stops the process group of a record that another window or an earlier extension host
 * started: SIGTERM, then SIGKILL after `graceMs`. Does nothing when the record's processes are
 * gone, so a group id that a new process reused is never signalled. Removes the record file.
 */
export async function stopRecordedProcess(
  file: string,
  options: { graceMs?: number; logger?: Logger } = {},
): Promise<void> {
  const log = options.logger ?? silentLogger;
  const record = readProcessRecord(file);
  if (!record) return;
  if (isRecordAlive(record)) {
    log.info(`Stopping process group ${record.pgid} (${formatCommandLine(record.argv)})`);
    signalGroup(record.pgid, 'SIGTERM');
    if (!(await waitForGroupExit(record.pgid, options.graceMs ?? 5000))) {
      log.warn(`Process group ${record.pgid} outlived SIGTERM; sending SIGKILL`);
      signalGroup(record.pgid, 'SIGKILL');
      await waitForGroupExit(record.pgid, 5000);
    }
  }
  fs.rmSync(file, { force: true });
}
