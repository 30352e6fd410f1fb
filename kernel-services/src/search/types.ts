/**
 * The shapes shared by optimizers, stopping rules, the driver and executors.
 */
import type { Direction, TrialParams, TrialStatus } from '@floe/schema';

/** A trial as optimizers and stopping rules see it. */
export interface TrialView {
  /** 1, 2, 3, ... within its search. */
  number: number;
  params: TrialParams;
  /** ASHA resource (e.g. epochs) given to the trial, or null when the trial decides. */
  budget: number | null;
  rung: number | null;
  /** The trial whose configuration this one continues with a larger budget (ASHA), or null. */
  promotedFrom: number | null;
  status: TrialStatus;
  /** Final metric (completed or stopped trials), else null. */
  metric: number | null;
  /** Metric per reported step of the current attempt, in report order. */
  history: readonly number[];
}

/** A configuration an optimizer wants tried next. */
export interface Suggestion {
  params: TrialParams;
  budget?: number;
  rung?: number;
  promotedFrom?: number;
}

export interface SuggestContext {
  /** The number the first suggestion will get (later ones follow in order). */
  nextNumber: number;
  /** Trials created but not ended (pending or running). */
  running: readonly TrialView[];
  /** Trials that ended: completed, stopped (both carry a metric) or error (metric null). */
  finished: readonly TrialView[];
}

/**
 * One interface for every optimizer. `suggest` may return fewer than `n` (even none) when it has
 * nothing to offer right now (grid exhausted); `observe` is told each trial that ended, in order —
 * the driver replays these on resume, so an optimizer's state is a function of its observations.
 */
export interface Optimizer {
  readonly name: string;
  suggest(n: number, ctx: SuggestContext): Suggestion[];
  observe(trial: TrialView): void;
  /** Total trials this optimizer can ever produce (grid size), or undefined when unbounded. */
  readonly capacity?: number;
}

/** Is `a` better than `b` under the direction? (ties are not better) */
export function isBetter(a: number, b: number, direction: Direction): boolean {
  return direction === 'max' ? a > b : a < b;
}

/** Sorts best first. */
export function bestFirst<T>(items: readonly T[], metric: (t: T) => number, direction: Direction): T[] {
  return [...items].sort((x, y) => (direction === 'max' ? metric(y) - metric(x) : metric(x) - metric(y)));
}
