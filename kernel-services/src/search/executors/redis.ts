/**
 * The distributed executor: trials go through a BullMQ queue in Redis, and `floe worker --redis URL`
 * processes on any host (that reaches Redis, the project store and the trial module) take them one at
 * a time. BullMQ does the queueing and hands each job to exactly one worker; per-step metrics,
 * heartbeats and stop signals travel over Redis pub/sub channels of the search. A worker that dies
 * goes silent: the driver's heartbeat timeout fails its attempt and the retry goes to another worker
 * (the dead worker's job is failed by BullMQ's stalled-job check, never re-run: maxStalledCount 0).
 */
import { Queue, Worker as BullWorker, type Job } from 'bullmq';
import type { Redis } from 'ioredis';
import * as os from 'node:os';
import { loadTrialFunction, startTrial, type TrialOutcome } from '../trial';
import {
  type AttemptKey,
  type ExecutorListener,
  type TrialAssignment,
  type TrialExecutor,
  stoppedBeforeStart,
} from './types';

export const DEFAULT_QUEUE = 'floe-trials';

// BullMQ types its client abstractly; it is an ioredis client (pub/sub needs its full API).
type RedisClient = Redis;
const ioredisOf = async (q: Queue): Promise<RedisClient> => (await q.client) as unknown as RedisClient;

/** Worker → driver messages on `floe:search:<id>:events`. */
type TrialEvent =
  | { type: 'started'; trialId: number; attempt: number; worker: string; waitedMs?: number }
  | { type: 'metric'; trialId: number; attempt: number; step: number; value: number }
  | { type: 'alive'; trialId: number; attempt: number }
  | { type: 'ended'; trialId: number; attempt: number; outcome: TrialOutcome };

/** Driver → worker messages on `floe:search:<id>:control`. */
interface ControlMessage {
  type: 'stop';
  trialId: number;
  attempt: number;
  reason: string;
}

export const eventsChannel = (searchId: number): string => `floe:search:${searchId}:events`;
export const controlChannel = (searchId: number): string => `floe:search:${searchId}:control`;
const jobId = (a: { searchId: number; trialId: number; attempt: number }): string =>
  `s${a.searchId}-t${a.trialId}-a${a.attempt}`;

/** Connection options from `redis://[user:password@]host:port[/db]`. */
export function redisConnection(url: string): {
  host: string;
  port: number;
  db?: number;
  username?: string;
  password?: string;
  maxRetriesPerRequest: null;
} {
  let u: URL;
  try {
    u = new URL(url);
  } catch {
    throw new RangeError(`not a Redis URL: '${url}' (expected redis://host:port)`);
  }
  if (u.protocol !== 'redis:') throw new RangeError(`not a Redis URL: '${url}' (expected redis://host:port)`);
  const db = u.pathname.length > 1 ? Number(u.pathname.slice(1)) : undefined;
  if (db !== undefined && !Number.isInteger(db))
    throw new RangeError(`Redis URL '${url}': the database must be a number`);
  return {
    host: u.hostname || '127.0.0.1',
    port: u.port ? Number(u.port) : 6379,
    ...(db !== undefined ? { db } : {}),
    ...(u.username ? { username: decodeURIComponent(u.username) } : {}),
    ...(u.password ? { password: decodeURIComponent(u.password) } : {}),
    // BullMQ workers block on Redis; ioredis must not give up on their commands.
    maxRetriesPerRequest: null,
  };
}

export interface RedisExecutorOptions {
  url: string;
  /** Trials in flight at once (roughly: the number of `floe worker` processes). */
  workers: number;
  queue?: string;
}

export class RedisExecutor implements TrialExecutor {
  readonly kind = 'redis';
  readonly workers: number;
  private readonly queue: Queue;
  private subscriber: RedisClient | undefined;
  private publisher: RedisClient | undefined;
  private listener: ExecutorListener | undefined;
  private searchId: number | undefined;
  private subscribed: Promise<void> = Promise.resolve();

