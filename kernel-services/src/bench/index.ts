import { BENCH_GOALS, type BenchLine, type BenchName } from './contract';

export type BenchRunner = (args: string[], log: (line: string) => void) => Promise<BenchLine>;

/** Benchmarks by name; loaded on demand so `floe bench train` does not pay for the others. */
const runners: Partial<Record<BenchName, () => Promise<BenchRunner>>> = {
  train: async () => (await import('./train')).benchTrain,
  search: async () => (await import('./search')).benchSearch,
  featurestore: async () => (await import('./featurestore')).benchFeaturestore,
  serve: async () => (await import('./serve')).benchServe,
  panels: async () => (await import('./panels')).benchPanels,
  tiles: async () => (await import('./tiles')).benchTiles,
};

export async function runBench(name: BenchName, args: string[], log: (line: string) => void): Promise<BenchLine> {
  const load = runners[name];
  if (!load) {
    return { bench: name, ratio: null, ...BENCH_GOALS[name], unavailable: `the ${name} benchmark is not built yet` };
  }
  return (await load())(args, log);
}
