/**
 * `floe search`, `floe ablate` and `floe worker`: thin command-line adapters over the library.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import type { AblationStudyConfig } from '../ablation/study';
import { openProjectStore } from '../store';
import type { SearchConfig } from './config';
import type { SearchResult } from './driver';
import { SearchRepository } from './repository';

export class SearchUsageError extends Error {
  override name = 'SearchUsageError';
}

export const SEARCH_USAGE = `floe search run --config FILE.json [--workers N] [--redis URL] [--sync]
floe search resume ID [--workers N] [--redis URL] [--force]
floe search stop ID
floe search list
floe search show ID           trials as JSON
floe ablate --config FILE.json [--workers N] [--redis URL]
floe worker --redis URL [--queue NAME] [--concurrency N] [--home DIR]
  The config file holds a SearchConfig (search) or AblationStudyConfig (ablate) as JSON; a relative
  trial module path resolves against the config file's folder.`;

type Opts = Record<string, string | true>;

function readConfig<T extends { trial: { module: string; export: string } }>(file: string | true | undefined): T {
  if (typeof file !== 'string') throw new SearchUsageError('--config FILE.json is required');
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new SearchUsageError(`cannot read config ${file}: ${(err as Error).message}`);
  }
  let config: T;
  try {
    config = JSON.parse(text) as T;
  } catch (err) {
    throw new SearchUsageError(`config ${file} is not valid JSON: ${(err as Error).message}`);
  }
  if (config?.trial?.module && (config.trial.module.startsWith('./') || config.trial.module.startsWith('../'))) {
    config.trial.module = path.resolve(path.dirname(path.resolve(file)), config.trial.module);
  }
  return config;
}

function workersOf(options: Opts): number | undefined {
  if (options.workers === undefined) return undefined;
  const n = Number(options.workers);
  if (!Number.isInteger(n) || n < 1)
    throw new SearchUsageError(`--workers must be a positive integer, got ${options.workers}`);
  return n;
}

function summarise(r: SearchResult): string {
  return JSON.stringify({
    searchId: r.searchId,
    status: r.status,
    trials: r.trials.length,
    stoppedEarly: r.stoppedEarly,
    errors: r.errors,
    wallSeconds: Math.round(r.wallMs) / 1000,
    utilisation: Math.round(r.utilisation * 1000) / 1000,
    best: r.best ? { trial: r.best.number, metric: r.best.metric, params: r.best.params } : null,
  });
}

function progress(out: (l: string) => void) {
  return (e: import('./driver').SearchEvent): void => {
    if (e.type === 'trial-ended')
      out(
        `trial ${e.number}: ${e.status}${e.metric !== null ? ` ${e.metric.toFixed(4)}` : ''}${e.reason ? ` (${e.reason})` : ''}`,
      );
  };
}

export async function searchCommand(
  argv: string[],
  out: (l: string) => void,
  parseArgs: (a: string[]) => { positionals: string[]; options: Opts },
): Promise<number> {
  const { positionals, options } = parseArgs(argv);
  const [sub, id] = positionals;
  const lib = await import('./index');
  const redis = typeof options.redis === 'string' ? options.redis : undefined;
  switch (sub) {
    case 'run': {
      const config = readConfig<SearchConfig>(options.config);
      const workers = workersOf(options);
      if (workers) config.workers = workers;
      if (options.sync === true) config.mode = 'sync';
      const r = await lib.runSearch(config, { redis, onUpdate: progress(out) });
      out(summarise(r));
      return r.status === 'failed' ? 1 : 0;
    }
    case 'resume': {
      const r = await lib.resumeSearch(searchIdOf(id), {
        redis,
        force: options.force === true,
        onUpdate: progress(out),
      });
      out(summarise(r));
      return r.status === 'failed' ? 1 : 0;
    }
    case 'stop':
      await lib.stopSearch(searchIdOf(id));
      out(`asked search ${id} to stop`);
      return 0;
    case 'list':
    case 'show': {
      const store = await openProjectStore();
      try {
        const repo = new SearchRepository(store);
        if (sub === 'list') {
          for (const s of await repo.listSearches()) out(`${s.id}\t${s.kind}\t${s.status}\t${s.name}\t${s.createdAt}`);
        } else {
          const s = await repo.getSearch(searchIdOf(id));
          out(JSON.stringify({ ...s, trials: await repo.listTrials(s.id) }, null, 2));
        }
      } finally {
        await store.close();
      }
      return 0;
    }
    default:
      throw new SearchUsageError(`search: name a subcommand\n${SEARCH_USAGE}`);
  }
}

function searchIdOf(id: string | undefined): number {
  const n = Number(id);
  if (!Number.isInteger(n) || n < 1) throw new SearchUsageError(`give the search id, got ${id ?? 'nothing'}`);
  return n;
}

export async function ablateCommand(
  argv: string[],
  out: (l: string) => void,
  parseArgs: (a: string[]) => { positionals: string[]; options: Opts },
): Promise<number> {
  const { options } = parseArgs(argv);
  const config = readConfig<AblationStudyConfig>(options.config);
  const workers = workersOf(options);
  if (workers) config.workers = workers;
  const lib = await import('./index');
  const r = await lib.runAblation(config, {
    redis: typeof options.redis === 'string' ? options.redis : undefined,
    onUpdate: progress(out),
  });
  const base = r.trials.find((t) => t.params.component === 'base');
  for (const t of r.trials) {
    const delta = t.metric !== null && base?.metric != null ? t.metric - base.metric : null;
    out(
      `${String(t.params.component).padEnd(16)} ${t.status.padEnd(10)} ${t.metric?.toFixed(4) ?? '-'}  Δ ${delta === null ? '-' : (delta >= 0 ? '+' : '') + delta.toFixed(4)}`,
    );
  }
  out(summarise(r));
  return r.status === 'failed' ? 1 : 0;
}

export async function workerCommand(
  argv: string[],
  out: (l: string) => void,
  parseArgs: (a: string[]) => { positionals: string[]; options: Opts },
): Promise<number> {
  const { options } = parseArgs(argv);
  if (typeof options.redis !== 'string') throw new SearchUsageError('worker: --redis redis://host:port is required');
  if (typeof options.home === 'string') process.env.FLOE_HOME = path.resolve(options.home);
  const concurrency = options.concurrency === undefined ? 1 : Number(options.concurrency);
  if (!Number.isInteger(concurrency) || concurrency < 1)
    throw new SearchUsageError(`--concurrency must be a positive integer, got ${options.concurrency}`);
  const { startRedisWorker } = await import('./executors/redis');
  const worker = await startRedisWorker({
    url: options.redis,
    queue: typeof options.queue === 'string' ? options.queue : undefined,
    concurrency,
    log: out,
  });
  await new Promise<void>((resolve) => {
    const stop = (): void => void worker.close().then(resolve);
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}
