/**
 * The search driver: asks the optimizer for configurations, hands trials to the executor's workers,
 * follows their per-step heartbeats, applies the stopping rule, retries failed attempts once, and
 * keeps every bit of state in the project store so that a restarted driver resumes the search.
 *
 * Asynchronous mode: the moment an attempt ends, the next trial goes to the freed worker.
 * Synchronous mode (for comparison, like Spark's bulk-synchronous stages): trials run in batches of
 * `workers`, and a batch starts only once every trial of the previous one has ended.
 */
import type { Direction, TrialParams, TrialStatus } from '@floe/schema';
import { storedTime, type ProjectStore } from '../store';
import { checkSearchConfig, describeOptimizer, type SearchConfig } from './config';
import type { TrialAssignment, TrialExecutor, AttemptKey } from './executors/types';
import { createOptimizer, type OptimizerSpec } from './optimizers';
import { ConfigList } from './optimizers/list';
import { Prng, STREAM } from './prng';
import { SearchRepository, type TrialRecord } from './repository';
import { SearchSpace } from './space';
import { MedianStoppingIndex, MedianStoppingRule } from './stopping';
import type { TrialOutcome } from './trial';
import { isBetter, type Optimizer, type Suggestion, type TrialView } from './types';
import { SearchWriteBehind, type WriteBehindStats } from './write-behind';

/** Hooks into the experiment tracker (parent run for the search, a child run per trial). */
export interface SearchRecorder {
  searchStarted(search: { id: number; config: SearchConfig; runId: number | null }): Promise<number | null>;
  trialEnded(
    search: { id: number; config: SearchConfig; runId: number | null },
    trial: TrialRecord,
  ): Promise<number | null>;
  searchEnded(
    search: { id: number; config: SearchConfig; runId: number | null },
    status: string,
    best: TrialRecord | null,
  ): Promise<void>;
}

export interface DriverOptions {
  executor: TrialExecutor;
  recorder?: SearchRecorder;
  /** How often the driver writes its heartbeat and looks for a stop request. Default 500 ms. */
  pollMs?: number;
  /** Called after every state change (live displays). */
  onUpdate?: (event: SearchEvent) => void;
  /** Longest a store write waits before its batch is written. Default 100 ms. */
  flushMs?: number;
}

export type SearchEvent =
  | { type: 'trial-started'; number: number; worker: string }
  | { type: 'metric'; number: number; step: number; value: number }
  | { type: 'trial-ended'; number: number; status: TrialStatus; metric: number | null; reason: string | null }
  | { type: 'search-ended'; status: string };

export interface SearchResult {
  searchId: number;
  status: 'completed' | 'stopped' | 'failed';
  trials: TrialRecord[];
  best: TrialRecord | null;
  wallMs: number;
  /** Σ trial busy time (measured by the workers) ÷ (workers × wall-clock). */
  utilisation: number;
  busyMs: number;
  stoppedEarly: number;
  errors: number;
  /** Where worker time went (driver clock): what the utilisation figure leaves out, and why. */
  timeline: SearchTimeline;
  /** Extra attempts kept submitted beyond the worker count (0 in sync mode). */
  prefetch: number;
  writes: WriteBehindStats;
}

export interface SearchTimeline {
  /** From the start to the moment the last attempt started: from then on no work was left to give. */
  lastStartMs: number;
  /** wallMs − lastStartMs: the end-of-search tail, in which workers go idle one after the other. */
  tailMs: number;
  /** Worker busy time before lastStartMs ÷ (workers × lastStartMs): the scheduler's share of utilisation. */
  steadyUtilisation: number;
  /** Per worker, the time between the end of one attempt and the start of its next one. */
  dispatchGapMs: { count: number; total: number; p50: number; p95: number; max: number };
}

interface LiveTrial {
  id: number;
  number: number;
  params: TrialParams;
  budget: number | null;
  rung: number | null;
  promotedFrom: number | null;
  seed: number;
  status: TrialStatus;
  attempt: number;
  failures: number;
  history: number[];
  metric: number | null;
  best: number | null;
  stopSent: string | null;
  lastHeartbeat: number;
  startedAt: number | null;
  worker: string | null;
  busyMs: number;
  /** What the store holds besides the above (kept here so that nothing re-reads the store per trial). */
  startedAtStored: string | null;
  finishedAtStored: string | null;
  durationMs: number | null;
  stopReason: string | null;
  error: string | null;
  runId: number | null;
}

