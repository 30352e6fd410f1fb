import * as fs from 'node:fs';
import * as http from 'node:http';
import type { AddressInfo } from 'node:net';
import {
  AblationBundle,
  API_VERSION,
  ExperimentListResponse,
  FeatureGroupDetailResponse,
  FeatureGroupListResponse,
  DeploymentDetailResponse,
  DeploymentListResponse,
  ModelDetailResponse,
  ModelLineageResponse,
  ModelListResponse,
  RunDetailQuery,
  RunDetailResponse,
  RunImageQuery,
  RunListQuery,
  RunListResponse,
  SearchDetailResponse,
  SearchListResponse,
  TrainingDatasetListResponse,
} from '@floe/schema';
import type { ZodType } from 'zod';
import { info } from '../info';
import { openProjectStore, type ProjectStore } from '../store';
import { ModelRegistry } from '../registry/registry';
import { DeploymentReads, servingChangeCounter } from './deployment-reads';
import { commitLabelsRoute, labelOverlayRoute } from './labels';
import { NotInStoreError, PanelReads, RunImageRefused } from './read-models';
import { PatchPageQuery, PatchPageResponse } from '@floe/schema';
import { closeFeatureStoreReads, featureStoreReads } from './feature-store-reads';

/**
 * The hub: a thin HTTP adapter over the floe library, reached by the browser only through
 * jupyter-server-proxy (which does Jupyter's auth). It listens on a unix socket or on loopback.
 * Routes parse their query with the contract's schemas, call the library, and check what they answer
 * against the contract too (a drifting library fails here, loudly, not in the browser).
 */
export type HubListen = { socket: string } | { port: number; host?: string };

export interface HubOptions {
  /** The project store to serve; default: opened once, on first use, from the environment (FLOE_HOME). */
  store?: ProjectStore;
  /** How often `/v1/events` looks at the store's change counters (ms). */
  eventPollMs?: number;
  /** How long one `/v1/events` stream stays open before the hub ends it (EventSource reconnects). */
  eventStreamMaxMs?: number;
}

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

interface RouteContext {
  req: http.IncomingMessage;
  res: http.ServerResponse;
  url: URL;
  /** Decoded path parameters, in pattern order. */
  params: string[];
  reads(): Promise<PanelReads>;
}

/** A JSON handler returns its body; a streaming one (events) writes `res` itself and returns `STREAMED`. */
const STREAMED = Symbol('streamed');
type Handler = (ctx: RouteContext) => Promise<unknown> | unknown;

interface Route {
  pattern: RegExp;
  methods: Record<string, Handler>;
}

const v = `/v${API_VERSION}`;
const SEGMENT = '([^/]+)';

function route(path: string, methods: Record<string, Handler>): Route {
  const pattern = new RegExp(`^${v}${path.replace(/\{[a-z]+\}/g, SEGMENT)}$`);
  return { pattern, methods };
}

/** Validates a query string against a contract schema; a bad one is a 400 naming the parameter. */
function parseQuery<T>(url: URL, schema: ZodType<T>): T {
  const raw: Record<string, string> = {};
  for (const [k, value] of url.searchParams) raw[k] = value;
  const parsed = schema.safeParse(raw);
  if (!parsed.success) {
    const issues = parsed.error.issues.map((i) => `${i.path.join('.') || '(query)'}: ${i.message}`).join('; ');
    throw new HttpError(400, `bad query on ${url.pathname}: ${issues}`);
  }
  return parsed.data;
}

function integerParam(value: string, what: string): number {
  if (!/^\d{1,15}$/.test(value)) throw new HttpError(400, `${what} must be a positive integer, got '${value}'`);
  return Number(value);
}

/** Answers are checked against the contract before they leave (the response schema names the route's shape). */
function answer<T>(schema: ZodType<T>, body: T): T {
  const checked = schema.safeParse(body);
  if (!checked.success) {
    const issues = checked.error.issues.map((i) => `${i.path.join('.') || '(body)'}: ${i.message}`).join('; ');
    throw new Error(`the hub built a body outside its contract: ${issues}`);
  }
  return checked.data;
}

