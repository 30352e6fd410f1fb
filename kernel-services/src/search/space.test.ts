import { describe, expect, it } from 'vitest';
import { Prng } from './prng';
import { SearchSpace, SearchSpaceError } from './space';

const space = SearchSpace.from({
  lr: { type: 'double', min: 1e-4, max: 1e-1, scale: 'log' },
  dropout: { type: 'double', min: 0, max: 0.5 },
  filters: { type: 'discrete', values: [32, 8, 16] },
  kernel: { type: 'integer', min: 3, max: 7 },
  optimizer: { type: 'categorical', values: ['adam', 'sgd'] },
});

describe('SearchSpace', () => {
  it('samples every parameter inside its definition, reproducibly from the seed', () => {
    const a = Array.from({ length: 200 }, (_, i) => space.sample(Prng.keyed(42, i)));
    const b = Array.from({ length: 200 }, (_, i) => space.sample(Prng.keyed(42, i)));
    expect(a).toEqual(b);
    for (const p of a) space.check(p);
    expect(new Set(a.map((p) => p.kernel))).toEqual(new Set([3, 4, 5, 6, 7]));
    expect(new Set(a.map((p) => p.optimizer))).toEqual(new Set(['adam', 'sgd']));
    expect(a).not.toEqual(Array.from({ length: 200 }, (_, i) => space.sample(Prng.keyed(43, i))));
  });

  it('samples log-scaled doubles uniformly in log space', () => {
    const rng = new Prng(1);
    const xs = Array.from({ length: 4000 }, () => space.sample(rng).lr as number);
    const belowGeometricMid = xs.filter((x) => x < Math.sqrt(1e-4 * 1e-1)).length / xs.length;
    expect(belowGeometricMid).toBeGreaterThan(0.46);
    expect(belowGeometricMid).toBeLessThan(0.54);
  });

  it('maps values to the unit interval and back', () => {
    for (const name of space.names) {
      for (let i = 0; i < 50; i++) {
        const v = space.sample(new Prng(i))[name]!;
        const back = space.fromUnit(name, space.toUnit(name, v));
        if (typeof v === 'number') expect(back).toBeCloseTo(v, 6);
        else expect(back).toBe(v);
      }
    }
  });

  it('enumerates grids in declaration order, discrete values sorted', () => {
    const s = SearchSpace.from({
      filters: { type: 'discrete', values: [16, 8] },
      act: { type: 'categorical', values: ['relu', 'tanh'] },
      dropout: { type: 'double', min: 0, max: 0.5, gridPoints: 3 },
    });
    const g = s.grid();
    expect(g).toHaveLength(12);
    expect(g[0]).toEqual({ filters: 8, act: 'relu', dropout: 0 });
    expect(g[1]).toEqual({ filters: 8, act: 'relu', dropout: 0.25 });
    expect(g[11]).toEqual({ filters: 16, act: 'tanh', dropout: 0.5 });
  });

  it('refuses bad definitions with errors naming the parameter and field', () => {
    expect(() => SearchSpace.from({ lr: { type: 'double', min: 0, max: 1, scale: 'log' } })).toThrow(
      /parameter 'lr': a log scale needs min > 0/,
    );
    expect(() => SearchSpace.from({ lr: { type: 'double', min: 1, max: 1 } })).toThrow(
      /parameter 'lr': min \(1\) must be below max/,
    );
    expect(() => SearchSpace.from({ k: { type: 'integer', min: 1.5, max: 3 } as never })).toThrow(
      /parameter 'k': field 'min'/,
    );
    expect(() => SearchSpace.from({ k: { type: 'nope' } as never })).toThrow(SearchSpaceError);
    expect(() => SearchSpace.from({ c: { type: 'categorical', values: ['a', 'a'] } })).toThrow(
      /values must be distinct/,
    );
    expect(() => SearchSpace.from({ 'bad name': { type: 'discrete', values: [1] } })).toThrow(
      /parameter name 'bad name'/,
    );
    expect(() => SearchSpace.from({})).toThrow(/has no parameters/);
    expect(() => SearchSpace.from({ x: { type: 'double', min: 0, max: 1 } }).grid()).toThrow(/needs 'gridPoints'/);
    expect(() => space.check({ ...space.sample(new Prng(1)), kernel: 9 })).toThrow(/'kernel' = 9 is outside/);
  });
});
