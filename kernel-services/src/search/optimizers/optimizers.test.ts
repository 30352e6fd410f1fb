import { describe, expect, it } from 'vitest';
import type { TrialParams } from '@floe/schema';
import { SearchSpace } from '../space';
import type { Optimizer, TrialView } from '../types';
import { Asha, createOptimizer, GridSearch, RandomSearch, Tpe } from './index';

const space = SearchSpace.from({
  x: { type: 'double', min: 0, max: 1 },
  y: { type: 'double', min: 0, max: 1 },
  c: { type: 'categorical', values: ['a', 'b', 'c'] },
});

let counter = 0;
function view(number: number, params: TrialParams, metric: number | null, extra: Partial<TrialView> = {}): TrialView {
  counter++;
  return {
    number,
    params,
    budget: null,
    rung: null,
    promotedFrom: null,
    status: metric === null ? 'running' : 'completed',
    metric,
    history: [],
    ...extra,
  };
}

/** Runs an optimizer sequentially on an objective, one suggestion at a time. */
function optimize(opt: Optimizer, objective: (p: TrialParams) => number, trials: number): TrialView[] {
  const finished: TrialView[] = [];
  for (let n = 1; n <= trials; n++) {
    const [s] = opt.suggest(1, { nextNumber: n, running: [], finished });
    const done = view(n, s!.params, objective(s!.params));
    finished.push(done);
    opt.observe(done);
  }
  return finished;
}

describe('random search', () => {
  it('gives trial k the same configuration whatever happened before', () => {
    const a = new RandomSearch(space, 7).suggest(5, { nextNumber: 1, running: [], finished: [] });
    const b = new RandomSearch(space, 7).suggest(2, { nextNumber: 4, running: [], finished: [] });
    expect(b.map((s) => s.params)).toEqual(a.slice(3).map((s) => s.params));
    const c = new RandomSearch(space, 8).suggest(5, { nextNumber: 1, running: [], finished: [] });
    expect(c.map((s) => s.params)).not.toEqual(a.map((s) => s.params));
  });
});

describe('grid search', () => {
  it('walks the grid in order and then is exhausted', () => {
    const g = new GridSearch(
      SearchSpace.from({ k: { type: 'integer', min: 1, max: 3 }, c: { type: 'categorical', values: [true, false] } }),
    );
    expect(g.capacity).toBe(6);
    const first = g.suggest(4, { nextNumber: 1, running: [], finished: [] }).map((s) => s.params);
    expect(first).toEqual([
      { k: 1, c: true },
      { k: 1, c: false },
      { k: 2, c: true },
      { k: 2, c: false },
    ]);
    expect(g.suggest(4, { nextNumber: 5, running: [], finished: [] })).toHaveLength(2);
    expect(g.suggest(4, { nextNumber: 7, running: [], finished: [] })).toHaveLength(0);
  });
});