const routes: Route[] = [
  route('/info', { GET: () => info() }),
  route('/experiments', {
    GET: async ({ reads }) => answer(ExperimentListResponse, { experiments: await (await reads()).experiments() }),
  }),
  route('/experiments/{name}/runs', {
    GET: async ({ reads, params, url }) =>
      answer(RunListResponse, await (await reads()).runPage(params[0]!, parseQuery(url, RunListQuery))),
  }),
  route('/runs/{id}', {
    GET: async ({ reads, params, url }) =>
      answer(
        RunDetailResponse,
        await (await reads()).runDetail(integerParam(params[0]!, 'run id'), parseQuery(url, RunDetailQuery).points),
      ),
  }),
  route('/runs/{id}/image', {
    // Saliency and other images of a run: the artifact's own key, a size bound, the type from magic bytes.
    GET: async ({ reads, params, url, res }) => {
      const runId = integerParam(params[0]!, 'run id');
      let image;
      try {
        image = await (await reads()).runImage(runId, parseQuery(url, RunImageQuery));
      } catch (err) {
        if (err instanceof RunImageRefused) throw new HttpError(err.status, err.message);
        throw err;
      }
      res.writeHead(200, {
        'content-type': image.contentType,
        'content-length': image.bytes.byteLength,
        'cache-control': 'private, max-age=60',
        'x-content-type-options': 'nosniff',
        'content-security-policy': "default-src 'none'; sandbox",
      });
      res.end(image.bytes);
      return STREAMED;
    },
  }),
  route('/models', {
    GET: async ({ reads }) =>
      answer(ModelListResponse, { models: await new ModelRegistry((await reads()).store).names() }),
  }),
  route('/models/{name}', {
    GET: async ({ reads, params }) => {
      const versions = await new ModelRegistry((await reads()).store).versions(params[0]!);
      if (!versions.length) throw new NotInStoreError(`no registered model '${params[0]}' in this project`);
      return answer(ModelDetailResponse, { name: params[0]!, versions });
    },
  }),
  route('/models/{name}/versions/{version}/lineage', {
    GET: async ({ reads, params }) => {
      const registry = new ModelRegistry((await reads()).store);
      const version = integerParam(params[1]!, 'model version');
      return answer(ModelLineageResponse, await registry.lineage({ name: params[0]!, version }));
    },
  }),
  route('/deployments', {
    GET: async ({ reads }) =>
      answer(DeploymentListResponse, { deployments: await new DeploymentReads((await reads()).store).list() }),
  }),
  route('/deployments/{name}', {
    GET: async ({ reads, params }) =>
      answer(DeploymentDetailResponse, await new DeploymentReads((await reads()).store).detail(params[0]!)),
  }),
  route('/feature-groups', {
    GET: async ({ reads }) =>
      answer(FeatureGroupListResponse, { featureGroups: await (await reads()).featureGroups() }),
  }),
  route('/feature-groups/{name}', {
    GET: async ({ reads, params, url }) => {
      const version = url.searchParams.get('version');
      return answer(
        FeatureGroupDetailResponse,
        await (await reads()).featureGroup(params[0]!, version === null ? undefined : integerParam(version, 'version')),
      );
    },
  }),
  route('/feature-groups/{name}/patches', {
    GET: async ({ reads, params, url }) =>
      answer(
        PatchPageResponse,
        await featureStoreReads((await reads()).store).patchPage(params[0]!, parseQuery(url, PatchPageQuery)),
      ),
  }),
  route('/training-datasets', {
    GET: async ({ reads }) =>
      answer(TrainingDatasetListResponse, { trainingDatasets: await (await reads()).trainingDatasets() }),
  }),
  route('/searches', {
    GET: async ({ reads }) => answer(SearchListResponse, { searches: await (await reads()).searchList() }),
  }),
  // Lazy reference: labels.ts imports HttpError from this module.
  route('/labels/commit', {
    POST: async ({ req, reads }) => commitLabelsRoute(req, async () => (await reads()).store),
  }),
  route('/labels/overlay', {
    GET: async ({ url, reads }) => labelOverlayRoute(url, async () => (await reads()).store),
  }),
  route('/searches/{id}', {
    GET: async ({ reads, params }) =>
      answer(SearchDetailResponse, await (await reads()).search(integerParam(params[0]!, 'search id'))),
  }),
  route('/searches/{id}/ablation', {
    GET: async ({ reads, params }) =>
      answer(AblationBundle, await (await reads()).ablation(integerParam(params[0]!, 'search id'))),
  }),
];

function send(res: http.ServerResponse, status: number, body: unknown): void {
  const text = JSON.stringify(body);
  res.writeHead(status, {
    'content-type': 'application/json; charset=utf-8',
    'cache-control': 'no-store',
    'x-content-type-options': 'nosniff',
    'content-length': Buffer.byteLength(text),
  });
  res.end(text);
}

/** Library errors that mean "no such record" (each module has its own class; all say so by name). */
function isNotFound(err: unknown): boolean {
  return (
    err instanceof NotInStoreError ||
    ['ModelNotFoundError', 'RunNotFoundError', 'SearchNotFoundError', 'FeatureGroupNotFoundError'].includes(
      (err as Error)?.name,
    )
  );
}

export interface RunningHub {
  server: http.Server;
  /** `http://127.0.0.1:PORT` or `unix:PATH`. */
  address: string;
  close(): Promise<void>;
}

