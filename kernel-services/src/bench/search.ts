/**
 * `floe bench search`: the same trials (same sampled configurations, same seeds) run asynchronously
 * with Maggy's median early stopping and synchronously (batches of `workers` trials, each batch waits
 * for its slowest; no early stopping, like a Spark stage per batch), on the same warmed-up pool of
 * worker processes, one after the other, through the product's path (store writes and experiment
 * tracker runs included). Two parts:
 * - replay: hundreds of trials whose learning curves and epoch durations come from the documented
 *   replay model (search/replay.ts, docs/benchmarks.md), played with real timers in real processes
 *   (sleeps, not CPU work, so 16 workers on 2 cores measure the scheduler, not the cores), at 4, 8 and
 *   16 workers; also asynchronously without early stopping, which isolates what dropping the
 *   barriers gains on heterogeneous trial durations; scaling efficiency relative to the smallest pool;
 * - real: a small search that really trains the iceberg LeNet (TensorFlow.js, native backend).
 * The headline ratio is the worst (highest) async/sync ratio of the replay worker counts.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { BENCH_GOALS, type BenchLine } from './contract';
import type { BenchRunner } from './index';
import { openProjectStore, type ProjectStore } from '../store';
import type { SearchConfig } from '../search/config';
import { SearchDriver, type SearchRecorder, type SearchResult } from '../search/driver';
import { LocalProcessExecutor } from '../search/executors/local';
import { LENET_SEARCH_SPACE, REPLAY_EPOCHS, replayCurve } from '../search/replay';
import { TrackerSearchRecorder } from '../search/tracking';

export interface SearchBenchOptions {
  trials: number;
  workers: number[];
  /** FLOE_REPLAY_SCALE: multiplier on the replay model's epoch durations (20 ms nominal). */
  scale: number;
  minTrials: number;
  realTrials: number;
  realWorkers: number;
  seed: number;
}

export function parseSearchBenchArgs(args: string[]): SearchBenchOptions {
  const o: SearchBenchOptions = {
    trials: 480,
    workers: [4, 8, 16],
    scale: 0.5,
    minTrials: 10,
    realTrials: 8,
    realWorkers: 2,
    seed: 42,
  };
  for (let i = 0; i < args.length; i++) {
    const a = args[i]!;
    const v = args[i + 1];
    const num = (): number => {
      const n = Number(v);
      if (v === undefined || !Number.isFinite(n) || n < 0)
        throw new RangeError(`bench search: ${a} needs a non-negative number, got ${v}`);
      i++;
      return n;
    };
    if (a === '--trials') o.trials = num();
    else if (a === '--scale') o.scale = num();
    else if (a === '--min-trials') o.minTrials = num();
    else if (a === '--real-trials') o.realTrials = num();
    else if (a === '--real-workers') o.realWorkers = num();
    else if (a === '--seed') o.seed = num();
    else if (a === '--workers') {
      o.workers = (v ?? '').split(',').map(Number);
      if (!o.workers.length || o.workers.some((w) => !Number.isInteger(w) || w < 1))
        throw new RangeError(`bench search: --workers takes e.g. 4,8,16, got ${v}`);
      i++;
    } else
      throw new RangeError(
        `bench search: unknown option '${a}' (--trials N --workers 4,8,16 --scale X --min-trials N --real-trials N --real-workers N --seed N)`,
      );
  }
  return o;
}

const ext = path.extname(__filename) === '.ts' ? '.ts' : '.js';
const searchDir = path.join(__dirname, '..', 'search');

const r3 = (x: number): number => Math.round(x * 1000) / 1000;

interface PairFigures {
  workers: number;
  trials: number;
  asyncSeconds: number;
  syncSeconds: number;
  ratio: number;
  asyncUtilisation: number;
  syncUtilisation: number;
  asyncBest: number | null;
  syncBest: number | null;
  stoppedEarly: number;
  asyncWorkSeconds: number;
  syncWorkSeconds: number;
  /** Where the async run's worker time went (see SearchTimeline). */
  asyncTimeline: {
    steadyUtilisation: number;
    tailSeconds: number;
    dispatchGapMsP50: number;
    dispatchGapMsP95: number;
    dispatchGapSeconds: number;
    prefetch: number;
    storeBatches: number;
    storeSeconds: number;
  };
  /** Replay only: the model's nominal durations of the epochs the async run played (timer overrun = work ÷ this). */
  asyncNominalWorkSeconds?: number;
  /** Replay only: async without early stopping, same trials: what removing the barriers alone gains. */
  asyncNoStopSeconds?: number;
  asyncNoStopUtilisation?: number;
  barrierRatio?: number;
}

