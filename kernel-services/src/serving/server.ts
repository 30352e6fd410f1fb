import * as http from 'node:http';
import type { AddressInfo, Socket } from 'node:net';
import { summarizeInputs } from '../monitoring/summary';
import { configureTfExecution, tfExecution, type TfExecution } from '../training/backend';
import { openProjectStore, type ProjectStore, type StoreOptions } from '../store';
import { Batcher, batchingOptions, type BatchingOptions } from './batcher';
import { checkDeploymentName, defaultDeploymentName, DeploymentRecorder, type DeploymentOptions } from './deployment';
import { decodePredictRequest, encodePredictResponse } from './decode';
import { invalidArgument, ServingError } from './errors';
import { BATCH_SIZE_BUCKETS, Counter, Gauge, Histogram, LATENCY_BUCKETS_SECONDS, MetricsRegistry } from './metrics';
import { ServedModels, type ServedModelsOptions, type VersionSelector } from './repository';
import { RequestLog, type RequestLogOptions } from './request-log';
import type { Servable } from './servable';
import { inProcessExecutor, PredictThread } from './predict-thread';
import { metadataResponse, sizeOf } from './signature';

/**
 * `floe serve` / `serve()`: registered models behind TensorFlow Serving's REST API on node:http.
 *
 *   GET  /v1/models/{name}[/versions/{v}|/labels/{l}]            model status
 *   GET  /v1/models/{name}[/versions/{v}|/labels/{l}]/metadata   signature (inputs, dtypes, shapes)
 *   POST /v1/models/{name}[/versions/{v}|/labels/{l}]:predict    {"instances"|"inputs": ...}
 *   GET  /healthz, GET /metrics (Prometheus text)
 *
 * Errors are `{"error": "..."}` with TF Serving's status for the same failure. Loopback only unless
 * `allowRemote` says otherwise.
 */

export interface ServeOptions extends ServedModelsOptions {
  /** An open project store (stays open after close); else one is opened from `storeOptions`. */
  store?: ProjectStore;
  storeOptions?: StoreOptions;
  /** Default 127.0.0.1. */
  host?: string;
  /** Default 8501 (TF Serving's REST port); 0 picks a free one. */
  port?: number;
  /** Dynamic batching (default on: max 32 instances, what arrives in one event-loop turn); false: off. */
  batching?: Partial<BatchingOptions> | false;
  /** Largest request body accepted, bytes (default 32 MiB); larger ones get 413. */
  maxBodyBytes?: number;
  /** Request logging into the project store (default on); false: off. */
  requestLog?: RequestLogOptions | false;
  /** Listen on a non-loopback address (there is no authentication). */
  allowRemote?: boolean;
  /** Record this server as a deployment in the project store (default on, see deployment.ts); false: off. */
  deployment?: DeploymentOptions | false;
  /**
   * Run the models on a thread of their own, so reading and decoding requests overlaps with
   * TensorFlow's work (see predict-thread.ts). Library default false: on the server's event loop.
   * `floe serve` turns it on, with one intra-op thread per core but one (`execution`), so the loop
   * keeps a core of its own (docs/serving.md, Execution).
   */
  predictThread?: boolean;
  /**
   * TensorFlow's execution settings (intra-op threads, oneDNN), applied before the models load.
   * TensorFlow reads them once per process: if it is already loaded (a notebook that trained a
   * model first), the server logs that it keeps the settings it has. `floe serve` sets them (see
   * `defaultServeExecution`); the library default is to leave TensorFlow as it is.
   */
  execution?: Partial<TfExecution>;
}

const LOOPBACK = ['127.0.0.1', 'localhost', '::1'];
const DEFAULT_MAX_BODY = 32 * 1024 * 1024;
/** How long concurrent predict traffic keeps the batch window in use. */
const CONCURRENCY_MEMORY_MS = 1000;

interface ModelTraffic {
  inFlight: number;
  /** performance.now() when requests last overlapped or came from another connection than the last. */
  concurrentAt: number;
  lastSocket: Socket | null;
}
/** Route: model name, then an optional version or label, then `/metadata` or `:verb`. */
const MODEL_ROUTE =
  /^\/v1\/models\/([^/:]+)(?:\/versions\/(\d+)|\/labels\/([^/:]+))?(?:(\/metadata)|:([A-Za-z]+))?\/?$/;