  constructor(opts: RedisExecutorOptions) {
    if (!Number.isInteger(opts.workers) || opts.workers < 1)
      throw new RangeError(`redis executor: workers must be a positive integer, got ${opts.workers}`);
    this.workers = opts.workers;
    this.queue = new Queue(opts.queue ?? DEFAULT_QUEUE, { connection: redisConnection(opts.url) });
  }

  async attach(listener: ExecutorListener): Promise<void> {
    this.listener = listener;
    const client = await ioredisOf(this.queue);
    this.publisher ??= client.duplicate();
    if (!this.subscriber) {
      this.subscriber = client.duplicate();
      this.subscriber.on('message', (_channel: string, text: string) => this.onEvent(text));
    }
  }

  detach(): void {
    this.listener = undefined;
    if (this.searchId !== undefined && this.subscriber) void this.subscriber.unsubscribe(eventsChannel(this.searchId));
    this.searchId = undefined;
  }

  submit(a: TrialAssignment): void {
    void this.enqueue(a);
  }

  private async enqueue(a: TrialAssignment): Promise<void> {
    try {
      if (this.searchId !== a.searchId) {
        const previous = this.searchId;
        this.searchId = a.searchId;
        // Every enqueue waits for the subscription: a worker's first event must not beat it.
        this.subscribed = (async () => {
          if (previous !== undefined) await this.subscriber!.unsubscribe(eventsChannel(previous));
          await this.subscriber!.subscribe(eventsChannel(a.searchId));
        })();
      }
      await this.subscribed;
      await this.queue.add('trial', a, { jobId: jobId(a), attempts: 1, removeOnComplete: true, removeOnFail: true });
    } catch (err) {
      this.listener?.ended(
        { trialId: a.trialId, attempt: a.attempt },
        {
          kind: 'failed',
          error: `cannot queue the trial in Redis: ${(err as Error).message}`,
          crashed: true,
          busyMs: 0,
        },
      );
    }
  }

  stop(key: AttemptKey, reason: string): void {
    void (async () => {
      if (this.searchId === undefined) return;
      const job = await this.queue.getJob(jobId({ searchId: this.searchId, ...key }));
      const state = job ? await job.getState() : 'unknown';
      if (job && (state === 'waiting' || state === 'delayed' || state === 'prioritized')) {
        try {
          await job.remove();
          this.listener?.ended(key, stoppedBeforeStart(reason));
          return;
        } catch {
          // a worker took it in the meantime: tell it to stop
        }
      }
      const msg: ControlMessage = { type: 'stop', ...key, reason };
      await this.publisher!.publish(controlChannel(this.searchId), JSON.stringify(msg));
    })().catch(() => undefined);
  }

  private onEvent(text: string): void {
    let e: TrialEvent;
    try {
      e = JSON.parse(text) as TrialEvent;
    } catch {
      return;
    }
    const key = { trialId: e.trialId, attempt: e.attempt };
    const l = this.listener;
    if (!l) return;
    if (e.type === 'started') l.started(key, e.worker, e.waitedMs);
    else if (e.type === 'metric') l.metric(key, e.step, e.value);
    else if (e.type === 'alive') l.alive(key);
    else if (e.type === 'ended') l.ended(key, e.outcome);
  }

  async close(): Promise<void> {
    this.detach();
    await Promise.all([this.subscriber?.quit().catch(() => undefined), this.publisher?.quit().catch(() => undefined)]);
    await this.queue.close();
  }
}

export interface RedisWorkerOptions {
  url: string;
  queue?: string;
  /** Trials this process runs at once. Default 1 (one GPU / one core budget per worker). */
  concurrency?: number;
  heartbeatMs?: number;
  /** How long a job's lock lives without renewal; a dead worker's job counts as stalled after it. */
  lockDurationMs?: number;
  name?: string;
  log?: (line: string) => void;
}

