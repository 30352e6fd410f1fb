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
    const median = medianOf(averages);
    const best = direction === 'max' ? Math.max(...trial.history) : Math.min(...trial.history);
    const worse = direction === 'max' ? best < median : best > median;
    if (!worse) return null;
    return {
      reason: `median rule: best ${fmt(best)} ${direction === 'max' ? '<' : '>'} median ${fmt(median)} of ${averages.length} finished trials' running averages at step ${step}`,
      step,
      best,
      median,
      compared: averages.length,
    };
  }
}

export function medianOf(values: readonly number[]): number {
  const s = [...values].sort((a, b) => a - b);
  const mid = s.length >> 1;
  return s.length % 2 ? s[mid]! : (s[mid - 1]! + s[mid]!) / 2;
}

function fmt(x: number): string {
  return String(Number(x.toPrecision(4)));
}
