import type { TrialParams } from '@floe/schema';
import type { Optimizer, SuggestContext, Suggestion } from '../types';

/** A fixed list of configurations, tried in order (ablation studies, replays of chosen configs). */
export class ConfigList implements Optimizer {
  readonly name = 'list';

  constructor(private readonly configs: readonly TrialParams[]) {}

  get capacity(): number {
    return this.configs.length;
  }

  suggest(n: number, ctx: SuggestContext): Suggestion[] {
    const start = ctx.nextNumber - 1;
    return this.configs.slice(start, start + Math.max(0, n)).map((params) => ({ params: { ...params } }));
  }

  observe(): void {
    // Nothing to learn: the list is the plan.
  }
}