/**
 * A trial worker on any host: `floe worker --redis URL`. Runs until `close()` (SIGINT/SIGTERM in the
 * CLI), taking one trial at a time from the queue.
 */
export async function startRedisWorker(opts: RedisWorkerOptions): Promise<{ close(): Promise<void>; name: string }> {
  const connection = redisConnection(opts.url);
  const name = opts.name ?? `redis:${os.hostname()}:pid${process.pid}`;
  const log = opts.log ?? (() => undefined);
  const heartbeatMs = opts.heartbeatMs ?? 1000;
  const running = new Map<string, (reason: string) => void>();
  /** When this worker's previous trial ended (its own clock), for the driver's idle-gap figures. */
  let lastEndedAt: number | undefined;

  const control = new Queue(opts.queue ?? DEFAULT_QUEUE, { connection });
  const base = await ioredisOf(control);
  const publisher = base.duplicate();
  const subscriber = base.duplicate();
  await subscriber.psubscribe('floe:search:*:control');
  subscriber.on('pmessage', (_p: string, _c: string, text: string) => {
    try {
      const msg = JSON.parse(text) as ControlMessage;
      if (msg.type === 'stop') running.get(`${msg.trialId}:${msg.attempt}`)?.(msg.reason);
    } catch {
      // not ours
    }
  });

  const publish = (searchId: number, e: TrialEvent): void => {
    void publisher.publish(eventsChannel(searchId), JSON.stringify(e)).catch(() => undefined);
  };

  const worker = new BullWorker(
    opts.queue ?? DEFAULT_QUEUE,
    async (job: Job<TrialAssignment>) => {
      const a = job.data;
      const key = { trialId: a.trialId, attempt: a.attempt };
      publish(a.searchId, {
        type: 'started',
        ...key,
        worker: name,
        ...(lastEndedAt !== undefined && running.size === 0 ? { waitedMs: performance.now() - lastEndedAt } : {}),
      });
      log(`trial ${a.number} (search ${a.searchId}, attempt ${a.attempt}) started`);
      let outcome: TrialOutcome;
      try {
        const fn = loadTrialFunction(a.trial);
        const run = startTrial(
          fn,
          a.params,
          { searchId: a.searchId, number: a.number, attempt: a.attempt, seed: a.seed, budget: a.budget },
          {
            metric: (step, value) => publish(a.searchId, { type: 'metric', ...key, step, value }),
          },
        );
        running.set(`${a.trialId}:${a.attempt}`, run.stop);
        const alive = setInterval(() => publish(a.searchId, { type: 'alive', ...key }), heartbeatMs);
        try {
          outcome = await run.outcome;
        } finally {
          clearInterval(alive);
          running.delete(`${a.trialId}:${a.attempt}`);
        }
      } catch (err) {
        outcome = { kind: 'failed', error: (err as Error).message, crashed: false, busyMs: 0 };
      }
      lastEndedAt = performance.now();
      publish(a.searchId, { type: 'ended', ...key, outcome });
      log(
        `trial ${a.number} (search ${a.searchId}) ended: ${outcome.kind}${outcome.kind === 'finished' && outcome.stopped ? ' (stopped)' : ''}`,
      );
      return outcome.kind;
    },
    {
      connection,
      concurrency: opts.concurrency ?? 1,
      lockDuration: opts.lockDurationMs ?? 15_000,
      maxStalledCount: 0,
    },
  );
  worker.on('error', (err) => log(`worker error: ${err.message}`));
  await worker.waitUntilReady();
  log(`floe worker ${name} waiting for trials on ${opts.url} (queue ${opts.queue ?? DEFAULT_QUEUE})`);
  return {
    name,
    async close() {
      for (const stop of running.values()) stop('worker shutting down');
      await worker.close();
      await Promise.all([subscriber.quit().catch(() => undefined), publisher.quit().catch(() => undefined)]);
      await control.close();
    },
  };
}
