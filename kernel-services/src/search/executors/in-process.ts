import { loadTrialFunction, startTrial, type TrialFunction } from '../trial';
import {
  type AttemptKey,
  type ExecutorListener,
  type TrialAssignment,
  type TrialExecutor,
  cancelQueued,
} from './types';

/**
 * Runs trials concurrently inside the driver's own process (async functions interleave on one event
 * loop). For trial functions defined in a notebook cell and for tests of the driver; CPU-bound
 * trials belong on the process pool (`LocalProcessExecutor`).
 */
export class InProcessExecutor implements TrialExecutor {
  readonly kind = 'in-process';
  private listener: ExecutorListener | undefined;
  private readonly queue: TrialAssignment[] = [];
  private readonly running = new Map<string, { stop(reason: string): void }>();
  private busy = 0;

  constructor(
    readonly workers: number,
    /** A function to use instead of loading `assignment.trial` (e.g. one defined in a notebook cell). */
    private readonly fn?: TrialFunction,
  ) {
    if (!Number.isInteger(workers) || workers < 1)
      throw new RangeError(`in-process executor: workers must be a positive integer, got ${workers}`);
  }

  async attach(listener: ExecutorListener): Promise<void> {
    this.listener = listener;
  }

  detach(): void {
    this.listener = undefined;
  }

  submit(a: TrialAssignment): void {
    this.queue.push(a);
    this.pump();
  }

  stop(key: AttemptKey, reason: string): void {
    if (cancelQueued(this.queue, key, reason, this.listener)) return;
    this.running.get(`${key.trialId}:${key.attempt}`)?.stop(reason);
  }

  private pump(): void {
    while (this.busy < this.workers && this.queue.length) {
      const a = this.queue.shift()!;
      const slot = this.busy++;
      const key = { trialId: a.trialId, attempt: a.attempt };
      const listener = this.listener;
      let fn: TrialFunction;
      try {
        fn = this.fn ?? loadTrialFunction(a.trial);
      } catch (err) {
        this.busy--;
        listener?.ended(key, { kind: 'failed', error: (err as Error).message, crashed: false, busyMs: 0 });
        continue;
      }
      listener?.started(key, `in-process:${slot}`);
      const run = startTrial(
        fn,
        a.params,
        { searchId: a.searchId, number: a.number, attempt: a.attempt, seed: a.seed, budget: a.budget },
        {
          metric: (step, value) => listener?.metric(key, step, value),
        },
      );
      this.running.set(`${a.trialId}:${a.attempt}`, run);
      void run.outcome.then((outcome) => {
        this.running.delete(`${a.trialId}:${a.attempt}`);
        this.busy--;
        listener?.ended(key, outcome);
        this.pump();
      });
    }
  }

  async close(): Promise<void> {
    for (const run of this.running.values()) run.stop('executor closed');
    this.queue.length = 0;
  }
}
