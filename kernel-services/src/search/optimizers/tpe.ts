import type { Direction, TrialParams } from '@floe/schema';
import { Prng, STREAM } from '../prng';
import type { SearchSpace } from '../space';
import { bestFirst, type Optimizer, type SuggestContext, type Suggestion, type TrialView } from '../types';
import { RandomSearch } from './random';

export interface TpeOptions {
  /** Random trials before the model is used. Default max(5, 2 × parameters). */
  startupTrials?: number;
  /** Fraction of observations in the "good" group. Default 0.25. */
  gamma?: number;
  /** Candidates drawn from the good density per suggestion. Default 24. */
  candidates?: number;
}

interface Observation {
  params: TrialParams;
  metric: number;
}

/**
 * Tree-structured Parzen estimator (Bergstra et al. 2011) with one independent density per
 * parameter. Trials still running count as observations at the worst metric seen so far ("constant
 * liar"), as do suggestions already handed out in the same call: the good density never points at a
 * region a busy worker is already exploring, so parallel workers spread out instead of piling up.
 */
export class Tpe implements Optimizer {
  readonly name = 'tpe';
  private readonly observations: Observation[] = [];
  private readonly seen = new Set<number>();
  private readonly startup: number;
  private readonly gamma: number;
  private readonly candidates: number;

  constructor(
    private readonly space: SearchSpace,
    private readonly seed: number,
    private readonly direction: Direction,
    opts: TpeOptions = {},
  ) {
    this.startup = opts.startupTrials ?? Math.max(5, 2 * space.names.length);
    this.gamma = opts.gamma ?? 0.25;
    this.candidates = opts.candidates ?? 24;
    if (!(this.gamma > 0 && this.gamma < 1)) throw new RangeError(`TPE: gamma must be in (0, 1), got ${this.gamma}`);
    if (!(this.candidates >= 1)) throw new RangeError(`TPE: candidates must be at least 1, got ${this.candidates}`);
  }

  observe(trial: TrialView): void {
    if (trial.metric === null || !Number.isFinite(trial.metric) || this.seen.has(trial.number)) return;
    this.seen.add(trial.number);
    this.observations.push({ params: trial.params, metric: trial.metric });
  }

  suggest(n: number, ctx: SuggestContext): Suggestion[] {
    const pending: TrialParams[] = ctx.running.map((t) => t.params);
    const out: Suggestion[] = [];
    for (let i = 0; i < n; i++) {
      const number = ctx.nextNumber + i;
      const params =
        this.observations.length < this.startup || number <= this.startup
          ? RandomSearch.configFor(this.space, this.seed, number)
          : this.modelSuggestion(number, pending);
      pending.push(params);
      out.push({ params });
    }
    return out;
  }

  private modelSuggestion(number: number, pending: readonly TrialParams[]): TrialParams {
    const rng = Prng.keyed(this.seed, STREAM.tpe, number);
    const sorted = bestFirst(this.observations, (o) => o.metric, this.direction);
    const nGood = Math.max(1, Math.ceil(this.gamma * sorted.length));
    const good = sorted.slice(0, nGood).map((o) => o.params);
    // Running trials are lies at the worst value: they join the bad group.
    const bad = [...sorted.slice(nGood).map((o) => o.params), ...pending];

    const densities = this.space.names.map((name) => ({
      name,
      good: this.density(name, good),
      bad: this.density(name, bad),
    }));
    let best: TrialParams | undefined;
    let bestScore = -Infinity;
    for (let c = 0; c < this.candidates; c++) {
      const candidate: TrialParams = {};
      let score = 0;
      for (const d of densities) {
        const u = d.good.sample(rng);
        const value = this.space.fromUnit(d.name, u);
        candidate[d.name] = value;
        const at = this.space.toUnit(d.name, value);
        score += Math.log(d.good.pdf(at)) - Math.log(d.bad.pdf(at));
      }
      if (score > bestScore) {
        bestScore = score;
        best = candidate;
      }
    }
    return best!;
  }

  private density(name: string, group: readonly TrialParams[]): Density {
    const points = group.map((p) => this.space.toUnit(name, p[name]!));
    if (this.space.isCategorical(name)) return new CategoricalDensity(points, this.space.choices(name).length);
    return new ParzenDensity(points);
  }
}

interface Density {
  sample(rng: Prng): number;
  pdf(u: number): number;
}

/**
 * A mixture of Gaussians truncated to [0, 1], one per observation, plus a wide prior component so
 * unexplored regions keep some mass. Bandwidth: Scott's rule on the group, floored so that a tight
 * cluster does not collapse to a point.
 */
class ParzenDensity implements Density {
  private readonly centres: number[];
  private readonly sigma: number[];
  private readonly norm: number[];

  constructor(points: readonly number[]) {
    const m = points.length;
    const mean = m ? points.reduce((a, b) => a + b, 0) / m : 0.5;
    const std = m > 1 ? Math.sqrt(points.reduce((a, b) => a + (b - mean) ** 2, 0) / (m - 1)) : 0.5;
    const bw = Math.min(1, Math.max(0.05, 1.06 * std * Math.pow(Math.max(m, 1), -0.2)));
    this.centres = [0.5, ...points];
    this.sigma = [1, ...points.map(() => bw)];
    this.norm = this.centres.map((c, i) => normalCdf((1 - c) / this.sigma[i]!) - normalCdf((0 - c) / this.sigma[i]!));
  }

  sample(rng: Prng): number {
    const k = Math.floor(rng.next() * this.centres.length);
    for (let tries = 0; tries < 64; tries++) {
      const x = this.centres[k]! + this.sigma[k]! * rng.normal();
      if (x >= 0 && x < 1) return x;
    }
    return Math.min(Math.max(this.centres[k]!, 0), 1 - 1e-9);
  }

  pdf(u: number): number {
    let p = 0;
    for (let i = 0; i < this.centres.length; i++) {
      const z = (u - this.centres[i]!) / this.sigma[i]!;
      p += Math.exp(-0.5 * z * z) / (this.sigma[i]! * Math.sqrt(2 * Math.PI) * this.norm[i]!);
    }
    return Math.max(p / this.centres.length, 1e-300);
  }
}

/** Choice frequencies with one pseudo-count per choice. `u` is a choice's slot centre on [0, 1]. */
class CategoricalDensity implements Density {
  private readonly weights: number[];

  constructor(
    points: readonly number[],
    private readonly k: number,
  ) {
    const counts = new Array<number>(k).fill(1);
    for (const u of points) counts[Math.min(k - 1, Math.floor(u * k))]!++;
    const total = counts.reduce((a, b) => a + b, 0);
    this.weights = counts.map((c) => c / total);
  }

  sample(rng: Prng): number {
    let r = rng.next();
    for (let i = 0; i < this.k; i++) {
      r -= this.weights[i]!;
      if (r < 0) return (i + 0.5) / this.k;
    }
    return (this.k - 0.5) / this.k;
  }

  pdf(u: number): number {
    return this.weights[Math.min(this.k - 1, Math.max(0, Math.floor(u * this.k)))]!;
  }
}

/** Φ(x) via the Abramowitz–Stegun erf approximation (|error| < 1.5e-7). */
function normalCdf(x: number): number {
  const z = Math.abs(x) / Math.SQRT2;
  const t = 1 / (1 + 0.3275911 * z);
  const erf =
    1 -
    ((((1.061405429 * t - 1.453152027) * t + 1.421413741) * t - 0.284496736) * t + 0.254829592) * t * Math.exp(-z * z);
  return x >= 0 ? 0.5 * (1 + erf) : 0.5 * (1 - erf);
}
