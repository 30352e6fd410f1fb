/**
 * What a search is: stored with it (as JSON) so a restarted driver can rebuild everything.
 */
import type { Direction, ParamSpecInput, TrialParams } from '@floe/schema';
import { optimizerName, type OptimizerSpec } from './optimizers';
import { SearchSpace } from './space';
import { resolveTrialRef, type TrialFunctionRef } from './trial';

export interface MedianStoppingSpec {
  rule: 'median';
  minTrials?: number;
  interval?: number;
}

export interface SearchConfig {
  name: string;
  kind?: 'search' | 'ablation';
  space: Record<string, ParamSpecInput>;
  /** `random`, `grid`, `tpe`, `{ name: 'asha', minResource, maxResource, reductionFactor? }`, or a fixed list. */
  optimizer: OptimizerSpec | { name: 'list'; configs: TrialParams[] };
  /** Trials to run (ASHA promotions count; a grid or a list may end sooner). */
  numTrials: number;
  /** The metric the trial function returns and reports, e.g. `val_accuracy`. */
  metric: string;
  direction: Direction;
  earlyStopping?: MedianStoppingSpec | null;
  trial: TrialFunctionRef;
  /** `async` (default): a worker takes the next trial when free. `sync`: batches wait for their slowest. */
  mode?: 'async' | 'sync';
  /** Trials in flight at once. Default: the executor's worker count. */
  workers?: number;
  /**
   * Async mode: attempts kept queued at the executor beyond `workers`, so a worker that finishes
   * starts its next trial without a round trip through the driver. Default: `workers` for random,
   * grid and list; 0 for ASHA and TPE (their next suggestion should see the trial that just ended).
   */
  prefetch?: number;
  seed?: number;
  /** Retries of a failed attempt before the trial is marked error. Default 1. */
  maxRetries?: number;
  /** A started attempt with no heartbeat for this long is failed. Default 120 s. */
  heartbeatTimeoutMs?: number;
  /** Constant parameters merged into every trial's params (data size, epochs, ...); not searched. */
  fixedParams?: TrialParams;
  /** Free-form notes kept with the search (e.g. the ablation plan). */
  extra?: Record<string, unknown>;
}

export class SearchConfigError extends Error {
  override name = 'SearchConfigError';
}

/** Validates a config (naming the bad field) and fills defaults. */
export function checkSearchConfig(config: SearchConfig, where = 'search config'): SearchConfig {
  const fail = (msg: string): never => {
    throw new SearchConfigError(`${where}: ${msg}`);
  };
  if (typeof config !== 'object' || config === null) fail('expected an object');
  if (typeof config.name !== 'string' || !config.name.trim()) fail("'name' must be a non-empty string");
  SearchSpace.from(config.space, `${where}: 'space'`);
  if (!Number.isInteger(config.numTrials) || config.numTrials < 1)
    fail(`'numTrials' must be a positive integer, got ${config.numTrials}`);
  if (config.direction !== 'max' && config.direction !== 'min')
    fail(`'direction' must be 'max' or 'min', got ${JSON.stringify(config.direction)}`);
  if (typeof config.metric !== 'string' || !config.metric) fail("'metric' must name the metric, e.g. 'val_accuracy'");
  if (config.mode !== undefined && config.mode !== 'async' && config.mode !== 'sync')
    fail(`'mode' must be 'async' or 'sync', got ${JSON.stringify(config.mode)}`);
  if (config.workers !== undefined && (!Number.isInteger(config.workers) || config.workers < 1))
    fail(`'workers' must be a positive integer, got ${config.workers}`);
  if (config.prefetch !== undefined && (!Number.isInteger(config.prefetch) || config.prefetch < 0))
    fail(`'prefetch' must be a non-negative integer, got ${config.prefetch}`);
  if (config.maxRetries !== undefined && (!Number.isInteger(config.maxRetries) || config.maxRetries < 0))
    fail(`'maxRetries' must be a non-negative integer`);
  if (config.earlyStopping && config.earlyStopping.rule !== 'median')
    fail(`'earlyStopping.rule' must be 'median', got ${JSON.stringify(config.earlyStopping.rule)}`);
  const opt = config.optimizer;
  const name = typeof opt === 'string' ? opt : opt?.name;
  if (!['random', 'grid', 'tpe', 'asha', 'list'].includes(name as string))
    fail(`'optimizer' must be random, grid, tpe, asha or list, got ${JSON.stringify(name)}`);
  if (
    name === 'list' &&
    (!Array.isArray((opt as { configs?: unknown }).configs) || (opt as { configs: unknown[] }).configs.length === 0)
  ) {
    fail("a 'list' optimizer needs a non-empty 'configs' array");
  }
  let trial: TrialFunctionRef;
  try {
    trial = resolveTrialRef(config.trial);
  } catch (err) {
    return fail(`'trial': ${(err as Error).message}`);
  }
  return { ...config, trial, mode: config.mode ?? 'async', seed: config.seed ?? 0, maxRetries: config.maxRetries ?? 1 };
}

export function describeOptimizer(config: SearchConfig): string {
  const o = config.optimizer;
  return typeof o === 'string' ? o : o.name === 'list' ? 'list' : optimizerName(o as OptimizerSpec);
}
