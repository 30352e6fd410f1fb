import * as os from 'node:os';
import { tfExecution, type TfExecution } from '../training/backend';
import { serve, type ServeOptions } from './server';

/**
 * `floe serve [MODEL...] [options]`: serves registered models (all of them when none is named)
 * from the project store of the environment until SIGINT/SIGTERM.
 */

export const SERVE_USAGE = `usage: floe serve [MODEL...] [options]

Serves registered models (every model in the registry when none is named) over TensorFlow Serving's
REST API: GET /v1/models/M[/versions/V|/labels/L][/metadata], POST .../M[...]:predict, /healthz, /metrics.

options:
  --port N              TCP port (default 8501; 0 picks a free one)
  --host H              listen address (default 127.0.0.1; others need --allow-remote)
  --all-versions        serve every version (default: the latest plus every aliased version)
  --no-batching         run each request on its own
  --max-batch-size N    most instances per batch (default 32)
  --max-wait-us N       longest a request waits for a batch, microseconds (default 0: what arrives together)
  --poll-ms N           how often to look for new versions and alias moves (default 2000; 0: never)
  --max-body-mb N       largest request body (default 32)
  --no-request-log      do not log requests into the project store
  --no-predict-thread   run the models on the server's event loop (default: on a thread of their own,
                        so reading and decoding requests overlaps with the models' work)
  --intra-op-threads N  TensorFlow's intra-op threads (default: one per core but one, which is left
                        to the server's event loop; at least 1; TF_NUM_INTRAOP_THREADS if set)
  --no-onednn           TensorFlow's own CPU kernels instead of oneDNN's (default: oneDNN, about
                        40% less CPU per batch here; TF_ENABLE_ONEDNN_OPTS if set)
  --name NAME           deployment name recorded in the project store (default: the models served,
                        joined by '-', or all-models); the Models panel shows deployments by name
`;

function positiveNumber(
  options: Record<string, string | true>,
  key: string,
  integer = true,
  min = 1,
): number | undefined {
  const v = options[key];
  if (v === undefined) return undefined;
  const n = Number(v);
  if (v === true || !Number.isFinite(n) || n < min || (integer && !Number.isInteger(n))) {
    throw new RangeError(
      `serve: --${key} must be ${integer ? 'an integer' : 'a number'} >= ${min}, got '${String(v)}'`,
    );
  }
  return n;
}

const KNOWN = new Set([
  'port',
  'host',
  'all-versions',
  'no-batching',
  'max-batch-size',
  'max-wait-us',
  'poll-ms',
  'max-body-mb',
  'no-request-log',
  'predict-thread',
  'no-predict-thread',
  'intra-op-threads',
  'no-onednn',
  'allow-remote',
  'name',
  'help',
]);

/**
 * How `floe serve` runs TensorFlow unless told otherwise: the models on a predict thread with one
 * intra-op thread per core but one (the event loop reads and decodes requests on the core left),
 * and oneDNN kernels. On two cores that is what served the most (docs/benchmarks.md, serving).
 * TF_NUM_INTRAOP_THREADS and TF_ENABLE_ONEDNN_OPTS in the environment win over these defaults.
 */
export function defaultServeExecution(cores = os.availableParallelism()): TfExecution {
  const env = tfExecution();
  return { intraOpThreads: env.intraOpThreads ?? Math.max(1, cores - 1), onednn: env.onednn ?? true };
}

export function serveOptionsFromArgs(positionals: string[], options: Record<string, string | true>): ServeOptions {
  for (const k of Object.keys(options))
    if (!KNOWN.has(k)) throw new RangeError(`serve: unknown option --${k} (see 'floe serve --help')`);
  const maxBody = positiveNumber(options, 'max-body-mb', false, 0.001);
  if (options.name === true) throw new RangeError('serve: --name needs a deployment name');
  if (options['predict-thread'] === true && options['no-predict-thread'] === true)
    throw new RangeError('serve: --predict-thread and --no-predict-thread contradict each other');
  const batching =
    options['no-batching'] === true
      ? false
      : {
          ...(positiveNumber(options, 'max-batch-size') !== undefined
            ? { maxBatchSize: positiveNumber(options, 'max-batch-size')! }
            : {}),
          ...(positiveNumber(options, 'max-wait-us', true, 0) !== undefined
            ? { maxWaitUs: positiveNumber(options, 'max-wait-us', true, 0)! }
            : {}),
        };
  return {
    ...(positionals.length ? { models: positionals } : {}),
    port: positiveNumber(options, 'port', true, 0) ?? 8501,
    ...(typeof options.host === 'string' ? { host: options.host } : {}),
    allowRemote: options['allow-remote'] === true,
    versionPolicy: options['all-versions'] === true ? 'all' : 'latest',
    batching,
    ...(positiveNumber(options, 'poll-ms', true, 0) !== undefined
      ? { pollIntervalMs: positiveNumber(options, 'poll-ms', true, 0)! }
      : {}),
    ...(maxBody !== undefined ? { maxBodyBytes: Math.round(maxBody * 1024 * 1024) } : {}),
    ...(options['no-request-log'] === true ? { requestLog: false as const } : {}),
    predictThread: options['no-predict-thread'] !== true,
    execution: {
      ...defaultServeExecution(),
      ...(positiveNumber(options, 'intra-op-threads') !== undefined
        ? { intraOpThreads: positiveNumber(options, 'intra-op-threads')! }
        : {}),
      ...(options['no-onednn'] === true ? { onednn: false } : {}),
    },
    ...(typeof options.name === 'string' ? { deployment: { name: options.name } } : {}),
  };
}

export async function serveCommand(
  positionals: string[],
  options: Record<string, string | true>,
  out: (line: string) => void,
): Promise<number> {
  if (options.help === true) {
    out(SERVE_USAGE);
    return 0;
  }
  const server = await serve({ ...serveOptionsFromArgs(positionals, options), log: out });
  out(`floe serve listening on ${server.url}${server.deployment ? ` (deployment ${server.deployment.name})` : ''}`);
  for (const m of server.models.overview()) {
    out(
      `  ${m.name} version ${m.version}: ${m.state}${m.labels.length ? ` (labels: ${m.labels.join(', ')})` : ''}${m.error ? ` — ${m.error}` : ''}`,
    );
  }
  if (server.models.names().length === 0)
    out('  (no registered models yet: new ones are picked up as they are registered)');
  await new Promise<void>((resolve) => {
    const stop = (): void => {
      out('floe serve: stopping (finishing requests in flight)');
      void server.close().then(resolve);
    };
    process.once('SIGINT', stop);
    process.once('SIGTERM', stop);
  });
  return 0;
}
