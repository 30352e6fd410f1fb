import { fork, type ChildProcess } from 'node:child_process';
import { childEntry } from '../ts-require';
import { gpuForWorker, visibleGpus } from './gpus';
import type { FromWorker, ToWorker } from './process-worker';
import {
  type AttemptKey,
  type ExecutorListener,
  type TrialAssignment,
  type TrialExecutor,
  cancelQueued,
} from './types';

export interface LocalExecutorOptions {
  /** Worker processes (default 2). */
  workers?: number;
  /** A busy worker silent for this long is killed and its attempt failed. Default 60 s. */
  heartbeatTimeoutMs?: number;
  /** How often a busy worker says it is alive. Default 1 s. */
  heartbeatIntervalMs?: number;
  /** GPU ids to hand out one per worker; default: visibleGpus(). `[]` = CPU only. */
  gpus?: string[];
  /** Extra environment for the workers. */
  env?: NodeJS.ProcessEnv;
  /** Working directory of the workers (relative trial module paths resolve from the driver's cwd). */
  cwd?: string;
  /**
   * Assignments a busy worker may hold queued behind its running trial (default 1), so that it starts
   * its next trial the moment the current one ends instead of after a round trip to the driver. Only
   * used when the driver submits more attempts than there are workers (its `prefetch`); an idle
   * worker takes queued assignments back from busy ones, so lookahead never leaves a worker idle.
   */
  lookahead?: number;
}

interface Worker {
  index: number;
  child: ChildProcess;
  ready: boolean;
  /** The attempt the worker runs (or is about to start). */
  current: TrialAssignment | undefined;
  /** Attempts queued in the worker behind `current`, in order. */
  next: TrialAssignment[];
  /** Queued attempts the pool asked the worker to give back (unqueue sent, answer pending). */
  reclaiming: Set<TrialAssignment>;
  lastSeen: number;
  failedStarts: number;
  /** Why the pool killed it (heartbeat timeout), reported with its failed attempt. */
  killedFor?: string;
}

/**
 * A pool of worker processes on this machine (child_process.fork). Each worker runs one trial at a
 * time and gets its own GPU (CUDA_VISIBLE_DEVICES) when GPUs are present. A worker that exits or
 * stops sending heartbeats fails its attempt and is replaced; the pool outlives searches, so one pool
 * can serve several searches (the benchmark runs its asynchronous and synchronous passes on one).
 */
export class LocalProcessExecutor implements TrialExecutor {
  readonly kind = 'local';
  readonly workers: number;
  readonly lookahead: number;
  private readonly opts: Required<Omit<LocalExecutorOptions, 'env' | 'cwd' | 'lookahead'>> &
    Pick<LocalExecutorOptions, 'env' | 'cwd'>;
  private readonly pool: Worker[] = [];
  private readonly queue: TrialAssignment[] = [];
  private listener: ExecutorListener | undefined;
  private watchdog: NodeJS.Timeout | undefined;
  private closing = false;
  private started: Promise<void> | undefined;

  constructor(opts: LocalExecutorOptions = {}) {
    this.workers = opts.workers ?? 2;
    if (!Number.isInteger(this.workers) || this.workers < 1) {
      throw new RangeError(`local executor: workers must be a positive integer, got ${opts.workers}`);
    }
    this.lookahead = opts.lookahead ?? 1;
    if (!Number.isInteger(this.lookahead) || this.lookahead < 0) {
      throw new RangeError(`local executor: lookahead must be a non-negative integer, got ${opts.lookahead}`);
    }
    this.opts = {
      workers: this.workers,
      heartbeatTimeoutMs: opts.heartbeatTimeoutMs ?? 60_000,
      heartbeatIntervalMs: opts.heartbeatIntervalMs ?? 1000,
      gpus: opts.gpus ?? visibleGpus(),
      env: opts.env,
      cwd: opts.cwd,
    };
  }

  /** Process ids of the workers (for tests and operators). */
  get pids(): number[] {
    return this.pool.map((w) => w.child.pid ?? -1);
  }

  /** The worker running an attempt, if any. */
  workerOf(key: AttemptKey): { index: number; pid: number } | undefined {
    const w = this.pool.find((x) => x.current !== undefined && sameAttempt(x.current, key));
    return w ? { index: w.index, pid: w.child.pid ?? -1 } : undefined;
  }

