import type { TrialParams } from '@floe/schema';
import type { TrialFunctionRef, TrialOutcome } from '../trial';

/** One attempt of one trial, as handed to a worker. */
export interface TrialAssignment {
  searchId: number;
  /** Identifies the trial to the executor: its number within the search (ids are the store's business). */
  trialId: number;
  number: number;
  attempt: number;
  params: TrialParams;
  seed: number;
  budget: number | null;
  trial: TrialFunctionRef;
}

/** Identifies an attempt: events about older attempts of a trial are ignored by the driver. */
export interface AttemptKey {
  trialId: number;
  attempt: number;
}

/** The outcome of an attempt stopped while it was still queued: no worker ever ran it. */
export function stoppedBeforeStart(reason: string): TrialOutcome {
  return { kind: 'finished', metric: null, stopped: true, stopReason: reason, steps: 0, busyMs: 0 };
}

/**
 * Removes a queued (not yet started) attempt from a local queue and reports it stopped. Returns false
 * when the attempt is not in the queue (it is running, or already over).
 */
export function cancelQueued(
  queue: TrialAssignment[],
  key: AttemptKey,
  reason: string,
  listener: ExecutorListener | undefined,
): boolean {
  const i = queue.findIndex((a) => a.trialId === key.trialId && a.attempt === key.attempt);
  if (i < 0) return false;
  queue.splice(i, 1);
  listener?.ended(key, stoppedBeforeStart(reason));
  return true;
}

/** What executors tell the driver. Every event is also a heartbeat of its attempt. */
export interface ExecutorListener {
  /** `waitedMs`: on the worker's clock, how long it was idle since its previous attempt ended (if any). */
  started(key: AttemptKey, worker: string, waitedMs?: number): void;
  metric(key: AttemptKey, step: number, value: number): void;
  alive(key: AttemptKey): void;
  ended(key: AttemptKey, outcome: TrialOutcome): void;
}

/**
 * Runs trial attempts on workers. `submit` never blocks: an attempt waits in the executor's queue
 * until a worker is free (the driver keeps at most `workers` attempts submitted, so a worker takes
 * the next trial the moment it is free).
 */
export interface TrialExecutor {
  readonly kind: string;
  /** Trials that can run at once. */
  readonly workers: number;
  /** Attaches the driver; one driver at a time. */
  attach(listener: ExecutorListener): Promise<void>;
  /** Detaches the driver (the workers stay up for the next search). */
  detach(): void;
  submit(assignment: TrialAssignment): void;
  /** Asks the attempt to stop; it ends with a `finished` outcome marked stopped (or was never started). */
  stop(key: AttemptKey, reason: string): void;
  close(): Promise<void>;
}
