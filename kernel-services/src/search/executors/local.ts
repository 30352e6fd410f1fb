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
}

interface Worker {
  index: number;
  child: ChildProcess;
  ready: boolean;
  current: TrialAssignment | undefined;
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
  private readonly opts: Required<Omit<LocalExecutorOptions, 'env' | 'cwd'>> &
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
    const w = this.pool.find((x) => x.current?.trialId === key.trialId && x.current.attempt === key.attempt);
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
    const w = this.pool.find((x) => x.current?.trialId === key.trialId && x.current.attempt === key.attempt);
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
    const worker: Worker = { index, child, ready: false, current: undefined, lastSeen: Date.now(), failedStarts };
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
        if (msg.type === 'started') this.listener?.started(key, `local:${index}:pid${child.pid}`);
        else if (msg.type === 'metric') this.listener?.metric(key, msg.step, msg.value);
        else if (msg.type === 'alive') this.listener?.alive(key);
        else if (msg.type === 'ended') {
          worker.current = undefined;
          this.listener?.ended(key, msg.outcome);
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

  private pump(): void {
    if (!this.listener) return;
    for (const w of this.pool) {
      if (!this.queue.length) return;
      if (!w || !w.ready || w.current || w.child.exitCode !== null || w.child.signalCode !== null) continue;
      const a = this.queue.shift()!;
      w.current = a;
      w.lastSeen = Date.now();
      w.killedFor = undefined;
      this.post(w, { type: 'run', assignment: a });
    }
  }

  private post(w: Worker, msg: ToWorker): void {
    if (w.child.connected) w.child.send(msg);
  }
}