const DRIVER_STALE_MS = 10_000;

function percentile(sorted: readonly number[], q: number): number {
  if (!sorted.length) return 0;
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))]!;
}

export class SearchDriver {
  private readonly repo: SearchRepository;
  private config!: SearchConfig;
  private optimizer!: Optimizer;
  private rule: MedianStoppingIndex | null = null;
  private readonly trials = new Map<number, LiveTrial>();
  /** Numbers of trials submitted to the executor whose attempt has not ended. */
  private readonly inFlight = new Set<number>();
  /** Trials waiting to be (re)submitted: requeued after a restart or retried after a failure. */
  private readonly retryQueue: number[] = [];
  private created = 0;
  private stopping = false;
  private filling = false;
  private fillAgain = false;
  private exhausted = false;
  private busyMs = 0;
  private finishOrder: number[] = [];
  private metricBuffer: { trial: LiveTrial; attempt: number; idx: number; step: number; value: number; at: string }[] =
    [];
  private readonly writes: SearchWriteBehind;
  private fillError: Error | undefined;
  private t0 = 0;
  /** Driver-clock intervals of attempts: [end − busy, end], and per worker the last end. */
  private readonly busyIntervals: [number, number][] = [];
  private readonly lastEndOfWorker = new Map<string, number>();
  private readonly dispatchGaps: number[] = [];
  private lastStartAt = 0;
  /** Ended trials waiting to be recorded in the tracker, and the background chain that records them. */
  private readonly toRecord: LiveTrial[] = [];
  private recording: Promise<void> = Promise.resolve();
  private resolveDone!: () => void;
  private readonly done = new Promise<void>((r) => (this.resolveDone = r));
  private runId: number | null = null;

  private constructor(
    readonly store: ProjectStore,
    readonly searchId: number,
    private readonly opts: DriverOptions,
  ) {
    this.repo = new SearchRepository(store);
    this.writes = new SearchWriteBehind(store, opts.flushMs ?? 100, () => this.flushMetrics());
  }

  private get writeError(): Error | undefined {
    return this.fillError ?? this.writes.error;
  }

  /** Creates a search in the store and runs it to the end. */
  static async run(store: ProjectStore, config: SearchConfig, opts: DriverOptions): Promise<SearchResult> {
    const driver = await SearchDriver.create(store, config, opts);
    return driver.run();
  }

  /** Creates the search row (so its id is known, e.g. to stop it from elsewhere) without running it. */
  static async create(store: ProjectStore, config: SearchConfig, opts: DriverOptions): Promise<SearchDriver> {
    const checked = checkSearchConfig(config);
    const id = await new SearchRepository(store).createSearch(checked);
    const driver = new SearchDriver(store, id, opts);
    driver.config = checked;
    return driver;
  }

  /**
   * Takes over a search whose driver is gone (kernel restart, crash): finished trials are replayed
   * into the optimizer, unfinished ones are requeued as new attempts, and the search goes on.
   * Refuses while another live driver holds it, unless `force`.
   */
  static async resume(
    store: ProjectStore,
    searchId: number,
    opts: DriverOptions & { force?: boolean },
  ): Promise<SearchDriver> {
    const repo = new SearchRepository(store);
    const search = await repo.getSearch(searchId);
    if (search.status === 'completed' || search.status === 'stopped' || search.status === 'failed') {
      throw new Error(`search ${searchId} already ended (${search.status}); nothing to resume`);
    }
    const claim = await repo.claimDriver(searchId, DRIVER_STALE_MS, opts.force);
    if (!claim.ok) {
      throw new Error(
        `search ${searchId} is still driven by ${claim.driver} (alive at ${claim.lastSeen}); attach to it or pass force`,
      );
    }
    const driver = new SearchDriver(store, searchId, opts);
    driver.config = search.config;
    driver.runId = search.runId;
    await driver.loadExisting();
    return driver;
  }

  get workers(): number {
    return this.config.workers ?? this.opts.executor.workers;
  }

