import type { Direction } from '@floe/schema';

export interface MedianStoppingOptions {
  /** The rule acts only once MORE than this many trials have finished. Default 10 (Maggy's es_min). */
  minTrials?: number;
  /** Check a trial only when its number of reported steps is a multiple of this. Default 1. */
  interval?: number;
}

/** What the rule needs of a trial: its metric per reported step, in report order. */
export interface CurveView {
  history: readonly number[];
}

export interface StopDecision {
  reason: string;
  step: number;
  best: number;
  median: number;
  compared: number;
}

/**
 * Maggy's median stopping rule, exactly (maggy/earlystop/medianrule.py plus the driver's `es_min`
 * gate). For a running trial that has reported `step` values so far:
 * - only when more than `minTrials` trials have finished, and `step` is a positive multiple of
 *   `interval`;
 * - take every finished trial (completed or itself stopped early) that reported at least `step`
 *   values, and the mean of its first `step` values (its running average at that step);
 * - the median of those means (mean of the two middle ones when their count is even);
 * - stop if the trial's best value so far is strictly worse than that median: under `max`,
 *   max(history) < median; under `min`, min(history) > median. A tie never stops a trial.
 * Steps are counted by reports, as in Maggy. When no finished trial reached `step` (a trial running
 * longer than all finished ones), there is nothing to compare with and the trial goes on (Maggy
 * raises a StatisticsError there, which its driver swallows).
 */
export class MedianStoppingRule {
  readonly name = 'median';
  readonly minTrials: number;
  readonly interval: number;

  constructor(opts: MedianStoppingOptions = {}) {
    this.minTrials = opts.minTrials ?? 10;
    this.interval = opts.interval ?? 1;
    if (!Number.isInteger(this.minTrials) || this.minTrials < 0) {
      throw new RangeError(`median stopping rule: minTrials must be a non-negative integer, got ${this.minTrials}`);
    }
    if (!Number.isInteger(this.interval) || this.interval < 1) {
      throw new RangeError(`median stopping rule: interval must be a positive integer, got ${this.interval}`);
    }
  }

  check(trial: CurveView, finished: readonly CurveView[], direction: Direction): StopDecision | null {
    if (finished.length <= this.minTrials) return null;
    const step = trial.history.length;
    if (step === 0 || step % this.interval !== 0) return null;
    const averages: number[] = [];
    for (const f of finished) {
      if (f.history.length < step) continue;
      let sum = 0;
      for (let i = 0; i < step; i++) sum += f.history[i]!;
      averages.push(sum / step);
    }
    if (averages.length === 0) return null;
    const best = direction === 'max' ? Math.max(...trial.history) : Math.min(...trial.history);
    return decide(step, best, medianOf(averages), averages.length, direction);
  }
}

/**
 * The same rule, kept up to date as trials finish, for the driver: each finished trial's running
 * averages are inserted into one sorted list per step, so a check is a lookup instead of a pass over
 * every finished curve (it runs on every reported metric). Its decisions are exactly those of
 * `MedianStoppingRule.check` over the same finished trials (same sums in the same order).
 */
export class MedianStoppingIndex {
  /** sortedAverages[s − 1]: running averages at step s of the finished trials that reached it, ascending. */
  private readonly sortedAverages: number[][] = [];
  private finished = 0;

  constructor(
    readonly rule: MedianStoppingRule,
    readonly direction: Direction,
  ) {}

  /** A trial finished (completed or stopped early) with this curve. Curves without values are not counted. */
  addFinished(history: readonly number[]): void {
    if (history.length === 0) return;
    this.finished++;
    let sum = 0;
    for (let i = 0; i < history.length; i++) {
      sum += history[i]!;
      const avg = sum / (i + 1);
      const list = (this.sortedAverages[i] ??= []);
      let lo = 0;
      let hi = list.length;
      while (lo < hi) {
        const mid = (lo + hi) >> 1;
        if (list[mid]! < avg) lo = mid + 1;
        else hi = mid;
      }
      list.splice(lo, 0, avg);
    }
  }

  /** `best`: the trial's best value so far (its max under `max`, min under `min`). */
  check(history: readonly number[], best: number): StopDecision | null {
    if (this.finished <= this.rule.minTrials) return null;
    const step = history.length;
    if (step === 0 || step % this.rule.interval !== 0) return null;
    const s = this.sortedAverages[step - 1];
    if (!s || s.length === 0) return null;
    const mid = s.length >> 1;
    const median = s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
    return decide(step, best, median, s.length, this.direction);
  }
}

function decide(
  step: number,
  best: number,
  median: number,
  compared: number,
  direction: Direction,
): StopDecision | null {
  const worse = direction === 'max' ? best < median : best > median;
  if (!worse) return null;
  return {
    reason: `median rule: best ${fmt(best)} ${direction === 'max' ? '<' : '>'} median ${fmt(median)} of ${compared} finished trials' running averages at step ${step}`,
    step,
    best,
    median,
    compared,
  };
}

export function medianOf(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function fmt(x: number): string {
  return String(Number(x.toPrecision(4)));
}