export async function startHub(listen: HubListen, options: HubOptions = {}): Promise<RunningHub> {
  const eventPollMs = options.eventPollMs ?? 1000;
  const eventStreamMaxMs = options.eventStreamMaxMs ?? 5 * 60_000;
  // The store is opened once, on the first request that needs it, so /v1/info answers even when
  // the store cannot be opened; a failed open is retried on the next request.
  let readsPromise: Promise<PanelReads> | undefined;
  const ownsStore = !options.store;
  const reads = (): Promise<PanelReads> => {
    readsPromise ??= (options.store ? Promise.resolve(options.store) : openProjectStore()).then(
      (store) => new PanelReads(store),
      (err: Error) => {
        readsPromise = undefined;
        throw new HttpError(503, `the project store could not be opened: ${err.message}`);
      },
    );
    return readsPromise;
  };
  const streams = new Set<() => void>();

  const events: Handler = async ({ req, res }) => {
    const panel = await reads();
    res.writeHead(200, {
      'content-type': 'text/event-stream; charset=utf-8',
      'cache-control': 'no-store',
      'x-content-type-options': 'nosniff',
      // jupyter-server-proxy and nginx-like proxies must pass events through as they come.
      'x-accel-buffering': 'no',
    });
    res.write(`retry: ${Math.max(1000, eventPollMs)}\n\n`);
    let last = '';
    let ticking = false;
    const tick = async (): Promise<void> => {
      if (ticking) return;
      ticking = true;
      try {
        const counters = JSON.stringify({
          ...(await panel.changeCounters()),
          serving: await servingChangeCounter(panel.store),
        });
        if (counters !== last) {
          last = counters;
          res.write(`event: changes\ndata: ${counters}\n\n`);
        } else {
          res.write(': idle\n\n');
        }
      } catch (err) {
        res.write(`event: error\ndata: ${JSON.stringify({ error: (err as Error).message })}\n\n`);
      } finally {
        ticking = false;
      }
    };
    const timer = setInterval(() => void tick(), eventPollMs);
    const end = (): void => {
      clearInterval(timer);
      clearTimeout(limit);
      streams.delete(end);
      if (!res.writableEnded) res.end();
    };
    const limit = setTimeout(end, eventStreamMaxMs);
    streams.add(end);
    req.on('close', end);
    await tick();
    return STREAMED;
  };
  const allRoutes = [...routes, route('/events', { GET: events })];

  const handle = async (req: http.IncomingMessage, res: http.ServerResponse): Promise<void> => {
    const url = new URL(req.url ?? '/', 'http://hub.invalid');
    const pathname = url.pathname.replace(/\/+$/, '');
    try {
      let match: RegExpExecArray | null = null;
      const found = allRoutes.find((r) => (match = r.pattern.exec(pathname)) !== null);
      if (!found || !match) throw new HttpError(404, `no such endpoint: ${url.pathname}`);
      const handler = found.methods[req.method ?? 'GET'];
      if (!handler) {
        res.setHeader('allow', Object.keys(found.methods).join(', '));
        throw new HttpError(405, `${req.method} is not allowed on ${url.pathname}`);
      }
      let params: string[];
      try {
        params = (match as RegExpExecArray).slice(1).map((p) => decodeURIComponent(p));
      } catch {
        throw new HttpError(400, `bad percent-encoding in ${url.pathname}`);
      }
      const body = await handler({ req, res, url, params, reads });
      if (body !== STREAMED) send(res, 200, body);
    } catch (err) {
      if (res.headersSent) {
        res.end();
        return;
      }
      if (err instanceof HttpError) send(res, err.status, { error: err.message });
      else if (isNotFound(err)) send(res, 404, { error: (err as Error).message });
      else if (err instanceof RangeError) send(res, 400, { error: err.message });
      else send(res, 500, { error: `internal error: ${(err as Error).message}` });
    }
  };

  const server = http.createServer((req, res) => void handle(req, res));
  if ('socket' in listen) {
    // A stale socket file from a killed hub would make listen() fail with EADDRINUSE.
    if (fs.existsSync(listen.socket)) fs.unlinkSync(listen.socket);
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(listen.socket, resolve));
    fs.chmodSync(listen.socket, 0o600);
  } else {
    const host = listen.host ?? '127.0.0.1';
    await new Promise<void>((resolve, reject) => server.once('error', reject).listen(listen.port, host, resolve));
  }
  const addr = server.address();
  const address =
    typeof addr === 'string' ? `unix:${addr}` : `http://${(addr as AddressInfo).address}:${(addr as AddressInfo).port}`;
  let closing: Promise<void> | undefined;
  return {
    server,
    address,
    close: () =>
      (closing ??= (async () => {
        // Open event streams would keep server.close() waiting forever.
        for (const end of [...streams]) end();
        await new Promise<void>((resolve) => server.close(() => resolve()));
        const opened = await readsPromise?.catch(() => undefined);
        if (opened) {
          await opened.close();
          await closeFeatureStoreReads(opened.store);
          if (ownsStore) await opened.store.close();
        }
      })()),
  };
}