  /**
   * Attempts kept submitted beyond the worker count, so that a worker finds its next trial waiting
   * the moment it reports (no round trip through the driver). Default: one per worker when the
   * optimizer's suggestions do not depend on results (random, grid, list); none for ASHA and TPE,
   * whose next suggestion should see the trial that just ended. Always 0 in sync mode.
   */
  get prefetch(): number {
    if (this.config.mode === 'sync') return 0;
    if (this.config.prefetch !== undefined) return this.config.prefetch;
    const name = this.optimizer?.name;
    return name === 'random' || name === 'grid' || name === 'list' ? this.workers : 0;
  }

  /** Ends the search cleanly: no new trials, running ones are told to stop. */
  stop(): void {
    if (this.stopping) return;
    this.stopping = true;
    this.writes.op((repo) => repo.setStatus(this.searchId, 'stopping'));
    for (const n of this.inFlight) {
      const t = this.trials.get(n)!;
      this.sendStop(t, 'search stopped');
    }
    this.retryQueue.length = 0;
    this.checkDone();
  }

  async run(): Promise<SearchResult> {
    const space = SearchSpace.from(this.config.space);
    const spec = this.config.optimizer;
    this.optimizer =
      typeof spec === 'object' && spec.name === 'list'
        ? new ConfigList((spec as { configs: TrialParams[] }).configs)
        : createOptimizer(spec as OptimizerSpec, space, this.config.seed ?? 0, this.config.direction);
    if (this.config.earlyStopping)
      this.rule = new MedianStoppingIndex(new MedianStoppingRule(this.config.earlyStopping), this.config.direction);
    // Replay what already ended, in the order it ended, so the optimizer and the rule are where they were.
    for (const n of this.finishOrder) {
      const t = this.trials.get(n)!;
      this.optimizer.observe(this.view(t));
      if (t.status === 'completed' || t.status === 'stopped') this.rule?.addFinished(t.history);
    }

    if (this.opts.recorder && this.runId === null) {
      this.runId = await this.opts.recorder.searchStarted({ id: this.searchId, config: this.config, runId: null });
      if (this.runId !== null) await this.repo.setRunId(this.searchId, this.runId);
    }

    if (this.opts.recorder) await this.recordMissingRuns();

    const t0 = performance.now();
    this.t0 = t0;
    const executor = this.opts.executor;
    await executor.attach({
      started: (key, worker, waitedMs) => this.onStarted(key, worker, waitedMs),
      metric: (key, step, value) => this.onMetric(key, step, value),
      alive: (key) => this.onAlive(key),
      ended: (key, outcome) => this.onEnded(key, outcome),
    });
    const pollMs = this.opts.pollMs ?? 500;
    const poll = setInterval(() => this.poll(), pollMs);
    try {
      this.fill();
      this.checkDone();
      await this.done;
    } finally {
      clearInterval(poll);
      executor.detach();
    }
    const wallMs = performance.now() - t0;
    await this.writes.flush();
    await this.recording;
    await this.writes.flush();
    if (this.writeError) throw this.writeError;

    const trials = await this.repo.listTrials(this.searchId);
    const finishedOk = trials.filter((t) => (t.status === 'completed' || t.status === 'stopped') && t.metric !== null);
    let best: TrialRecord | null = null;
    for (const t of finishedOk) if (!best || isBetter(t.metric!, best.metric!, this.config.direction)) best = t;
    const anyOk = trials.some((t) => t.status === 'completed' || t.status === 'stopped');
    const status: SearchResult['status'] = this.stopping
      ? 'stopped'
      : anyOk || trials.length === 0
        ? 'completed'
        : 'failed';
    await this.repo.setStatus(this.searchId, status, status === 'failed' ? 'every trial failed' : null);
    if (this.opts.recorder)
      await this.opts.recorder.searchEnded({ id: this.searchId, config: this.config, runId: this.runId }, status, best);
    this.opts.onUpdate?.({ type: 'search-ended', status });
    return {
      searchId: this.searchId,
      status,
      trials,
      best,
      wallMs,
      utilisation: wallMs > 0 ? this.busyMs / (this.workers * wallMs) : 0,
      busyMs: this.busyMs,
      stoppedEarly: trials.filter((t) => t.status === 'stopped' && t.stopReason?.startsWith('median rule')).length,
      errors: trials.filter((t) => t.status === 'error').length,
      timeline: this.timeline(wallMs),
      prefetch: this.prefetch,
      writes: { ...this.writes.stats },
    };
  }

