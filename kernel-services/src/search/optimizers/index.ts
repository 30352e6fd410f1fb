import type { Direction } from '@floe/schema';
import type { SearchSpace } from '../space';
import type { Optimizer } from '../types';
import { Asha, type AshaOptions } from './asha';
import { GridSearch } from './grid';
import { RandomSearch } from './random';
import { Tpe, type TpeOptions } from './tpe';

/** How a search names its optimizer: a name, or a name with options (stored with the search). */
export type OptimizerSpec =
  | 'random'
  | 'grid'
  | 'tpe'
  | { name: 'random' }
  | { name: 'grid' }
  | ({ name: 'tpe' } & TpeOptions)
  | ({ name: 'asha' } & AshaOptions);

export function optimizerName(spec: OptimizerSpec): string {
  return typeof spec === 'string' ? spec : spec.name;
}

export function createOptimizer(
  spec: OptimizerSpec,
  space: SearchSpace,
  seed: number,
  direction: Direction,
): Optimizer {
  const s = typeof spec === 'string' ? { name: spec } : spec;
  switch (s.name) {
    case 'random':
      return new RandomSearch(space, seed);
    case 'grid':
      return new GridSearch(space);
    case 'tpe':
      return new Tpe(space, seed, direction, s as TpeOptions);
    case 'asha':
      return new Asha(space, seed, direction, s as AshaOptions);
    default:
      throw new RangeError(
        `unknown optimizer '${(s as { name: unknown }).name}'; known: random, grid, tpe, asha (asha needs minResource and maxResource)`,
      );
  }
}

export { Asha, GridSearch, RandomSearch, Tpe, type AshaOptions, type TpeOptions };