function figures(workers: number, a: SearchResult, s: SearchResult): PairFigures {
  return {
    workers,
    trials: a.trials.length,
    asyncSeconds: r3(a.wallMs / 1000),
    syncSeconds: r3(s.wallMs / 1000),
    ratio: r3(a.wallMs / s.wallMs),
    asyncUtilisation: r3(a.utilisation),
    syncUtilisation: r3(s.utilisation),
    asyncBest: a.best?.metric ?? null,
    syncBest: s.best?.metric ?? null,
    stoppedEarly: a.stoppedEarly,
    asyncWorkSeconds: r3(a.busyMs / 1000),
    syncWorkSeconds: r3(s.busyMs / 1000),
    asyncTimeline: {
      steadyUtilisation: r3(a.timeline.steadyUtilisation),
      tailSeconds: r3(a.timeline.tailMs / 1000),
      dispatchGapMsP50: a.timeline.dispatchGapMs.p50,
      dispatchGapMsP95: a.timeline.dispatchGapMs.p95,
      dispatchGapSeconds: r3(a.timeline.dispatchGapMs.total / 1000),
      prefetch: a.prefetch,
      storeBatches: a.writes.batches,
      storeSeconds: r3(a.writes.flushMs / 1000),
    },
  };
}

/** Σ over trials of the replay model's durations of the epochs each trial actually played. */
function nominalWorkSeconds(r: SearchResult, scale: number): number {
  let ms = 0;
  for (const t of r.trials) {
    const { epochMs } = replayCurve(t.params, t.seed, Number(t.budget ?? t.params.epochs ?? REPLAY_EPOCHS));
    for (let i = 0; i < t.steps; i++) ms += epochMs[i]! * scale;
  }
  return r3(ms / 1000);
}

async function pair(
  store: ProjectStore,
  executor: LocalProcessExecutor,
  recorder: SearchRecorder,
  base: SearchConfig,
  minTrials: number,
): Promise<[SearchResult, SearchResult]> {
  const a = await SearchDriver.run(
    store,
    { ...base, name: `${base.name}-async`, mode: 'async', earlyStopping: { rule: 'median', minTrials } },
    { executor, recorder },
  );
  const s = await SearchDriver.run(
    store,
    { ...base, name: `${base.name}-sync`, mode: 'sync', earlyStopping: null },
    { executor, recorder },
  );
  return [a, s];
}