  private timeline(wallMs: number): SearchTimeline {
    const lastStartMs = Math.min(wallMs, Math.max(0, this.lastStartAt - this.t0));
    let before = 0;
    const cut = this.t0 + lastStartMs;
    for (const [a, b] of this.busyIntervals) before += Math.max(0, Math.min(b, cut) - Math.max(a, this.t0));
    const gaps = [...this.dispatchGaps].sort((a, b) => a - b);
    const r = (x: number): number => Math.round(x * 100) / 100;
    return {
      lastStartMs: r(lastStartMs),
      tailMs: r(wallMs - lastStartMs),
      steadyUtilisation: lastStartMs > 0 ? Math.min(1, before / (this.workers * lastStartMs)) : 0,
      dispatchGapMs: {
        count: gaps.length,
        total: r(gaps.reduce((x, y) => x + y, 0)),
        p50: r(percentile(gaps, 0.5)),
        p95: r(percentile(gaps, 0.95)),
        max: r(gaps[gaps.length - 1] ?? 0),
      },
    };
  }

  /**
   * Ended trials of a resumed search that have no tracker run yet (their recording was lost with the
   * previous driver) get one now, so the tracker holds exactly one child run per ended trial.
   */
  private async recordMissingRuns(): Promise<void> {
    const recorder = this.opts.recorder!;
    for (const n of this.finishOrder) {
      const t = this.trials.get(n)!;
      // As `ended` does: cancelled trials (never started) get no run.
      if (t.runId !== null || t.status === 'cancelled') continue;
      const runId = await recorder.trialEnded(
        { id: this.searchId, config: this.config, runId: this.runId },
        this.record(t),
      );
      if (runId !== null) {
        t.runId = runId;
        await this.repo.updateTrial(t.id, { run_id: runId });
      }
    }
  }

  private async loadExisting(): Promise<void> {
    await this.repo.clearStop(this.searchId);
    const records = await this.repo.listTrials(this.searchId);
    const ended = records
      .filter(
        (r) => r.status === 'completed' || r.status === 'stopped' || r.status === 'error' || r.status === 'cancelled',
      )
      .sort((a, b) => (a.finishedAt ?? '').localeCompare(b.finishedAt ?? '') || a.number - b.number);
    for (const r of records) {
      const t: LiveTrial = {
        id: r.id,
        number: r.number,
        params: r.params,
        budget: r.budget,
        rung: r.rung,
        promotedFrom: r.promotedFrom,
        seed: r.seed,
        status: r.status,
        attempt: r.attempt,
        failures: r.failures,
        history: r.curve,
        metric: r.metric,
        best: r.bestMetric,
        stopSent: null,
        lastHeartbeat: Date.now(),
        startedAt: null,
        worker: r.worker,
        busyMs: 0,
        startedAtStored: r.startedAt,
        finishedAtStored: r.finishedAt,
        durationMs: r.durationMs,
        stopReason: r.stopReason,
        error: r.error,
        runId: r.runId,
      };
      this.trials.set(t.number, t);
      this.created = Math.max(this.created, t.number);
      if (r.status === 'pending' || r.status === 'running') {
        // Whatever ran under the old driver is lost with it: run the trial again from the start.
        t.status = 'pending';
        t.history = [];
        this.retryQueue.push(t.number);
      }
    }
    this.finishOrder = ended.map((r) => r.number);
    await this.store.audit('search.resume', `search:${this.searchId}`, {
      requeued: this.retryQueue.length,
      ended: ended.length,
    });
  }

  // ---- scheduling ------------------------------------------------------------------------------

  private get remainingToCreate(): number {
    const cap = this.optimizer.capacity ?? Infinity;
    return Math.max(0, Math.min(this.config.numTrials, cap) - this.created);
  }

