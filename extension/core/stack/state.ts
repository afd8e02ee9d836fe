// Each step's state, detected from the stack folder, the Docker engine and the running
// processes, and merged with what the product remembers of the last runs. What is on disk
// wins: a step recorded as running whose process is gone (after a crash or reload) shows
// the state that its files show.

import fs from 'node:fs';
import path from 'node:path';
import { processRecordFile, knownComponents, type StackLayout } from './layout';
import type { PrerequisiteResult } from './prerequisites';
import { isRecordAlive, readProcessRecord } from './processes';
import { execFileRunner, type ExecRunner } from './runner';
import type { StepRecords } from './records';
import { stepOrder, type StepId, type StepRecord, type StepState, type StepStatus } from './steps';

/** The state that disk, engine or processes show for a step, and why. */
export interface DetectedState {
  state: StepState;
  reason?: string;
}

// ---------------------------------------------------------------------------------------------
// Detection

async function exists(file: string): Promise<boolean> {
  try {
    await fs.promises.stat(file);
    return true;
  } catch {
    return false;
  }
}

async function isNonEmptyFolder(folder: string): Promise<boolean> {
  try {
    const entries = await fs.promises.readdir(folder);
    return entries.length > 0;
  } catch {
    return false;
  }
}

/** Detects the build image with `docker image inspect <image>`. */
export async function detectContainer(
  docker: string,
  image: string,
  exec: ExecRunner = execFileRunner,
): Promise<DetectedState> {
  const result = await exec(docker, ['image', 'inspect', '--format', '{{.Id}}', image], {
    timeoutMs: 15000,
  });
  if (result.code === 0) return { state: 'done', reason: `image ${image} exists` };
  const message = (result.error ?? result.stderr.trim()) || `exit code ${result.code}`;
  if (/no such image/i.test(message)) {
    return { state: 'notDone', reason: `image ${image} has not been built` };
  }
  return { state: 'notDone', reason: `cannot check image ${image}: ${message}` };
}

/**
 * Reads the project paths that `repo sync` checks out from `.repo/manifest.xml` and the
 * manifests it includes. Projects in the `notdefault` group are left out, as repo does.
 * Returns undefined when the manifest cannot be read.
 */
export async function readManifestProjects(layout: StackLayout): Promise<string[] | undefined> {
  const projects: string[] = [];
  const seen = new Set<string>();

  const readManifest = async (file: string): Promise<boolean> => {
    if (seen.has(file)) return true;
    seen.add(file);
    let text: string;
    try {
      text = await fs.promises.readFile(file, 'utf8');
    } catch {
      return false;
    }
    text = text.replace(/<!--[\s\S]*?-->/g, '');
    for (const element of text.matchAll(/<(project|include)\b([^>]*?)\/?>/g)) {
      const attributes = new Map(
        [...element[2].matchAll(/([\w:-]+)\s*=\s*"([^"]*)"/g)].map((a) => [a[1], a[2]]),
      );
      const name = attributes.get('name');
      if (!name) continue;
      if (element[1] === 'include') {
        await readManifest(path.join(layout.manifestsDir, name));
        continue;
      }
      const groups = (attributes.get('groups') ?? '').split(/[\s,]+/);
      if (groups.includes('notdefault')) continue;
      projects.push(attributes.get('path') ?? name);
    }
    return true;
  };

  if (!(await readManifest(layout.manifestFile)) || projects.length === 0) return undefined;
  return projects;
}

/**
 * Detects the download: done when `.repo/` and every project folder of the manifest (else of
 * {@link knownComponents}) exist and are not empty. A partial sync is not done, with the
 * missing folders as the reason.
 */
export async function detectDownload(layout: StackLayout): Promise<DetectedState> {
  if (!(await exists(layout.repoDir))) {
    return { state: 'notDone', reason: `not downloaded: ${layout.root} has no .repo folder` };
  }
  if (!(await exists(layout.manifestFile))) {
    return { state: 'notDone', reason: 'repo init did not finish: .repo/manifest.xml is missing' };
  }
  const projects = (await readManifestProjects(layout)) ?? [...knownComponents];
  const missing: string[] = [];
  for (const project of projects) {
    if (!(await isNonEmptyFolder(path.join(layout.root, project)))) missing.push(project);
  }
  if (missing.length === 0)
    return { state: 'done', reason: `${projects.length} projects checked out` };
  const shown = missing.slice(0, 5).join(', ') + (missing.length > 5 ? ', …' : '');
  return {
    state: 'notDone',
    reason:
      `partial sync: ${missing.length} of ${projects.length} projects missing (${shown}); ` +
      'run the download again to resume',
  };
}

/** The result of a modifications check: applied or not, with an optional detail. */
export type ModificationsCheckResult = boolean | { applied: boolean; detail?: string };