export const benchSearch: BenchRunner = async (args, log): Promise<BenchLine> => {
  const o = parseSearchBenchArgs(args);
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-bench-search-'));
  const store = await openProjectStore({ home });
  // Trials are recorded as tracker runs, as `runSearch` does: the store's cost is part of the figure.
  const recorder = new TrackerSearchRecorder(store);
  const replay: PairFigures[] = [];
  let real: PairFigures | null = null;
  let realUnavailable: string | undefined;
  try {
    const replayConfig: SearchConfig = {
      name: 'bench-replay',
      space: LENET_SEARCH_SPACE,
      optimizer: 'random',
      numTrials: o.trials,
      metric: 'val_accuracy',
      direction: 'max',
      trial: { module: path.join(searchDir, `replay${ext}`), export: 'replayTrial' },
      seed: o.seed,
    };
    for (const w of o.workers) {
      log(`replay: ${o.trials} trials on ${w} worker processes (epoch times × ${o.scale})`);
      const executor = new LocalProcessExecutor({ workers: w, gpus: [], env: { FLOE_REPLAY_SCALE: String(o.scale) } });
      try {
        await executor.start();
        // Warm-up: every worker loads the trial module once before anything is timed.
        await SearchDriver.run(
          store,
          { ...replayConfig, name: 'bench-warmup', numTrials: w, fixedParams: { epochs: 1 } },
          { executor, recorder },
        );
        const [a, s] = await pair(store, executor, recorder, replayConfig, o.minTrials);
        const n = await SearchDriver.run(
          store,
          { ...replayConfig, name: `${replayConfig.name}-async-no-stopping`, mode: 'async', earlyStopping: null },
          { executor, recorder },
        );
        const f: PairFigures = {
          ...figures(w, a, s),
          asyncNominalWorkSeconds: nominalWorkSeconds(a, o.scale),
          asyncNoStopSeconds: r3(n.wallMs / 1000),
          asyncNoStopUtilisation: r3(n.utilisation),
          barrierRatio: r3(n.wallMs / s.wallMs),
        };
        replay.push(f);
        log(
          `  async ${f.asyncSeconds}s (utilisation ${f.asyncUtilisation}, before the tail ${f.asyncTimeline.steadyUtilisation}, tail ${f.asyncTimeline.tailSeconds}s, ` +
            `dispatch gap p50 ${f.asyncTimeline.dispatchGapMsP50} ms, ${f.stoppedEarly} stopped early, best ${f.asyncBest?.toFixed(4)}) | ` +
            `sync ${f.syncSeconds}s (utilisation ${f.syncUtilisation}, best ${f.syncBest?.toFixed(4)}) | ratio ${f.ratio} | ` +
            `async without early stopping ${f.asyncNoStopSeconds}s (${f.barrierRatio} of sync)`,
        );
      } finally {
        await executor.close();
      }
    }

    if (o.realTrials > 0) {
      log(`real training: ${o.realTrials} iceberg LeNet trials (TensorFlow.js native) on ${o.realWorkers} workers`);
      const executor = new LocalProcessExecutor({ workers: o.realWorkers, gpus: [] });
      try {
        await executor.start();
        const realConfig: SearchConfig = {
          name: 'bench-real',
          space: { ...LENET_SEARCH_SPACE, filters: { type: 'discrete', values: [4, 8, 16] } },
          optimizer: 'random',
          numTrials: o.realTrials,
          metric: 'val_accuracy',
          direction: 'max',
          trial: { module: path.join(searchDir, 'trials', `iceberg-lenet${ext}`), export: 'icebergLenetTrial' },
          seed: o.seed,
          fixedParams: { samples: 240, size: 32, epochs: 6, dataSeed: 7 },
        };
        await SearchDriver.run(
          store,
          {
            ...realConfig,
            name: 'bench-real-warmup',
            numTrials: o.realWorkers,
            fixedParams: { ...realConfig.fixedParams, epochs: 1 },
          },
          { executor, recorder },
        );
        const [a, s] = await pair(
          store,
          executor,
          recorder,
          realConfig,
          Math.min(o.minTrials, Math.max(1, Math.floor(o.realTrials / 4))),
        );
        real = figures(o.realWorkers, a, s);
        log(
          `  async ${real.asyncSeconds}s (best ${real.asyncBest?.toFixed(4)}, ${real.stoppedEarly} stopped early) | sync ${real.syncSeconds}s (best ${real.syncBest?.toFixed(4)}) | ratio ${real.ratio}`,
        );
      } catch (err) {
        realUnavailable = `real-training part failed: ${(err as Error).message}`;
        log(realUnavailable);
      } finally {
        await executor.close();
      }
    }
  } finally {
    await store.close();
    fs.rmSync(home, { recursive: true, force: true });
  }

  const base = replay.find((f) => f.workers === Math.min(...o.workers));
  const scaling = replay.map((f) => ({
    workers: f.workers,
    // Speed-up over the smallest pool per added worker: (T_base · W_base) / (T_W · W).
    efficiency: base ? r3((base.asyncSeconds * base.workers) / (f.asyncSeconds * f.workers)) : null,
    // The same without early stopping: every pool does exactly the same work (with the rule, more
    // workers mean more trials run before enough have finished for it to act).
    efficiencyWithoutStopping:
      base?.asyncNoStopSeconds && f.asyncNoStopSeconds
        ? r3((base.asyncNoStopSeconds * base.workers) / (f.asyncNoStopSeconds * f.workers))
        : null,
    asyncUtilisation: f.asyncUtilisation,
    steadyUtilisation: f.asyncTimeline.steadyUtilisation,
  }));
  const ratio = replay.length ? Math.max(...replay.map((f) => f.ratio)) : null;
  return {
    bench: 'search',
    ratio,
    ...BENCH_GOALS.search,
    reference:
      'synchronous mode (batches of `workers` trials, no early stopping) on the same trials, seeds and worker pool, measured in this run',
    ratioIs: 'worst async/sync wall-clock ratio over the replay worker counts',
    otherGoals: {
      asyncUtilisation: '>= 0.95 (Σ busy time measured in the workers ÷ (workers × wall-clock), whole run)',
      scalingEfficiencyAt16: '>= 0.9 ((T_base·W_base)/(T_16·16), async runs)',
    },
    replay,
    scaling,
    real,
    ...(realUnavailable ? { realUnavailable } : {}),
    options: o,
    machine: { cpus: os.cpus().length, model: os.cpus()[0]?.model ?? 'unknown', node: process.version },
  };
};