  /** Fills free worker slots (async) or starts the next batch (sync). Never runs twice at once. */
  private fill(): void {
    if (this.filling) {
      this.fillAgain = true;
      return;
    }
    this.filling = true;
    void this.fillOnce()
      .catch((err: Error) => {
        this.fillError ??= err;
        this.stopping = true;
      })
      .finally(() => {
        this.filling = false;
        if (this.fillAgain) {
          this.fillAgain = false;
          this.fill();
        } else this.checkDone();
      });
  }

  private async fillOnce(): Promise<void> {
    if (this.stopping) return;
    const sync = this.config.mode === 'sync';
    if (sync && this.inFlight.size > 0) return;
    if (this.writeError) throw this.writeError;
    let free = this.workers + this.prefetch - this.inFlight.size;
    // Retries and requeued trials first.
    while (free > 0 && this.retryQueue.length) {
      this.submit(this.trials.get(this.retryQueue.shift()!)!);
      free--;
    }
    const n = Math.min(free, this.remainingToCreate);
    if (n <= 0 || this.exhausted) return;
    const views = [...this.trials.values()];
    const suggestions: Suggestion[] = this.optimizer.suggest(n, {
      nextNumber: this.created + 1,
      running: views.filter((t) => t.status === 'pending' || t.status === 'running').map((t) => this.view(t)),
      finished: views.filter((t) => t.status !== 'pending' && t.status !== 'running').map((t) => this.view(t)),
    });
    if (suggestions.length === 0 && this.inFlight.size === 0) this.exhausted = true;
    for (const s of suggestions) {
      const number = ++this.created;
      const seed = Prng.keyed(this.config.seed ?? 0, STREAM.trialSeed, number).int(0, 2 ** 31 - 1);
      const rec = {
        number,
        params: { ...this.config.fixedParams, ...s.params },
        budget: s.budget ?? null,
        rung: s.rung ?? null,
        promotedFrom: s.promotedFrom ?? null,
        seed,
      };
      // The row is written through the ordered write queue: dispatch never waits for the store, and
      // every later write of this trial runs after it (closures read t.id when they run).
      const t: LiveTrial = {
        id: -1,
        ...rec,
        status: 'pending',
        attempt: 0,
        failures: 0,
        history: [],
        metric: null,
        best: null,
        stopSent: null,
        lastHeartbeat: Date.now(),
        startedAt: null,
        worker: null,
        busyMs: 0,
        startedAtStored: null,
        finishedAtStored: null,
        durationMs: null,
        stopReason: null,
        error: null,
        runId: null,
      };
      this.trials.set(number, t);
      this.writes.op(async (repo) => {
        t.id = await repo.createTrial(this.searchId, rec);
      });
      if (this.stopping) {
        t.status = 'cancelled';
        t.stopReason = 'search stopped';
        t.finishedAtStored = storedTime();
        this.writes.updateTrial(t, {
          status: 'cancelled',
          stop_reason: 'search stopped',
          finished_at: t.finishedAtStored,
        });
        continue;
      }
      this.submit(t);
    }
  }

  private submit(t: LiveTrial): void {
    t.attempt++;
    t.status = 'pending';
    t.history = [];
    t.best = null;
    t.stopSent = null;
    t.lastHeartbeat = Date.now();
    this.inFlight.add(t.number);
    const attempt = t.attempt;
    t.stopReason = null;
    this.writes.updateTrial(t, {
      attempt,
      status: 'pending',
      steps: 0,
      best_metric: null,
      metric: null,
      stop_reason: null,
    });
    const a: TrialAssignment = {
      searchId: this.searchId,
      trialId: t.number,
      number: t.number,
      attempt,
      params: t.params,
      seed: t.seed,
      budget: t.budget,
      trial: this.config.trial,
    };
    this.opts.executor.submit(a);
  }

  private checkDone(): void {
    if (this.filling || this.inFlight.size > 0) return;
    if (this.stopping || ((this.remainingToCreate === 0 || this.exhausted) && this.retryQueue.length === 0))
      this.resolveDone();
  }

  // ---- executor events -------------------------------------------------------------------------

  private current(key: AttemptKey): LiveTrial | undefined {
    const t = this.trials.get(key.trialId);
    return t && t.attempt === key.attempt && this.inFlight.has(t.number) ? t : undefined;
  }

