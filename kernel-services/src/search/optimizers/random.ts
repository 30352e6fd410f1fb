import { Prng, STREAM } from '../prng';
import type { SearchSpace } from '../space';
import type { Optimizer, SuggestContext, Suggestion } from '../types';

/**
 * Random search. Trial k's configuration comes from the stream keyed by (seed, k) alone, so the same
 * seed gives the same configurations whatever the order trials finish in, the worker count or a
 * restart — which is what lets the benchmark run the very same trials asynchronously and synchronously.
 */
export class RandomSearch implements Optimizer {
  readonly name = 'random';

  constructor(
    private readonly space: SearchSpace,
    private readonly seed: number,
  ) {}

  static configFor(space: SearchSpace, seed: number, number: number) {
    return space.sample(Prng.keyed(seed, STREAM.sample, number));
  }

  suggest(n: number, ctx: SuggestContext): Suggestion[] {
    return Array.from({ length: n }, (_, i) => ({
      params: RandomSearch.configFor(this.space, this.seed, ctx.nextNumber + i),
    }));
  }

  observe(): void {
    // Random search learns nothing from results.
  }
}