class BodyTooLarge extends ServingError {
  constructor(
    limit: number,
    readonly drained: boolean,
  ) {
    super(413, `request body is larger than the limit of ${limit} bytes`);
  }
}

/** Reads a body up to `limit`; over it, keeps draining (without keeping) up to 4× so the client reads the 413. */
function readBody(req: http.IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const declared = Number(req.headers['content-length'] ?? NaN);
    const drainCap = Math.max(limit * 4, 8 * 1024 * 1024);
    if (declared > drainCap) {
      reject(new BodyTooLarge(limit, false));
      return;
    }
    const chunks: Buffer[] = [];
    let size = 0;
    let over = declared > limit;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) over = true;
      if (over) {
        chunks.length = 0;
        if (size > drainCap) {
          req.removeAllListeners('data');
          req.pause();
          reject(new BodyTooLarge(limit, false));
        }
        return;
      }
      chunks.push(chunk);
    });
    req.on('end', () =>
      over
        ? reject(new BodyTooLarge(limit, true))
        : resolve(chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, size)),
    );
    req.on('error', reject);
  });
}

export class ModelServer {
  readonly metrics = new MetricsRegistry();
  private readonly requests: Counter;
  private readonly latency: Histogram;
  private readonly batchSizes: Histogram;
  private readonly batchSeconds: Histogram;
  private readonly batchers = new WeakMap<Servable, Batcher>();
  /** Per model name: predict requests in flight and when traffic was last concurrent (for the batch window). */
  private readonly traffic = new Map<string, ModelTraffic>();
  private readonly batching: BatchingOptions;
  private readonly maxBodyBytes: number;
  private closing: Promise<void> | null = null;
  private readonly log: (line: string) => void;
  /** This server's deployment record, once written (null when off or when it could not be written). */
  deployment: DeploymentRecorder | null = null;
  url = '';
  port = 0;

  private constructor(
    readonly server: http.Server,
    readonly models: ServedModels,
    readonly requestLog: RequestLog | null,
    readonly store: ProjectStore,
    private readonly ownsStore: boolean,
    opts: ServeOptions,
    /** Where models run (null: on this thread). */
    readonly predictThread: PredictThread | null,
  ) {
    this.log = opts.log ?? (() => undefined);
    this.batching = batchingOptions(opts.batching);
    this.maxBodyBytes = opts.maxBodyBytes ?? DEFAULT_MAX_BODY;
    if (!Number.isInteger(this.maxBodyBytes) || this.maxBodyBytes < 1)
      throw new RangeError(`serve: maxBodyBytes must be a positive integer, got ${opts.maxBodyBytes}`);
    this.requests = this.metrics.add(
      new Counter('floe_serving_requests_total', 'Requests by model, version, API and HTTP status code.'),
    );
    this.latency = this.metrics.add(
      new Histogram(
        'floe_serving_request_duration_seconds',
        'Predict latency, body received to response written.',
        LATENCY_BUCKETS_SECONDS,
      ),
    );
    this.batchSizes = this.metrics.add(
      new Histogram('floe_serving_batch_size', 'Instances per executed batch.', BATCH_SIZE_BUCKETS),
    );
    this.batchSeconds = this.metrics.add(
      new Histogram('floe_serving_batch_duration_seconds', 'Model execution time per batch.', LATENCY_BUCKETS_SECONDS),
    );
    this.metrics.add(
      new Gauge(
        'floe_serving_model_version_state',
        '1 for each served version in its state (LOADING, AVAILABLE, UNLOADING, END).',
        () =>
          models
            .overview()
            .map((m) => ({ labels: { model: m.name, version: String(m.version), state: m.state }, value: 1 })),
      ),
    );
    this.metrics.add(
      new Gauge(
        'process_cpu_seconds_total',
        'User and system CPU time of the server process (every thread, TensorFlow included), seconds.',
        () => {
          const { user, system } = process.cpuUsage();
          return [{ labels: {}, value: (user + system) / 1e6 }];
        },
        'counter',
      ),
    );
    if (requestLog) {
      this.metrics.add(
        new Gauge(
          'floe_serving_request_log_entries',
          'Request log entries by outcome (recorded, written, dropped, failed, queued).',
          () => Object.entries(requestLog.stats).map(([outcome, value]) => ({ labels: { outcome }, value })),
        ),
      );
    }
  }