  private onStarted(key: AttemptKey, worker: string, waitedMs?: number): void {
    const t = this.current(key);
    if (!t) return;
    t.status = 'running';
    t.worker = worker;
    t.startedAt = Date.now();
    t.lastHeartbeat = Date.now();
    const now = performance.now();
    this.lastStartAt = now;
    // The worker's own measure when it gives one (the driver's clock adds its own delays under load).
    const lastEnd = this.lastEndOfWorker.get(worker);
    if (lastEnd !== undefined) this.dispatchGaps.push(Math.max(0, waitedMs ?? now - lastEnd));
    t.startedAtStored = storedTime();
    this.writes.updateTrial(t, { status: 'running', worker, started_at: t.startedAtStored });
    this.opts.onUpdate?.({ type: 'trial-started', number: t.number, worker });
  }

  private onAlive(key: AttemptKey): void {
    const t = this.current(key);
    if (t) t.lastHeartbeat = Date.now();
  }

  private onMetric(key: AttemptKey, step: number, value: number): void {
    const t = this.current(key);
    if (!t) return;
    t.lastHeartbeat = Date.now();
    if (t.status === 'pending') t.status = 'running';
    t.history.push(value);
    if (t.best === null || isBetter(value, t.best, this.config.direction)) t.best = value;
    this.metricBuffer.push({ trial: t, attempt: t.attempt, idx: t.history.length - 1, step, value, at: storedTime() });
    this.writes.wake();
    if (this.metricBuffer.length >= 2000) this.flushMetrics();
    this.opts.onUpdate?.({ type: 'metric', number: t.number, step, value });
    if (this.rule && !t.stopSent && !this.stopping) {
      const decision = this.rule.check(t.history, t.best!);
      if (decision) this.sendStop(t, decision.reason);
    }
  }

  private sendStop(t: LiveTrial, reason: string): void {
    if (t.stopSent) return;
    t.stopSent = reason;
    this.opts.executor.stop({ trialId: t.number, attempt: t.attempt }, reason);
  }

  private onEnded(key: AttemptKey, outcome: TrialOutcome): void {
    const t = this.current(key);
    if (!t) return;
    this.inFlight.delete(t.number);
    this.busyMs += outcome.busyMs;
    t.busyMs += outcome.busyMs;
    const now = performance.now();
    if (outcome.busyMs > 0) this.busyIntervals.push([now - outcome.busyMs, now]);
    if (t.worker && t.status === 'running') this.lastEndOfWorker.set(t.worker, now);
    // The next trial goes out before anything else is done about this one.
    const finished = outcome.kind === 'finished' && (outcome.metric !== null || outcome.stopped);
    const retry = !finished && !this.stopping && t.failures + 1 <= (this.config.maxRetries ?? 1) ? t.number : undefined;
    if (retry !== undefined) this.retryQueue.push(retry);
    this.fill();

    const at = storedTime();
    const durationMs = outcome.busyMs;
    if (outcome.kind === 'finished' && finished) {
      t.status = outcome.stopped ? 'stopped' : 'completed';
      t.metric = outcome.metric;
      const reason = outcome.stopped ? (outcome.stopReason ?? t.stopSent ?? 'stopped') : null;
      t.stopReason = reason;
      t.finishedAtStored = at;
      t.durationMs = durationMs;
      this.writes.updateTrial(t, {
        status: t.status,
        metric: t.metric,
        best_metric: t.best,
        steps: t.history.length,
        stop_reason: reason,
        finished_at: at,
        duration_ms: durationMs,
      });
      this.rule?.addFinished(t.history);
      this.optimizer.observe(this.view(t));
      this.ended(t, reason);
    } else {
      const error =
        outcome.kind === 'failed' ? outcome.error : `trial ${t.number} returned no metric and reported none`;
      t.failures++;
      t.error = error;
      if (retry !== undefined) {
        // The retry may already be resubmitted (and even started) by the fill above: leave its state.
        if (!this.inFlight.has(t.number)) t.status = 'pending';
        this.writes.updateTrial(t, {
          failures: t.failures,
          error,
          ...(this.inFlight.has(t.number) ? {} : { status: 'pending' as const }),
        });
      } else {
        t.status = 'error';
        t.finishedAtStored = at;
        t.durationMs = durationMs;
        this.writes.updateTrial(t, {
          status: 'error',
          failures: t.failures,
          error,
          steps: t.history.length,
          finished_at: at,
          duration_ms: durationMs,
        });
        this.optimizer.observe(this.view(t));
        this.ended(t, null);
      }
    }
    // An ended trial can change what the optimizer suggests (ASHA promotions), so fill once more.
    this.fill();
    this.checkDone();
  }

