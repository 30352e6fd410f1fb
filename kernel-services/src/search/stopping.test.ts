import { describe, expect, it } from 'vitest';
import { MedianStoppingIndex, MedianStoppingRule, medianOf } from './stopping';

const curve = (...history: number[]) => ({ history });

describe('MedianStoppingRule (Maggy semantics)', () => {
  const finished = [curve(0.5, 0.6, 0.7), curve(0.6, 0.7, 0.8), curve(0.7, 0.8, 0.9)];

  it('acts only once MORE than minTrials trials have finished', () => {
    const rule = new MedianStoppingRule({ minTrials: 3 });
    expect(rule.check(curve(0.1), finished, 'max')).toBeNull();
    const rule2 = new MedianStoppingRule({ minTrials: 2 });
    expect(rule2.check(curve(0.1), finished, 'max')).not.toBeNull();
  });

  it('compares the best value so far with the median of running averages at the same step', () => {
    const rule = new MedianStoppingRule({ minTrials: 0 });
    // Step 2: running averages are 0.55, 0.65, 0.75 -> median 0.65.
    expect(rule.check(curve(0.1, 0.64), finished, 'max')?.median).toBeCloseTo(0.65);
    // Best so far counts, not the latest value: 0.66 earlier keeps the trial alive.
    expect(rule.check(curve(0.66, 0.2), finished, 'max')).toBeNull();
  });

  it('never stops on a tie (strictly worse only)', () => {
    const rule = new MedianStoppingRule({ minTrials: 0 });
    // Dyadic values, so the averages are exact: step-2 averages 0.25, 0.5, 0.75 -> median 0.5.
    const exact = [curve(0.25, 0.25), curve(0.25, 0.75), curve(0.5, 1)];
    expect(rule.check(curve(0.125, 0.5), exact, 'max')).toBeNull();
    expect(rule.check(curve(0.875, 0.5), exact, 'min')).toBeNull();
    expect(rule.check(curve(0.125, 0.375), exact, 'max')).not.toBeNull();
  });

  it('uses the mean of the two middle averages for an even count', () => {
    const rule = new MedianStoppingRule({ minTrials: 0 });
    const four = [...finished, curve(0.9, 1.0)];
    // Step 1 averages: 0.5, 0.6, 0.7, 0.9 -> median 0.65.
    const d = rule.check(curve(0.64), four, 'max');
    expect(d?.median).toBeCloseTo(0.65);
    expect(d?.compared).toBe(4);
    expect(medianOf([3, 1, 2])).toBe(2);
  });

  it('ignores finished trials shorter than the step, and lets a trial run past all of them', () => {
    const rule = new MedianStoppingRule({ minTrials: 0 });
    const mixed = [curve(0.9), curve(0.9), curve(0.1, 0.1, 0.1, 0.1)];
    // Step 4: only the last finished trial reached it; median 0.1, trial best 0.2 -> goes on.
    expect(rule.check(curve(0.2, 0.2, 0.2, 0.2), mixed, 'max')).toBeNull();
    // Step 5: nobody reached it -> nothing to compare with -> goes on.
    expect(rule.check(curve(0, 0, 0, 0, 0), mixed, 'max')).toBeNull();
    // Step 1: 0.9, 0.9, 0.1 -> median 0.9 -> stopped.
    expect(rule.check(curve(0.5), mixed, 'max')?.compared).toBe(3);
  });

  it('stops trials whose lowest value is above the median under min', () => {
    const rule = new MedianStoppingRule({ minTrials: 0 });
    const losses = [curve(1.0, 0.8), curve(0.9, 0.7), curve(0.8, 0.6)];
    // Step 2 averages 0.9, 0.8, 0.7 -> median 0.8.
    expect(rule.check(curve(0.95, 0.85), losses, 'min')?.reason).toMatch(/best 0.85 > median 0.8/);
    expect(rule.check(curve(0.95, 0.79), losses, 'min')).toBeNull();
    // The same curve under max is far above the median of -> not stopped.
    expect(rule.check(curve(0.95, 0.85), losses, 'max')).toBeNull();
  });

  it('checks only every interval steps', () => {
    const rule = new MedianStoppingRule({ minTrials: 0, interval: 2 });
    expect(rule.check(curve(0), finished, 'max')).toBeNull();
    expect(rule.check(curve(0, 0), finished, 'max')).not.toBeNull();
    expect(rule.check(curve(0, 0, 0), finished, 'max')).toBeNull();
    expect(rule.check(curve(), finished, 'max')).toBeNull();
  });

  it('decides exactly as the incremental index the driver uses, on random curves, under max and min', () => {
    let seed = 7;
    const rand = (): number => (seed = (seed * 1103515245 + 12345) % 2 ** 31) / 2 ** 31;
    for (const direction of ['max', 'min'] as const) {
      for (const opts of [
        { minTrials: 0, interval: 1 },
        { minTrials: 3, interval: 2 },
      ]) {
        const rule = new MedianStoppingRule(opts);
        const index = new MedianStoppingIndex(rule, direction);
        const done: { history: number[] }[] = [];
        let decisions = 0;
        for (let k = 0; k < 60; k++) {
          const length = 1 + Math.floor(rand() * 12);
          const history = Array.from({ length }, () => Math.round(rand() * 20) / 20); // ties happen
          for (let step = 1; step <= length; step++) {
            const h = history.slice(0, step);
            const best = direction === 'max' ? Math.max(...h) : Math.min(...h);
            const expected = rule.check({ history: h }, done, direction);
            expect(index.check(h, best)).toEqual(expected);
            if (expected) decisions++;
          }
          done.push({ history });
          index.addFinished(history);
        }
        expect(decisions).toBeGreaterThan(3); // the comparison covered stops, not only go-ons
      }
    }
  });

  it('validates its options', () => {
    expect(() => new MedianStoppingRule({ interval: 0 })).toThrow(/interval must be a positive integer/);
    expect(() => new MedianStoppingRule({ minTrials: -1 })).toThrow(/minTrials/);
  });
});