/** Checks by content whether the modifications are in the stack's scripts. */
export type ModificationsCheck = (layout: StackLayout) => Promise<ModificationsCheckResult>;

/** Detects the modifications through `check`; not done before the download. */
export async function detectModifications(
  layout: StackLayout,
  check: ModificationsCheck,
): Promise<DetectedState> {
  if (!(await exists(layout.buildScriptsDir))) {
    return { state: 'notDone', reason: 'the stack is not downloaded yet' };
  }
  let result: ModificationsCheckResult;
  try {
    result = await check(layout);
  } catch (error) {
    const message = error instanceof Error ? error.message : String(error);
    return { state: 'notDone', reason: `cannot check the modifications: ${message}` };
  }
  const applied = typeof result === 'boolean' ? result : result.applied;
  const detail = typeof result === 'boolean' ? undefined : result.detail;
  const reason = detail ?? (applied ? 'the modifications are in place' : 'not applied');
  return { state: applied ? 'done' : 'notDone', reason };
}

/**
 * A build output and the sources it is built from; the output is out of date when a file
 * under a source is newer.
 */
export interface OutOfDateRule {
  /** The output file, relative to the stack folder. */
  output: string;
  /** Files or folders relative to the stack folder. */
  sources: readonly string[];
}

/**
 * The default rules. fip.bin contains the firmware built from tf-a/ (BL2, BL31) and the RMM
 * image from rmm/, the trees users edit in this workflow (handler.c for RMI logging).
 * host-fs.ext4 is built by build-buildroot.sh, which the modifications replace, so installing
 * them asks for a rebuild.
 *
 * NOTE: hafnium/ (its tree carries prebuilt toolchains) and linux/ are not scanned, because
 * walking them would take seconds; a change there does not mark the build out of date.
 */
export const defaultOutOfDateRules: readonly OutOfDateRule[] = [
  { output: 'output/aemfvp-a-rme/fip.bin', sources: ['rmm', 'tf-a'] },
  { output: 'output/aemfvp-a-rme/host-fs.ext4', sources: ['build-scripts/build-buildroot.sh'] },
];

// Folders that are not sources: git metadata anywhere, and build outputs at a component's top
// (rmm/build, tf-a/build, tf-a/build-std-tests).
const skippedAnywhere = new Set(['.git']);
const isOutputFolder = (name: string): boolean =>
  name === 'build' || name.startsWith('build-') || name === 'out' || name === 'output';

/**
 * Returns the first file under `source` (a file or a folder) modified after `thanMs`, or
 * undefined. Symbolic links are not followed.
 */
export async function findNewerFile(source: string, thanMs: number): Promise<string | undefined> {
  let stat: fs.Stats;
  try {
    stat = await fs.promises.lstat(source);
  } catch {
    return undefined;
  }
  if (!stat.isDirectory()) return stat.mtimeMs > thanMs ? source : undefined;

  const walk = async (folder: string, depth: number): Promise<string | undefined> => {
    let entries: fs.Dirent[];
    try {
      entries = await fs.promises.readdir(folder, { withFileTypes: true });
    } catch {
      return undefined;
    }
    for (const entry of entries) {
      const full = path.join(folder, entry.name);
      if (entry.isDirectory()) {
        if (skippedAnywhere.has(entry.name) || (depth === 0 && isOutputFolder(entry.name))) {
          continue;
        }
        const found = await walk(full, depth + 1);
        if (found) return found;
      } else if (entry.isFile() || entry.isSymbolicLink()) {
        const entryStat = await fs.promises.lstat(full).catch(() => undefined);
        if (entryStat && entryStat.mtimeMs > thanMs) return full;
      }
    }
    return undefined;
  };
  return walk(source, 0);
}

/**
 * Detects the build: done when every output exists, out of date when an output is older than
 * a file of its sources (see {@link defaultOutOfDateRules}).
 */
export async function detectBuild(
  layout: StackLayout,
  rules: readonly OutOfDateRule[] = defaultOutOfDateRules,
): Promise<DetectedState> {
  const missing: string[] = [];
  for (const [name, file] of Object.entries(layout.outputs)) {
    if (!(await exists(file))) missing.push(name);
  }
  const total = Object.keys(layout.outputs).length;
  if (missing.length === total) return { state: 'notDone', reason: 'not built yet' };
  if (missing.length > 0) {
    return { state: 'notDone', reason: `missing in output/aemfvp-a-rme: ${missing.join(', ')}` };
  }

  for (const rule of rules) {
    let outputTime: number;
    try {
      outputTime = (await fs.promises.stat(path.join(layout.root, rule.output))).mtimeMs;
    } catch {
      continue;
    }
    for (const source of rule.sources) {
      const newer = await findNewerFile(path.join(layout.root, source), outputTime);
      if (newer) {
        const changed = path.relative(layout.root, newer);
        const output = path.basename(rule.output);
        return { state: 'outOfDate', reason: `${changed} changed after ${output} was built` };
      }
    }
  }
  return { state: 'done', reason: 'all outputs present and newer than their sources' };
}

