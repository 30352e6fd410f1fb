/**
 * The `floe bench <name>` contract (DESIGN.md): progress on stderr-like lines, then exactly one line of
 * JSON with at least bench, ratio, goal and better, plus the raw figures and the reference.
 */
export const BENCH_NAMES = ['train', 'featurestore', 'search', 'serve', 'tiles', 'panels'] as const;
export type BenchName = (typeof BENCH_NAMES)[number];

export interface BenchLine {
  bench: BenchName;
  /** null only when the benchmark could not run here; `unavailable` then says why. */
  ratio: number | null;
  goal: number;
  better: 'higher' | 'lower';
  unavailable?: string;
  [figure: string]: unknown;
}

export const BENCH_GOALS: Record<BenchName, { goal: number; better: 'higher' | 'lower' }> = {
  train: { goal: 0.9, better: 'higher' },
  featurestore: { goal: 0.5, better: 'higher' },
  search: { goal: 0.42, better: 'lower' },
  serve: { goal: 0.8, better: 'higher' },
  tiles: { goal: 1.3, better: 'lower' },
  panels: { goal: 1, better: 'lower' },
};

export function isBenchName(name: string): name is BenchName {
  return (BENCH_NAMES as readonly string[]).includes(name);
}