  static async start(opts: ServeOptions = {}): Promise<ModelServer> {
    const host = opts.host ?? '127.0.0.1';
    if (!LOOPBACK.includes(host) && !opts.allowRemote) {
      throw new RangeError(
        `serve: refusing to listen on ${host}; the model server binds to loopback (pass allowRemote to override)`,
      );
    }
    const deploymentName =
      opts.deployment === false ? '' : (opts.deployment?.name ?? defaultDeploymentName(opts.models));
    if (opts.deployment !== false) checkDeploymentName(deploymentName);
    const port = opts.port ?? 8501;
    if (!Number.isInteger(port) || port < 0 || port > 65535)
      throw new RangeError(`serve: port must be 0..65535, got ${port}`);
    if (opts.execution) {
      const { applied, execution } = configureTfExecution(opts.execution);
      if (!applied)
        opts.log?.(
          `serving: TensorFlow is already loaded in this process, so it keeps ${describeExecution(execution)} (asked for ${describeExecution({ ...execution, ...opts.execution })})`,
        );
    }
    const store = opts.store ?? (await openProjectStore(opts.storeOptions));
    const requestLog = opts.requestLog === false ? null : new RequestLog(store, { log: opts.log, ...opts.requestLog });
    const predictThread = opts.predictThread === true ? new PredictThread(opts.log) : null;
    const models = new ServedModels(store, {
      ...opts,
      // A version is AVAILABLE once the predict thread holds it too; it is freed there once retired.
      prepare: async (servable) => {
        await predictThread?.prepare(servable).catch((err: Error) => {
          if (predictThread.alive) throw err; // else batches run on this thread
        });
        await opts.prepare?.(servable);
      },
      onRetired: (servable) => {
        if (predictThread) void servable.retire().then(() => predictThread.unload(servable));
        opts.onRetired?.(servable);
      },
    });
    let ms: ModelServer | undefined;
    const server = http.createServer((req, res) => void ms!.handle(req, res));
    server.keepAliveTimeout = 30_000;
    try {
      ms = new ModelServer(server, models, requestLog, store, !opts.store, opts, predictThread);
      await models.start();
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(port, host, () => {
          server.off('error', reject);
          resolve();
        });
      });
    } catch (err) {
      await models.close();
      await predictThread?.close();
      await requestLog?.close();
      if (!opts.store) await store.close();
      throw err;
    }
    const addr = server.address() as AddressInfo;
    ms.port = addr.port;
    ms.url = `http://${addr.family === 'IPv6' ? `[${addr.address}]` : addr.address}:${addr.port}`;
    if (opts.deployment !== false) {
      const batching = batchingOptions(opts.batching);
      try {
        ms.deployment = await DeploymentRecorder.start(store, {
          name: deploymentName,
          url: ms.url,
          config: {
            models: opts.models ?? null,
            versionPolicy: opts.versionPolicy ?? 'latest',
            batching: batching.enabled ? { maxBatchSize: batching.maxBatchSize, maxWaitUs: batching.maxWaitUs } : null,
            maxBodyBytes: opts.maxBodyBytes ?? DEFAULT_MAX_BODY,
            requestLog: requestLog !== null,
            execution: { predictThread: predictThread !== null, ...tfExecution() },
          },
          ...(opts.deployment?.heartbeatMs !== undefined ? { heartbeatMs: opts.deployment.heartbeatMs } : {}),
          served: () =>
            models.overview().map((m) => ({
              model: m.name,
              version: m.version,
              state: m.state,
              labels: m.labels,
              error: m.error,
            })),
          log: opts.log,
        });
      } catch (err) {
        // A store that refuses the write must not stop serving (the name was checked before listening).
        opts.log?.(`serving: the deployment record could not be written: ${(err as Error).message}`);
      }
    }
    return ms;
  }

  private send(res: http.ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    this.sendJson(res, status, JSON.stringify(body), headers);
  }

  private sendJson(res: http.ServerResponse, status: number, text: string, headers: Record<string, string> = {}): void {
    res.writeHead(status, {
      'content-type': 'application/json',
      'content-length': Buffer.byteLength(text),
      'cache-control': 'no-store',
      ...headers,
    });
    res.end(text);
  }

  private async handle(req: http.IncomingMessage, res: http.ServerResponse): Promise<void> {
    const started = process.hrtime.bigint();
    let path: string;
    try {
      path = new URL(req.url ?? '/', 'http://serving.invalid').pathname;
    } catch {
      path = '/';
    }
    let api = 'other';
    let model = '';
    let version = '';
    try {
      if (path === '/healthz') {
        api = 'health';
        this.allow(req, ['GET']);
        this.send(res, 200, { status: 'ok', models: this.models.overview() });
        return;
      }
      if (path === '/metrics') {
        api = 'metrics';
        this.allow(req, ['GET']);
        const text = this.metrics.render();
        res.writeHead(200, {
          'content-type': 'text/plain; version=0.0.4; charset=utf-8',
          'content-length': Buffer.byteLength(text),
        });
        res.end(text);
        return;
      }
      const m = MODEL_ROUTE.exec(path);
      if (!m) throw new ServingError(404, `Malformed request: ${req.method} ${path}`);
      const [, rawName, rawVersion, rawLabel, metadata, verb] = m;
      model = decodeURIComponent(rawName!);
      const sel: VersionSelector = rawVersion
        ? { kind: 'version', version: Number(rawVersion) }
        : rawLabel
          ? { kind: 'label', label: decodeURIComponent(rawLabel) }
          : { kind: 'latest' };
      if (sel.kind === 'version') version = String(sel.version);
      if (verb !== undefined) {
        api = verb;
        this.allow(req, ['POST']);
        if (verb !== 'predict')
          throw invalidArgument(`':${verb}' is not supported: Floe serves the predict API (':predict')`);
        version = await this.predict(req, res, model, sel, started);
        return;
      }
      this.allow(req, ['GET']);
      if (metadata) {
        api = 'metadata';
        const servable = this.models.acquire(model, sel);
        try {
          version = String(servable.number);
          const lineage = servable.version.lineage.dataset;
          const td = lineage?.trainingDatasetName
            ? `${lineage.trainingDatasetName}:${lineage.trainingDatasetVersion}`
            : null;
          this.send(
            res,
            200,
            metadataResponse(model, servable.number, servable.signature, {
              aliases: this.models.labelsOf(model, servable.number),
              trainingDataset: td,
            }),
          );
        } finally {
          servable.release();
        }
        return;
      }
      api = 'status';
      this.send(res, 200, this.models.status(model, sel));
    } catch (err) {
      const e = err instanceof ServingError ? err : new ServingError(500, `internal error: ${(err as Error).message}`);
      const headers: Record<string, string> = {};
      if (e instanceof MethodNotAllowed) headers.allow = e.allowed.join(', ');
      if (e instanceof BodyTooLarge && !e.drained) headers.connection = 'close';
      this.send(res, e.status, { error: e.message }, headers);
      if (e instanceof BodyTooLarge && !e.drained) res.once('finish', () => req.socket.destroy());
    } finally {
      this.requests.inc({ model, version, api, code: String(res.statusCode) });
    }
  }

  private allow(req: http.IncomingMessage, methods: string[]): void {
    if (!methods.includes(req.method ?? '')) throw new MethodNotAllowed(req.method ?? '', methods);
  }

  /** Serves one predict request; returns the version that answered. */
  private async predict(
    req: http.IncomingMessage,
    res: http.ServerResponse,
    name: string,
    sel: VersionSelector,
    started: bigint,
  ): Promise<string> {
    const traffic = this.traffic.get(name) ?? { inFlight: 0, concurrentAt: -Infinity, lastSocket: null };
    this.traffic.set(name, traffic);
    // Concurrent: requests in flight together, or coming from more than one connection.
    if (++traffic.inFlight > 1 || (traffic.lastSocket !== null && traffic.lastSocket !== req.socket))
      traffic.concurrentAt = performance.now();
    traffic.lastSocket = req.socket;
    let body: Buffer;
    let servable: Servable;
    try {
      body = await readBody(req, this.maxBodyBytes);
      servable = this.models.acquire(name, sel);
    } catch (err) {
      this.leave(traffic);
      throw err;
    }
    try {
      const sig = servable.signature;
      const request = decodePredictRequest(body, sig);
      let batcher = this.batchers.get(servable);
      if (!batcher) {
        const labels = { model: name, version: String(servable.number) };
        batcher = new Batcher(
          servable,
          this.batching,
          this.predictThread ? this.predictThread.executor(servable) : inProcessExecutor(servable),
          (size, seconds) => {
            this.batchSizes.observe(labels, size);
            this.batchSeconds.observe(labels, seconds);
          },
          () => this.concurrentTraffic(name),
        );
        this.batchers.set(servable, batcher);
      }
      const result = await batcher.submit(request.values, request.count);
      const text = encodePredictResponse(request.format, sig, result.outputs, request.count);
      this.sendJson(res, 200, text, { 'x-floe-model-version': String(servable.number) });
      const seconds = Number(process.hrtime.bigint() - started) / 1e9;
      const version = String(servable.number);
      this.latency.observe({ model: name, version }, seconds);
      if (this.requestLog) {
        const imageIndex = sig.inputs.findIndex((i) => i.role === 'image');
        const angleIndex = sig.inputs.findIndex((i) => i.role === 'angle');
        const firstOutputSize = sizeOf(sig.outputs[0]!.shape);
        const outputs = Array.from({ length: request.count }, (_, i) => result.outputs[0]![i * firstOutputSize]!);
        this.requestLog.record({
          at: new Date(),
          model: name,
          version: servable.number,
          selector: sel.kind === 'label' ? `label:${sel.label}` : sel.kind,
          instances: request.count,
          batchSize: result.batchSize,
          latencyMs: seconds * 1000,
          inputs: summarizeInputs(
            { channels: sig.channels, imageSize: sizeOf(sig.inputs[imageIndex]!.shape), hasAngle: angleIndex >= 0 },
            servable.reference,
            request.values[imageIndex]!,
            angleIndex >= 0 ? request.values[angleIndex]! : null,
            request.count,
          ),
          outputs,
          deploymentId: this.deployment?.id ?? null,
        });
      }
      return version;
    } finally {
      this.leave(traffic);
      servable.release();
    }
  }

  /** Whether predict traffic for `name` is concurrent now or was within the last second (worth a batch window). */
  private concurrentTraffic(name: string): boolean {
    const t = this.traffic.get(name);
    return t !== undefined && (t.inFlight > 1 || performance.now() - t.concurrentAt < CONCURRENCY_MEMORY_MS);
  }

  private leave(traffic: ModelTraffic): void {
    traffic.inFlight--;
    // Requests for many (unknown) names cannot grow the map: idle entries go once there are many.
    if (this.traffic.size > 64) for (const [n, t] of this.traffic) if (t.inFlight === 0) this.traffic.delete(n);
  }

  /** Stops listening, lets in-flight requests finish, unloads the models and flushes the request log. */
  close(): Promise<void> {
    this.closing ??= (async () => {
      await new Promise<void>((resolve) => {
        this.server.close(() => resolve());
        this.server.closeIdleConnections();
        // Keep-alive connections that a client holds open past its last response end after a grace period.
        setTimeout(() => this.server.closeAllConnections(), 5000).unref();
      });
      await this.models.close();
      await this.predictThread?.close();
      await this.requestLog?.close();
      await this.deployment
        ?.stop()
        .catch((err: Error) => this.log(`serving: deployment record not marked stopped: ${err.message}`));
      if (this.ownsStore) await this.store.close();
    })();
    return this.closing;
  }
}

class MethodNotAllowed extends ServingError {
  constructor(
    method: string,
    readonly allowed: string[],
  ) {
    super(405, `${method} is not allowed here; use ${allowed.join(' or ')}`);
  }
}

/** Starts a model server (see ServeOptions); `await server.close()` stops it. */
export function serve(opts: ServeOptions = {}): Promise<ModelServer> {
  return ModelServer.start(opts);
}

/** "2 intra-op threads, oneDNN on" and the like, for logs. */
export function describeExecution(e: TfExecution): string {
  const threads =
    e.intraOpThreads === null
      ? 'the default intra-op threads'
      : `${e.intraOpThreads} intra-op thread${e.intraOpThreads === 1 ? '' : 's'}`;
  const onednn = e.onednn === null ? 'oneDNN as TensorFlow decides' : `oneDNN ${e.onednn ? 'on' : 'off'}`;
  return `${threads}, ${onednn}`;
}