/** Returns true while the step's recorded process group (for boot, the FVP) runs. */
export function isStepProcessAlive(layout: StackLayout, step: StepId): boolean {
  const record = readProcessRecord(processRecordFile(layout, step));
  return record !== undefined && isRecordAlive(record);
}

// ---------------------------------------------------------------------------------------------
// Merging

/**
 * Merges a step's detected state, its persisted record and whether its process runs:
 *
 * - a live process makes it running;
 * - a recorded run whose process is gone (a crash or reload) shows the detected state, noting
 *   that the run did not finish, or failed when nothing can be detected;
 * - a recorded failure stays while the detection does not show the step done;
 * - otherwise the detected state, else the record, else not done.
 */
export function mergeStepState(
  id: StepId,
  detected: DetectedState | undefined,
  record: StepRecord | undefined,
  processAlive: boolean,
): StepStatus {
  const base: StepStatus = { ...record, id, state: 'notDone' };
  if (processAlive) return { ...base, state: 'running', reason: 'running' };

  if (record?.state === 'running') {
    const interrupted = `the run started ${record.lastRun ?? 'earlier'} did not finish`;
    if (detected) {
      return { ...base, state: detected.state, reason: joinReasons(detected.reason, interrupted) };
    }
    return {
      ...base,
      state: 'failed',
      lastError: record.lastError ?? interrupted,
      reason: interrupted,
    };
  }
  if (record?.state === 'failed' && detected?.state !== 'done') {
    return { ...base, state: 'failed', reason: record.lastError ?? detected?.reason };
  }
  if (detected) return { ...base, state: detected.state, reason: detected.reason };
  if (record) return { ...base, state: record.state };
  return base;
}

function joinReasons(first: string | undefined, second: string): string {
  return first ? `${first}; ${second}` : second;
}

/** Options of {@link detectStackState}. */
export interface DetectOptions {
  layout: StackLayout;
  /** The docker command. */
  docker: string;
  /** The build image's name. */
  image: string;
  /** The check, by content, of the modifications in the stack's scripts. */
  modificationsApplied: ModificationsCheck;
  /** The persisted records; none when omitted. */
  records?: StepRecords;
  /** The latest prerequisite checks, when they have run. */
  prerequisites?: readonly PrerequisiteResult[];
  exec?: ExecRunner;
  outOfDateRules?: readonly OutOfDateRule[];
}

/**
 * Detects every step's state and merges it with the persisted records. The realm and the
 * inference service need a running FVP: without it they are not done, whatever was recorded,
 * unless their last run failed.
 */
export async function detectStackState(
  options: DetectOptions,
): Promise<Record<StepId, StepStatus>> {
  const { layout } = options;
  const records = options.records?.all() ?? {};
  const detected: Partial<Record<StepId, DetectedState>> = {};

  if (options.prerequisites) detected.prerequisites = summarisePrerequisites(options.prerequisites);
  const [container, download, modifications, build] = await Promise.all([
    detectContainer(options.docker, options.image, options.exec),
    detectDownload(layout),
    detectModifications(layout, options.modificationsApplied),
    detectBuild(layout, options.outOfDateRules),
  ]);
  Object.assign(detected, { container, download, modifications, build });

  const alive = Object.fromEntries(
    stepOrder.map((id) => [id, isStepProcessAlive(layout, id)]),
  ) as Record<StepId, boolean>;
  if (!alive.boot) {
    const stopped: DetectedState = { state: 'notDone', reason: 'the FVP is not running' };
    detected.boot = stopped;
    detected.realm = stopped;
    detected.inference = stopped;
  }

  const result = {} as Record<StepId, StepStatus>;
  for (const id of stepOrder) {
    // The realm and the inference service run inside the FVP, typed into its consoles, so
    // while the FVP runs their recorded state is kept.
    const record = records[id];
    const live =
      alive[id] ||
      ((id === 'realm' || id === 'inference') && alive.boot && record?.state === 'running');
    result[id] = mergeStepState(id, detected[id], record, live);
  }
  return result;
}

/** Returns the prerequisites step's state from its checks: done when every check passed. */
export function summarisePrerequisites(results: readonly PrerequisiteResult[]): DetectedState {
  const failed = results.filter((result) => !result.ok);
  if (failed.length === 0) return { state: 'done', reason: 'all checks passed' };
  return {
    state: 'failed',
    reason: failed.map((result) => `${result.title}: ${result.detail}`).join('; '),
  };
}
