// The steps from an empty folder to a realm that answers inference requests, in order.

/** A step of the stack lifecycle. */
export type StepId =
  | 'prerequisites'
  | 'container'
  | 'download'
  | 'modifications'
  | 'build'
  | 'boot'
  | 'realm'
  | 'inference';

/** The steps in the order a user runs them. */
export const stepOrder: readonly StepId[] = [
  'prerequisites',
  'container',
  'download',
  'modifications',
  'build',
  'boot',
  'realm',
  'inference',
];

/** Tree labels of the steps. */
export const stepTitles: Readonly<Record<StepId, string>> = {
  prerequisites: 'Prerequisites',
  container: 'Container image',
  download: 'Download',
  modifications: 'Modifications',
  build: 'Build',
  boot: 'Boot',
  realm: 'Realm',
  inference: 'Inference service',
};

/** The steps that must be done before each step can run. */
export const stepDependencies: Readonly<Record<StepId, readonly StepId[]>> = {
  prerequisites: [],
  container: ['prerequisites'],
  // repo runs inside the container image.
  download: ['container'],
  modifications: ['download'],
  build: ['container', 'modifications'],
  boot: ['build'],
  realm: ['boot'],
  inference: ['realm'],
};

/**
 * The state of a step. `outOfDate` means done once but older than its inputs, as a `fip.bin`
 * built before the last RMM source change.
 */
export type StepState = 'notDone' | 'running' | 'done' | 'failed' | 'outOfDate';

/** What the product remembers of a step's last run; JSON-serialisable. */
export interface StepRecord {
  state: StepState;
  /** When the last run started, as an ISO 8601 time. */
  lastRun?: string;
  /** How long the last finished run took, in milliseconds. */
  durationMs?: number;
  /** Why the last run failed. */
  lastError?: string;
  /** The last run's log file. */
  logFile?: string;
}

/** A step's state as shown: the state, why, and the last run's record. */
export interface StepStatus extends StepRecord {
  id: StepId;
  /** Why the step has this state, for a tooltip (such as the missing files). */
  reason?: string;
}

/** Returns the step's dependencies that are not done (`outOfDate` counts as done). */
export function unmetDependencies(
  step: StepId,
  states: Readonly<Partial<Record<StepId, StepState>>>,
): StepId[] {
  return stepDependencies[step].filter((dependency) => {
    const state = states[dependency];
    if (dependency === 'boot' || dependency === 'realm') {
      return state !== 'running' && state !== 'done';
    }
    return state !== 'done' && state !== 'outOfDate';
  });
}