describe('ASHA', () => {
  const asha = () =>
    new Asha(space, 3, 'max', { minResource: 1, maxResource: 9, reductionFactor: 3, resourceName: 'epochs' });

  it('has rungs with budgets r·η^k', () => {
    const a = asha();
    expect(a.topRung).toBe(2);
    expect([0, 1, 2].map((k) => a.budget(k))).toEqual([1, 3, 9]);
    expect(() => new Asha(space, 1, 'max', { minResource: 1, maxResource: 9, reductionFactor: 1 })).toThrow(
      /reductionFactor/,
    );
    expect(
      () =>
        new Asha(SearchSpace.from({ epochs: { type: 'integer', min: 1, max: 2 } }), 1, 'max', {
          minResource: 1,
          maxResource: 3,
          resourceName: 'epochs',
        }),
    ).toThrow(/already has a parameter 'epochs'/);
  });

  it('promotes the best of a rung as soon as the rung holds η results, before starting new configs', () => {
    const a = asha();
    const base = a.suggest(3, { nextNumber: 1, running: [], finished: [] });
    expect(base.every((s) => s.rung === 0 && s.params.epochs === 1)).toBe(true);
    const finished = base.map((s, i) => view(i + 1, s.params, [0.5, 0.9, 0.7][i]!, { rung: 0, budget: 1 }));
    // Two results: floor(2/3) = 0 promotable -> a new config.
    a.observe(finished[0]!);
    a.observe(finished[1]!);
    expect(a.suggest(1, { nextNumber: 4, running: [finished[2]!], finished: finished.slice(0, 2) })[0]!.rung).toBe(0);
    // Third result: trial 2 (0.9) is in the top third -> promoted to rung 1 with 3 epochs.
    a.observe(finished[2]!);
    const [p, next] = a.suggest(2, { nextNumber: 5, running: [], finished });
    expect(p).toMatchObject({ rung: 1, budget: 3, promotedFrom: 2, params: { ...finished[1]!.params, epochs: 3 } });
    // Each configuration is promoted once, the rest of the call starts new configs.
    expect(next!.rung).toBe(0);
    const again = a.suggest(1, {
      nextNumber: 7,
      running: [view(5, p!.params, null, { promotedFrom: 2, rung: 1 })],
      finished,
    });
    expect(again[0]!.promotedFrom).toBeUndefined();
  });

  it('prefers promotions from higher rungs', () => {
    const a = asha();
    const rung0 = [0.1, 0.2, 0.3, 0.4, 0.5, 0.6].map((m, i) =>
      view(i + 1, { x: m, y: 0, c: 'a', epochs: 1 }, m, { rung: 0 }),
    );
    const rung1 = [0.7, 0.8, 0.9].map((m, i) =>
      view(7 + i, { x: m, y: 0, c: 'a', epochs: 3 }, m, { rung: 1, promotedFrom: 5 + (i % 2) }),
    );
    for (const t of [...rung0, ...rung1]) a.observe(t);
    const [s] = a.suggest(1, { nextNumber: 10, running: [], finished: [...rung0, ...rung1] });
    expect(s).toMatchObject({ rung: 2, promotedFrom: 9, budget: 9 });
  });
});

describe('TPE', () => {
  const objective = (p: TrialParams) =>
    -(((p.x as number) - 0.8) ** 2) - ((p.y as number) - 0.2) ** 2 + (p.c === 'b' ? 0.05 : 0);

  it('is reproducible with a fixed seed and concentrates on good regions, unlike random search', () => {
    const runs = (seed: number) => optimize(new Tpe(space, seed, 'max'), objective, 60);
    expect(runs(11).map((t) => t.params)).toEqual(runs(11).map((t) => t.params));
    const mean = (xs: number[]) => xs.reduce((a, b) => a + b, 0) / xs.length;
    for (const seed of [1, 2, 3, 4, 5]) {
      const tpe = optimize(new Tpe(space, seed, 'max'), objective, 60)
        .slice(30)
        .map((t) => t.metric!);
      const rnd = optimize(new RandomSearch(space, seed), objective, 60)
        .slice(30)
        .map((t) => t.metric!);
      // Random trials average about -0.3 on this objective; model-guided ones sit near the optimum.
      expect(mean(tpe)).toBeGreaterThan(-0.02);
      expect(mean(rnd)).toBeLessThan(-0.2);
      expect(Math.max(...tpe)).toBeGreaterThan(-0.005);
    }
  });

  it('spreads out around trials that are still running (constant liar)', () => {
    const opt = new Tpe(space, 5, 'max', { startupTrials: 10 });
    const finished = optimize(opt, objective, 20);
    const ctx = { nextNumber: 21, finished };
    const alone = opt.suggest(1, { ...ctx, running: [] })[0]!.params;
    const busy = Array.from({ length: 6 }, (_, i) => view(30 + i, { ...alone }, null));
    const withBusy = opt.suggest(1, { ...ctx, running: busy })[0]!.params;
    expect(withBusy).not.toEqual(alone);
    // Several suggestions in one call differ from each other too.
    const batch = opt.suggest(4, { ...ctx, running: [] }).map((s) => JSON.stringify(s.params));
    expect(new Set(batch).size).toBe(4);
  });

  it('minimises under direction min', () => {
    const loss = (p: TrialParams) => -objective(p);
    const best = Math.min(...optimize(new Tpe(space, 3, 'min'), loss, 50).map((t) => t.metric!));
    expect(best).toBeLessThan(0.02);
  });
});

describe('createOptimizer', () => {
  it('builds each optimizer by name and refuses unknown names', () => {
    expect(createOptimizer('random', space, 1, 'max').name).toBe('random');
    expect(createOptimizer({ name: 'asha', minResource: 1, maxResource: 4 }, space, 1, 'max').name).toBe('asha');
    expect(() => createOptimizer({ name: 'bohb' } as never, space, 1, 'max')).toThrow(/unknown optimizer 'bohb'/);
  });
  void counter;
});