  private ended(t: LiveTrial, reason: string | null): void {
    this.opts.onUpdate?.({ type: 'trial-ended', number: t.number, status: t.status, metric: t.metric, reason });
    if (!this.opts.recorder) return;
    this.toRecord.push(t);
    if (this.toRecord.length === 1) this.recording = this.recording.then(() => this.recordEnded());
  }

  /**
   * Records ended trials in the tracker, in the background: once the batch holding their end is in
   * the store (a run links to a stored trial), outside that batch's transaction, from the driver's
   * own record of each trial — nothing re-reads the search.
   */
  private async recordEnded(): Promise<void> {
    await this.writes.settled();
    const recorder = this.opts.recorder!;
    const batch = this.toRecord.splice(0);
    for (const t of batch) {
      if (this.writeError) return;
      try {
        const runId = await recorder.trialEnded(
          { id: this.searchId, config: this.config, runId: this.runId },
          this.record(t),
        );
        if (runId !== null) {
          t.runId = runId;
          this.writes.updateTrial(t, { run_id: runId });
        }
      } catch (err) {
        this.fillError ??= err as Error;
      }
    }
  }

  /** The trial as the store holds it (built from the driver's state, not read back). */
  private record(t: LiveTrial): TrialRecord {
    return {
      id: t.id,
      number: t.number,
      params: t.params,
      budget: t.budget,
      rung: t.rung,
      promotedFrom: t.promotedFrom,
      status: t.status,
      attempt: t.attempt,
      failures: t.failures,
      seed: t.seed,
      worker: t.worker,
      startedAt: t.startedAtStored,
      finishedAt: t.finishedAtStored,
      durationMs: t.durationMs,
      metric: t.metric,
      bestMetric: t.best,
      steps: t.history.length,
      stopReason: t.stopReason,
      error: t.error,
      runId: t.runId,
      curve: [...t.history],
    };
  }

  /** Heartbeat to the store, stop requests from elsewhere, and workers that went silent. */
  private poll(): void {
    this.writes.op(async (repo) => {
      const { stopRequested } = await repo.heartbeat(this.searchId);
      if (stopRequested && !this.stopping) this.stop();
    });
    const timeout = this.config.heartbeatTimeoutMs ?? 120_000;
    const now = Date.now();
    for (const n of [...this.inFlight]) {
      const t = this.trials.get(n)!;
      if (t.status === 'running' && now - t.lastHeartbeat > timeout) {
        this.opts.executor.stop({ trialId: t.number, attempt: t.attempt }, 'no heartbeat');
        this.onEnded(
          { trialId: t.number, attempt: t.attempt },
          {
            kind: 'failed',
            error: `no heartbeat from ${t.worker ?? 'its worker'} for ${timeout} ms: worker lost`,
            crashed: true,
            busyMs: 0,
          },
        );
      }
    }
  }

  // ---- persistence -----------------------------------------------------------------------------

  /** Reported metrics join the next batch of writes as one multi-row insert (called as a batch is cut). */
  private flushMetrics(): void {
    if (!this.metricBuffer.length) return;
    const rows = this.metricBuffer;
    this.metricBuffer = [];
    this.writes.op((repo) => repo.appendMetrics(rows.map(({ trial, ...r }) => ({ ...r, trialId: trial.id }))));
  }

  private view(t: LiveTrial): TrialView {
    return {
      number: t.number,
      params: t.params,
      budget: t.budget,
      rung: t.rung,
      promotedFrom: t.promotedFrom,
      status: t.status,
      metric: t.metric,
      history: t.history,
    };
  }
}

export function directionOf(config: SearchConfig): Direction {
  return config.direction;
}

export { describeOptimizer };
