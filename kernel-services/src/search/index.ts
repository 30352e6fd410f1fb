/**
 * Hyperparameter search and ablation from notebooks, the CLI and workers.
 *
 * ```ts
 * import { runSearch, searchBundle, LENET_SEARCH_SPACE } from 'floe';
 * const result = await runSearch({
 *   name: 'lenet-lr', space: LENET_SEARCH_SPACE, optimizer: 'tpe', numTrials: 24,
 *   metric: 'val_accuracy', direction: 'max', earlyStopping: { rule: 'median', minTrials: 4 },
 *   trial: { module: require.resolve('floe/dist/search/trials/iceberg-lenet'), export: 'icebergLenetTrial' },
 *   workers: 2,
 * });
 * ```
 */
import { openProjectStore, type ProjectStore, type StoreOptions } from '../store';
import { ablationSearchConfig, type AblationStudyConfig } from '../ablation/study';
import type { SearchConfig } from './config';
import { SearchDriver, type SearchEvent, type SearchRecorder, type SearchResult } from './driver';
import { InProcessExecutor } from './executors/in-process';
import { LocalProcessExecutor, type LocalExecutorOptions } from './executors/local';
import type { TrialExecutor } from './executors/types';
import { SearchRepository } from './repository';
import type { TrialFunction } from './trial';

export interface SearchRunOptions {
  /** The project store (default: opened from FLOE_HOME / ./floe-project, and closed afterwards). */
  store?: ProjectStore | StoreOptions;
  /** Where trials run. Default: a local pool of `config.workers` (2) worker processes. */
  executor?: TrialExecutor;
  /** Run on `floe worker` processes through this Redis (`redis://host:port`). */
  redis?: string;
  /** Options of the default local pool. */
  local?: LocalExecutorOptions;
  /** Run this function inside the notebook's process instead of loading `config.trial` in workers. */
  trialFunction?: TrialFunction;
  /** Record the search and its trials as runs of the experiment tracker (default true). */
  track?: boolean;
  recorder?: SearchRecorder;
  onUpdate?: (event: SearchEvent) => void;
}

async function withContext<T>(
  config: Pick<SearchConfig, 'workers'>,
  opts: SearchRunOptions,
  body: (store: ProjectStore, executor: TrialExecutor, recorder: SearchRecorder | undefined) => Promise<T>,
): Promise<T> {
  const ownStore = !opts.store || !('db' in opts.store);
  const store = ownStore
    ? await openProjectStore((opts.store as StoreOptions | undefined) ?? {})
    : (opts.store as ProjectStore);
  const workers = config.workers ?? opts.local?.workers ?? 2;
  let executor = opts.executor;
  let ownExecutor = false;
  try {
    if (!executor) {
      ownExecutor = true;
      if (opts.trialFunction) executor = new InProcessExecutor(workers, opts.trialFunction);
      else if (opts.redis) {
        const { RedisExecutor } = await import('./executors/redis');
        executor = new RedisExecutor({ url: opts.redis, workers });
      } else executor = new LocalProcessExecutor({ ...opts.local, workers });
    }
    let recorder = opts.recorder;
    if (!recorder && opts.track !== false) {
      const { TrackerSearchRecorder } = await import('./tracking');
      recorder = new TrackerSearchRecorder(store);
    }
    return await body(store, executor, recorder);
  } finally {
    if (ownExecutor) await executor?.close();
    if (ownStore) await store.close();
  }
}

/** Runs a search to the end and returns its trials and best trial. */
export function runSearch(config: SearchConfig, opts: SearchRunOptions = {}): Promise<SearchResult> {
  return withContext(config, opts, (store, executor, recorder) =>
    SearchDriver.run(store, config, { executor, recorder, onUpdate: opts.onUpdate }),
  );
}

/** Resumes a search whose driver is gone (e.g. after a kernel restart) and runs it to the end. */
export async function resumeSearch(
  searchId: number,
  opts: SearchRunOptions & { force?: boolean } = {},
): Promise<SearchResult> {
  const ownStore = !opts.store || !('db' in opts.store);
  const probe = ownStore
    ? await openProjectStore((opts.store as StoreOptions | undefined) ?? {})
    : (opts.store as ProjectStore);
  try {
    const { config } = await new SearchRepository(probe).getSearch(searchId);
    return await withContext(config, { ...opts, store: probe }, async (store, executor, recorder) => {
      const driver = await SearchDriver.resume(store, searchId, {
        executor,
        recorder,
        onUpdate: opts.onUpdate,
        force: opts.force,
      });
      return driver.run();
    });
  } finally {
    if (ownStore) await probe.close();
  }
}

/** Asks a running search (driven by any process) to stop cleanly. */
export async function stopSearch(searchId: number, opts: { store?: ProjectStore | StoreOptions } = {}): Promise<void> {
  const ownStore = !opts.store || !('db' in opts.store);
  const store = ownStore
    ? await openProjectStore((opts.store as StoreOptions | undefined) ?? {})
    : (opts.store as ProjectStore);
  try {
    await new SearchRepository(store).requestStop(searchId);
  } finally {
    if (ownStore) await store.close();
  }
}

/** Runs a leave-one-component-out ablation study (one base trial plus one per component). */
export function runAblation(config: AblationStudyConfig, opts: SearchRunOptions = {}): Promise<SearchResult> {
  const search = ablationSearchConfig(config);
  return withContext(search, opts, (store, executor, recorder) =>
    SearchDriver.run(store, search, { executor, recorder, onUpdate: opts.onUpdate }),
  );
}

export { SearchDriver, type SearchResult, type SearchEvent, type SearchRecorder } from './driver';
export { SearchRepository, SearchNotFoundError, type SearchRecord, type TrialRecord } from './repository';
export { checkSearchConfig, SearchConfigError, type SearchConfig, type MedianStoppingSpec } from './config';
export { SearchSpace, SearchSpaceError } from './space';
export { MedianStoppingRule, type StopDecision } from './stopping';
export { createOptimizer, RandomSearch, GridSearch, Asha, Tpe, type OptimizerSpec } from './optimizers';
export { InProcessExecutor } from './executors/in-process';
export { LocalProcessExecutor, type LocalExecutorOptions } from './executors/local';
export type { TrialExecutor, TrialAssignment } from './executors/types';
export { TrialStopped, type TrialFunction, type TrialFunctionRef, type TrialReporter } from './trial';
export { searchBundle, ablationBundle } from './display';
export { LENET_SEARCH_SPACE, replayTrial, replayCurve } from './replay';
export { ablationPlan, ablationSearchConfig, type AblationStudyConfig } from '../ablation/study';
