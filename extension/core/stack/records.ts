// The product's records of each step's runs, kept per workspace as one JSON value.

import { stepOrder, type StepId, type StepRecord, type StepState } from './steps';

/** The JSON value kept per workspace. */
export interface PersistedStackState {
  version: 1;
  steps: Partial<Record<StepId, StepRecord>>;
}

/**
 * Storage of the persisted records. The VS Code layer backs it with `workspaceState`;
 * {@link MemoryStateStore} keeps it in memory.
 */
export interface StackStateStore {
  load(): unknown;
  save(value: PersistedStackState): void | PromiseLike<void>;
}

/** A {@link StackStateStore} in memory, for the command line and tests. */
export class MemoryStateStore implements StackStateStore {
  private value: unknown;

  constructor(initial?: unknown) {
    this.value = initial;
  }

  load(): unknown {
    return this.value === undefined ? undefined : structuredClone(this.value);
  }

  save(value: PersistedStackState): void {
    this.value = structuredClone(value);
  }
}

const stepStates: readonly StepState[] = ['notDone', 'running', 'done', 'failed', 'outOfDate'];

/** Reads the persisted records, dropping entries that are not valid records. */
export function parsePersistedState(value: unknown): PersistedStackState {
  const result: PersistedStackState = { version: 1, steps: {} };
  if (typeof value !== 'object' || value === null) return result;
  const steps = (value as { steps?: unknown }).steps;
  if (typeof steps !== 'object' || steps === null) return result;
  for (const id of stepOrder) {
    const record = (steps as Record<string, unknown>)[id] as Partial<StepRecord> | undefined;
    if (typeof record !== 'object' || record === null) continue;
    if (!stepStates.includes(record.state as StepState)) continue;
    const clean: StepRecord = { state: record.state as StepState };
    if (typeof record.lastRun === 'string') clean.lastRun = record.lastRun;
    if (typeof record.durationMs === 'number') clean.durationMs = record.durationMs;
    if (typeof record.lastError === 'string') clean.lastError = record.lastError;
    if (typeof record.logFile === 'string') clean.logFile = record.logFile;
    result.steps[id] = clean;
  }
  return result;
}

/** The persisted records of the steps' runs, read and written through a store. */
export class StepRecords {
  constructor(private readonly store: StackStateStore) {}

  /** Returns every step's record. */
  all(): Partial<Record<StepId, StepRecord>> {
    return parsePersistedState(this.store.load()).steps;
  }

  get(step: StepId): StepRecord | undefined {
    return this.all()[step];
  }

  /** Records that a run of `step` started now, logging to `logFile`. */
  async started(step: StepId, logFile?: string, at = new Date()): Promise<void> {
    await this.set(step, { state: 'running', lastRun: at.toISOString(), logFile });
  }

  /** Records how a run ended; an `error` makes the step failed. */
  async finished(step: StepId, outcome: { durationMs: number; error?: string }): Promise<void> {
    const previous = this.get(step);
    const record: StepRecord = {
      ...previous,
      state: outcome.error === undefined ? 'done' : 'failed',
      durationMs: outcome.durationMs,
    };
    if (outcome.error === undefined) delete record.lastError;
    else record.lastError = outcome.error;
    await this.set(step, record);
  }

  /** Replaces a step's record; undefined removes it. */
  async set(step: StepId, record: StepRecord | undefined): Promise<void> {
    const state = parsePersistedState(this.store.load());
    if (record === undefined) delete state.steps[step];
    else state.steps[step] = record;
    await this.store.save(state);
  }
}
