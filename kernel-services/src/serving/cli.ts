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
  --predict-thread      run the models on a worker thread instead of the server's event loop
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
  'allow-remote',
  'name',
  'help',
]);

export function serveOptionsFromArgs(positionals: string[], options: Record<string, string | true>): ServeOptions {
  for (const k of Object.keys(options))
    if (!KNOWN.has(k)) throw new RangeError(`serve: unknown option --${k} (see 'floe serve --help')`);
  const maxBody = positiveNumber(options, 'max-body-mb', false, 0.001);
  if (options.name === true) throw new RangeError('serve: --name needs a deployment name');
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
    ...(options['predict-thread'] === true ? { predictThread: true } : {}),
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