  /** Starts the workers and waits until each is ready. */
  start(): Promise<void> {
    this.started ??= Promise.all(Array.from({ length: this.workers }, (_, i) => this.spawn(i))).then(() => {
      this.watchdog = setInterval(
        () => this.checkHeartbeats(),
        Math.max(50, Math.floor(this.opts.heartbeatTimeoutMs / 4)),
      );
      this.watchdog.unref();
    });
    return this.started;
  }

  async attach(listener: ExecutorListener): Promise<void> {
    this.listener = listener;
    await this.start();
    this.pump();
  }

  detach(): void {
    this.listener = undefined;
  }

  submit(a: TrialAssignment): void {
    this.queue.push(a);
    this.pump();
  }

  stop(key: AttemptKey, reason: string): void {
    if (cancelQueued(this.queue, key, reason, this.listener)) return;
    // Running or queued in a worker: the worker stops it, or drops it unstarted and reports that.
    const w = this.pool.find(
      (x) => (x.current !== undefined && sameAttempt(x.current, key)) || x.next.some((a) => sameAttempt(a, key)),
    );
    if (w) this.post(w, { type: 'stop', trialId: key.trialId, attempt: key.attempt, reason });
  }

  async close(): Promise<void> {
    this.closing = true;
    if (this.watchdog) clearInterval(this.watchdog);
    await Promise.all(
      this.pool.map(
        (w) =>
          new Promise<void>((resolve) => {
            if (w.child.exitCode !== null || w.child.signalCode !== null) return resolve();
            const kill = setTimeout(() => w.child.kill('SIGKILL'), 3000);
            w.child.once('exit', () => {
              clearTimeout(kill);
              resolve();
            });
            this.post(w, { type: 'exit' });
          }),
      ),
    );
  }

