import type { TrialParams } from '@floe/schema';
import type { SearchSpace } from '../space';
import type { Optimizer, SuggestContext, Suggestion } from '../types';

/** Grid search: trial k is the k-th point of the grid (see `SearchSpace.grid`); then it is exhausted. */
export class GridSearch implements Optimizer {
  readonly name = 'grid';
  private readonly points: TrialParams[];

  constructor(space: SearchSpace) {
    this.points = space.grid();
  }

  get capacity(): number {
    return this.points.length;
  }

  suggest(n: number, ctx: SuggestContext): Suggestion[] {
    const start = ctx.nextNumber - 1;
    return this.points.slice(start, Math.max(start, start + n)).map((params) => ({ params: { ...params } }));
  }

  observe(): void {
    // The grid is fixed in advance.
  }
}
