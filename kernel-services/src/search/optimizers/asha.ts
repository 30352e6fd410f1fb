import type { Direction } from '@floe/schema';
import type { SearchSpace } from '../space';
import { bestFirst, type Optimizer, type SuggestContext, type Suggestion, type TrialView } from '../types';
import { RandomSearch } from './random';

export interface AshaOptions {
  /** Resource of the lowest rung (e.g. 1 epoch). */
  minResource: number;
  /** Resource cap of the top rung. */
  maxResource: number;
  /** η: a rung promotes its top 1/η; budgets grow by η per rung. Default 3. */
  reductionFactor?: number;
  /** s: start at rung s of the full bracket (skip the smallest budgets). Default 0. */
  minEarlyStoppingRate?: number;
  /** Name of the parameter that carries the budget to the trial function. Default `budget`. */
  resourceName?: string;
  /** Round budgets to integers (epochs). Default true. */
  integerBudgets?: boolean;
}

/**
 * Asynchronous successive halving (Li et al., "A System for Massively Parallel Hyperparameter
 * Tuning"). When a worker frees up, the highest rung that holds an unpromoted configuration in its top
 * 1/η promotes it at once (no waiting for the rung to fill); otherwise a new random configuration
 * starts at the bottom rung. A promotion is a new trial with the same parameters and η× the budget.
 */
export class Asha implements Optimizer {
  readonly name = 'asha';
  readonly eta: number;
  readonly topRung: number;
  readonly resourceName: string;
  /** Results per rung, as observed. */
  private readonly rungs = new Map<number, TrialView[]>();

  constructor(
    private readonly space: SearchSpace,
    private readonly seed: number,
    private readonly direction: Direction,
    private readonly opts: AshaOptions,
  ) {
    this.eta = opts.reductionFactor ?? 3;
    if (!(this.eta >= 2)) throw new RangeError(`ASHA: reductionFactor must be at least 2, got ${this.eta}`);
    if (!(opts.minResource > 0)) throw new RangeError(`ASHA: minResource must be positive, got ${opts.minResource}`);
    if (!(opts.maxResource >= opts.minResource)) {
      throw new RangeError(
        `ASHA: maxResource (${opts.maxResource}) must be at least minResource (${opts.minResource})`,
      );
    }
    const s = opts.minEarlyStoppingRate ?? 0;
    const levels = Math.floor(Math.log(opts.maxResource / opts.minResource) / Math.log(this.eta) + 1e-9);
    if (s > levels) throw new RangeError(`ASHA: minEarlyStoppingRate ${s} leaves no rung (at most ${levels})`);
    this.topRung = levels - s;
    this.resourceName = opts.resourceName ?? 'budget';
    if (space.names.includes(this.resourceName)) {
      throw new RangeError(`ASHA: the space already has a parameter '${this.resourceName}'; pick another resourceName`);
    }
  }

  /** Resource of rung k: minResource · η^(k+s), capped at maxResource. */
  budget(rung: number): number {
    const s = this.opts.minEarlyStoppingRate ?? 0;
    const b = Math.min(this.opts.minResource * this.eta ** (rung + s), this.opts.maxResource);
    return this.opts.integerBudgets === false ? b : Math.max(1, Math.round(b));
  }

  suggest(n: number, ctx: SuggestContext): Suggestion[] {
    const promoted = new Set<number>();
    for (const t of [...ctx.running, ...ctx.finished]) if (t.promotedFrom !== null) promoted.add(t.promotedFrom);
    const out: Suggestion[] = [];
    for (let i = 0; i < n; i++) {
      const promotion = this.promotion(promoted);
      if (promotion) {
        promoted.add(promotion.number);
        const rung = (promotion.rung ?? 0) + 1;
        const budget = this.budget(rung);
        const params = { ...promotion.params, [this.resourceName]: budget };
        out.push({ params, budget, rung, promotedFrom: promotion.number });
        continue;
      }
      const budget = this.budget(0);
      const params = {
        ...RandomSearch.configFor(this.space, this.seed, ctx.nextNumber + i),
        [this.resourceName]: budget,
      };
      out.push({ params, budget, rung: 0 });
    }
    return out;
  }

  /** The configuration to promote now: top rungs first, best unpromoted among each rung's top 1/η. */
  private promotion(promoted: ReadonlySet<number>): TrialView | undefined {
    for (let k = this.topRung - 1; k >= 0; k--) {
      const results = this.rungs.get(k) ?? [];
      const top = bestFirst(results, (t) => t.metric!, this.direction).slice(0, Math.floor(results.length / this.eta));
      const candidate = top.find((t) => !promoted.has(t.number));
      if (candidate) return candidate;
    }
    return undefined;
  }

  observe(trial: TrialView): void {
    if (trial.metric === null || trial.rung === null) return;
    const list = this.rungs.get(trial.rung) ?? [];
    if (list.some((t) => t.number === trial.number)) return;
    list.push(trial);
    this.rungs.set(trial.rung, list);
  }
}