  private spawn(index: number, failedStarts = 0): Promise<void> {
    const { file, execArgv } = childEntry(__dirname, 'process-worker', __filename);
    const gpu = gpuForWorker(index, this.opts.gpus);
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ...this.opts.env,
      FLOE_WORKER_HEARTBEAT_MS: String(this.opts.heartbeatIntervalMs),
      FLOE_WORKER_INDEX: String(index),
    };
    if (gpu !== undefined) env.CUDA_VISIBLE_DEVICES = gpu;
    else if (this.opts.gpus.length === 0 && process.env.CUDA_VISIBLE_DEVICES === undefined)
      delete env.CUDA_VISIBLE_DEVICES;
    const child = fork(file, [], { execArgv, env, cwd: this.opts.cwd, stdio: ['ignore', 'inherit', 'inherit', 'ipc'] });
    const worker: Worker = {
      index,
      child,
      ready: false,
      current: undefined,
      next: [],
      reclaiming: new Set(),
      lastSeen: Date.now(),
      failedStarts,
    };
    this.pool[index] = worker;
    return new Promise<void>((resolve) => {
      child.on('message', (msg: FromWorker) => {
        worker.lastSeen = Date.now();
        if (msg.type === 'ready') {
          worker.ready = true;
          worker.failedStarts = 0;
          resolve();
          this.pump();
          return;
        }
        const key = { trialId: msg.trialId, attempt: msg.attempt };
        if (msg.type === 'started') {
          // The worker moved on to a queued attempt by itself (lookahead).
          const i = worker.next.findIndex((a) => sameAttempt(a, key));
          if (i >= 0 && (!worker.current || !sameAttempt(worker.current, key))) {
            const [a] = worker.next.splice(i, 1);
            worker.reclaiming.delete(a!);
            worker.current = a;
          }
          this.listener?.started(key, `local:${index}:pid${child.pid}`, msg.waitedMs);
        } else if (msg.type === 'metric') this.listener?.metric(key, msg.step, msg.value);
        else if (msg.type === 'alive') this.listener?.alive(key);
        else if (msg.type === 'ended') {
          if (worker.current && sameAttempt(worker.current, key)) {
            // The worker starts its first queued attempt at once; 'started' confirms it.
            worker.current = worker.next.shift();
            if (worker.current) worker.reclaiming.delete(worker.current);
          } else {
            const i = worker.next.findIndex((a) => sameAttempt(a, key));
            if (i >= 0) worker.reclaiming.delete(worker.next.splice(i, 1)[0]!); // stopped while queued
          }
          this.listener?.ended(key, msg.outcome);
          this.pump();
        } else if (msg.type === 'unqueued') {
          const i = worker.next.findIndex((a) => sameAttempt(a, key));
          if (msg.taken && i >= 0) {
            const [a] = worker.next.splice(i, 1);
            worker.reclaiming.delete(a!);
            this.queue.unshift(a!);
          }
          this.pump();
        }
      });
      child.on('error', () => undefined); // 'exit' follows and handles it
      child.once('exit', (code, signal) => {
        resolve();
        this.onExit(worker, code, signal);
      });
    });
  }

  private onExit(worker: Worker, code: number | null, signal: NodeJS.Signals | null): void {
    const a = worker.current;
    worker.current = undefined;
    // Queued attempts never started there: they go back to the pool's queue.
    this.queue.unshift(...worker.next.splice(0));
    worker.reclaiming.clear();
    const how = signal ? `signal ${signal}` : `exit code ${code}`;
    const why = worker.killedFor;
    if (a) {
      this.listener?.ended(
        { trialId: a.trialId, attempt: a.attempt },
        {
          kind: 'failed',
          error: `worker ${worker.index} (pid ${worker.child.pid}) ${why ?? 'crashed'}: ${how}`,
          crashed: true,
          busyMs: 0,
        },
      );
    }
    if (this.closing) return;
    const failedStarts = worker.ready ? 0 : worker.failedStarts + 1;
    if (failedStarts >= 3) {
      // The worker cannot even start: fail what waits instead of respawning forever.
      for (const q of this.queue.splice(0)) {
        this.listener?.ended(
          { trialId: q.trialId, attempt: q.attempt },
          { kind: 'failed', error: `local worker ${worker.index} fails to start (${how})`, crashed: true, busyMs: 0 },
        );
      }
      return;
    }
    void this.spawn(worker.index, failedStarts);
  }

  private checkHeartbeats(): void {
    const now = Date.now();
    for (const w of this.pool) {
      if (w.current && now - w.lastSeen > this.opts.heartbeatTimeoutMs) {
        w.killedFor = `sent no heartbeat for ${this.opts.heartbeatTimeoutMs} ms and was killed`;
        w.child.kill('SIGKILL');
      }
    }
  }

  private usable(w: Worker | undefined): w is Worker {
    return !!w && w.ready && w.child.exitCode === null && w.child.signalCode === null;
  }

  /**
   * Idle workers first; then, with lookahead, one more queued attempt per busy worker; and when
   * workers are idle with nothing left in the pool's queue, queued attempts are taken back from busy
   * workers (so lookahead never keeps a worker idle at the end of a search).
   */
  private pump(): void {
    if (!this.listener) return;
    for (const w of this.pool) {
      if (!this.queue.length) break;
      if (!this.usable(w) || w.current) continue;
      const a = this.queue.shift()!;
      w.current = a;
      w.lastSeen = Date.now();
      w.killedFor = undefined;
      this.post(w, { type: 'run', assignment: a });
    }
    for (let depth = 1; depth <= this.lookahead && this.queue.length; depth++) {
      for (const w of this.pool) {
        if (!this.queue.length) break;
        if (!this.usable(w) || !w.current || w.next.length >= depth) continue;
        const a = this.queue.shift()!;
        w.next.push(a);
        this.post(w, { type: 'run', assignment: a });
      }
    }
    if (this.queue.length) return;
    let idle = this.pool.filter((w) => this.usable(w) && !w.current).length;
    if (!idle) return;
    // Take back the most recently queued attempts first (they would wait longest).
    for (const w of this.pool) {
      if (!idle) break;
      if (!this.usable(w)) continue;
      for (let i = w.next.length - 1; i >= 0 && idle > 0; i--) {
        const a = w.next[i]!;
        if (w.reclaiming.has(a)) continue;
        w.reclaiming.add(a);
        idle--;
        this.post(w, { type: 'unqueue', trialId: a.trialId, attempt: a.attempt });
      }
    }
  }

  private post(w: Worker, msg: ToWorker): void {
    if (w.child.connected) w.child.send(msg);
  }
}

function sameAttempt(a: AttemptKey, b: AttemptKey): boolean {
  return a.trialId === b.trialId && a.attempt === b.attempt;
}
