import { fork } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openProjectStore, type ProjectStore } from '../../store';
import type { SearchConfig } from '../config';
import { SearchDriver } from '../driver';
import { LENET_SEARCH_SPACE } from '../replay';
import { SearchRepository } from '../repository';
import { TrackerSearchRecorder } from '../tracking';
import type { TrialOutcome } from '../trial';
import { childEntry } from '../ts-require';
import { LocalProcessExecutor } from './local';
import type { AttemptKey, ExecutorListener, TrialAssignment } from './types';

const sleepModule = path.join(__dirname, '..', 'fixtures', 'sleep-trial.ts');

/** Executor events in arrival order, for tests that drive an executor without a search driver. */
function recordingListener(): ExecutorListener & {
  events: string[];
  /** performance.now() at which each trial's end reached this process. */
  endedAt: Map<number, number>;
  outcomes: Map<number, TrialOutcome>;
  workerOf: Map<number, string>;
  ended: (key: AttemptKey, o: TrialOutcome) => void;
  whenEnded(n: number): Promise<void>;
} {
  const events: string[] = [];
  const endedAt = new Map<number, number>();
  const outcomes = new Map<number, TrialOutcome>();
  const workerOf = new Map<number, string>();
  const waiting = new Map<number, () => void>();
  return {
    events,
    endedAt,
    outcomes,
    workerOf,
    started: (k, w) => {
      events.push(`started ${k.trialId}`);
      workerOf.set(k.trialId, w);
    },
    metric: () => undefined,
    alive: () => undefined,
    ended: (k, o) => {
      events.push(`ended ${k.trialId}`);
      endedAt.set(k.trialId, performance.now());
      outcomes.set(k.trialId, o);
      waiting.get(k.trialId)?.();
    },
    whenEnded(n) {
      return outcomes.has(n) ? Promise.resolve() : new Promise((r) => waiting.set(n, r));
    },
  };
}

function sleepAssignment(n: number, ms: number): TrialAssignment {
  return {
    searchId: 1,
    trialId: n,
    number: n,
    attempt: 1,
    params: { ms, value: n / 10 },
    seed: n,
    budget: null,
    trial: { module: sleepModule, export: 'sleepTrial' },
  };
}

const replayModule = path.join(__dirname, '..', 'replay.ts');

function config(over: Partial<SearchConfig> = {}): SearchConfig {
  return {
    name: 'local-pool',
    space: { ...LENET_SEARCH_SPACE },
    optimizer: 'random',
    numTrials: 8,
    metric: 'val_accuracy',
    direction: 'max',
    trial: { module: replayModule, export: 'replayTrial' },
    seed: 3,
    ...over,
  };
}

describe('local process-pool executor', () => {
  let dir: string;
  let store: ProjectStore;
  let pool: LocalProcessExecutor;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-local-'));
    store = await openProjectStore({ home: dir });
    pool = new LocalProcessExecutor({ workers: 3, gpus: [], env: { FLOE_REPLAY_SCALE: '0.2' } });
    await pool.start();
  });
  afterAll(async () => {
    await pool.close();
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('runs trials in worker processes, one trial per worker at a time', async () => {
    const result = await SearchDriver.run(store, config({ earlyStopping: { rule: 'median', minTrials: 2 } }), {
      executor: pool,
    });
    expect(result.status).toBe('completed');
    expect(result.trials).toHaveLength(8);
    const workers = new Set(result.trials.map((t) => t.worker));
    expect(workers.size).toBe(3);
    for (const w of workers) expect(w).toMatch(/^local:\d:pid\d+$/);
    expect(pool.pids.every((pid) => pid !== process.pid)).toBe(true);
    expect(result.utilisation).toBeGreaterThan(0);
  });

  it('fails the attempt of a worker that exits or is killed mid-trial, retries it once, and goes on', async () => {
    const pidsBefore = pool.pids;
    const result = await SearchDriver.run(
      store,
      config({
        space: { crash: { type: 'categorical', values: ['none', 'exit', 'kill', 'always'] } },
        optimizer: {
          name: 'list',
          configs: [{ crash: 'exit' }, { crash: 'kill' }, { crash: 'always' }, { crash: 'none' }],
        },
        numTrials: 4,
        trial: { module: replayModule, export: 'crashOnceTrial' },
      }),
      { executor: pool },
    );
    const [exit, kill, always, none] = result.trials;
    expect(exit).toMatchObject({ status: 'completed', attempt: 2, failures: 1 });
    expect(exit!.error).toMatch(/crashed: exit code 3/);
    expect(kill).toMatchObject({ status: 'completed', attempt: 2, failures: 1 });
    expect(kill!.error).toMatch(/signal SIGKILL/);
    expect(always).toMatchObject({ status: 'error', attempt: 2, failures: 2 });
    expect(always!.error).toMatch(/exit code 4/);
    expect(none).toMatchObject({ status: 'completed', attempt: 1 });
    expect(result.status).toBe('completed');
    // Crashed workers were replaced.
    expect(pool.pids.filter((p) => !pidsBefore.includes(p)).length).toBeGreaterThanOrEqual(3);
  });

  it('kills a worker that stops sending heartbeats and fails its attempt', async () => {
    const slowPool = new LocalProcessExecutor({
      workers: 1,
      gpus: [],
      heartbeatTimeoutMs: 300,
      heartbeatIntervalMs: 10_000,
    });
    try {
      const trialFile = path.join(dir, 'silent.js');
      // Blocks its event loop: no report, no heartbeat.
      fs.writeFileSync(
        trialFile,
        'exports.silent = async () => { const end = Date.now() + 5000; while (Date.now() < end); return 1; };\n',
      );
      const result = await SearchDriver.run(
        store,
        config({ numTrials: 1, maxRetries: 0, trial: { module: trialFile, export: 'silent' } }),
        { executor: slowPool },
      );
      expect(result.trials[0]).toMatchObject({ status: 'error' });
      expect(result.trials[0]!.error).toMatch(/no heartbeat for 300 ms and was killed/);
    } finally {
      await slowPool.close();
    }
  });

  it('reports a trial module that cannot be loaded as a clear error', async () => {
    const result = await SearchDriver.run(
      store,
      config({ numTrials: 1, maxRetries: 0, trial: { module: replayModule, export: 'nope' } }),
      { executor: pool },
    );
    expect(result.trials[0]!.error).toMatch(/has no exported function 'nope' \(functions: .*replayTrial/);
    expect(result.status).toBe('failed');
  });

  it('resumes a search whose driver was killed: requeues unfinished trials and completes', async () => {
    const { file, execArgv } = childEntry(path.join(__dirname, '..', 'fixtures'), 'driver-child', __filename);
    const child = fork(file, [dir, '10', 'track'], {
      execArgv,
      stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
      env: { ...process.env, FLOE_REPLAY_SCALE: '0.5' },
    });
    const searchId = await new Promise<number>((resolve, reject) => {
      child.stdout!.on('data', (d: Buffer) => {
        const m = /search (\d+)/.exec(d.toString());
        if (m) resolve(Number(m[1]));
      });
      child.once('exit', (code) => reject(new Error(`driver child exited early (${code})`)));
    });
    const repo = new SearchRepository(store);
    // Wait until some trials ended (one of them with its tracker run written: store writes are
    // batched, so a trial's end can reach the store before its run does) and others are running,
    // then kill the driver.
    const deadline = Date.now() + 60_000;
    for (;;) {
      if (Date.now() > deadline) throw new Error('the driver child did not reach the mid-search state within 60 s');
      const trials = await repo.listTrials(searchId);
      if (
        trials.filter((t) => t.status === 'completed').length >= 2 &&
        trials.some((t) => t.status === 'completed' && t.runId !== null) &&
        trials.some((t) => t.status === 'running')
      )
        break;
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const before = await repo.listTrials(searchId);
    const interrupted = before.filter((t) => t.status === 'running' || t.status === 'pending').map((t) => t.number);
    expect(interrupted.length).toBeGreaterThan(0);
    expect((await repo.getSearch(searchId)).status).toBe('running');

    // A trial whose end reached the store but whose tracker run did not (the driver died in between).
    const unrecorded = before.find((t) => t.status === 'completed' && t.runId !== null)!;
    expect(unrecorded).toBeDefined();
    await store.db.deleteFrom('run_metric').where('run_id', '=', unrecorded.runId!).execute();
    await store.db.deleteFrom('run').where('id', '=', unrecorded.runId!).execute();
    await repo.updateTrial(unrecorded.id, { run_id: null });

    const driver = await SearchDriver.resume(store, searchId, {
      executor: pool,
      recorder: new TrackerSearchRecorder(store),
    });
    const result = await driver.run();
    expect(result.status).toBe('completed');
    expect(result.trials).toHaveLength(10);
    expect(result.trials.every((t) => t.status === 'completed')).toBe(true);
    for (const n of interrupted) {
      const t = result.trials.find((x) => x.number === n)!;
      expect(t.attempt).toBe(2);
      expect(t.failures).toBe(0);
      expect(t.curve).toHaveLength(20);
    }
    // Trials that had ended were not run again.
    for (const t of before.filter((x) => x.status === 'completed')) {
      expect(result.trials.find((x) => x.number === t.number)!.attempt).toBe(1);
    }
    // The tracker holds exactly one child run per trial, linked both ways, with the trial's curve.
    const search = await repo.getSearch(searchId);
    const children = await store.db
      .selectFrom('run')
      .select(['id', 'tags', 'status', 'epochs_completed'])
      .where('parent_run_id', '=', search.runId!)
      .execute();
    expect(children).toHaveLength(10);
    const byTrial = new Map(children.map((c) => [Number(JSON.parse(c.tags).trial), c]));
    expect(byTrial.size).toBe(10);
    for (const t of result.trials) {
      expect(t.runId).toBe(byTrial.get(t.number)!.id);
      expect(byTrial.get(t.number)).toMatchObject({ status: 'finished', epochs_completed: 20 });
    }
    const curve = await store.db
      .selectFrom('run_metric')
      .select('value')
      .where('run_id', '=', result.trials.find((t) => t.number === unrecorded.number)!.runId!)
      .where('scope', '=', 'epoch')
      .orderBy('step')
      .execute();
    expect(curve.map((m) => m.value)).toEqual(unrecorded.curve);
    expect(search.status).toBe('completed');
  });

  it('hands a busy worker its next trial ahead, so it starts it without a round trip to the driver', async () => {
    const two = new LocalProcessExecutor({ workers: 2, gpus: [], lookahead: 1 });
    try {
      const l = recordingListener();
      await two.attach(l);
      // Both workers load the trial module first (a cold TypeScript load takes a while here).
      two.submit(sleepAssignment(91, 1));
      two.submit(sleepAssignment(92, 1));
      await Promise.all([91, 92].map((n) => l.whenEnded(n)));
      for (const [n, ms] of [
        [1, 150],
        [2, 400],
        [3, 400],
        [4, 50],
      ] as const)
        two.submit(sleepAssignment(n, ms));
      // The driver's process is unresponsive from before trial 1 ends until after trial 3 could have
      // ended: only a worker that already holds trial 3 can run it meanwhile.
      const blockUntil = performance.now() + 700;
      while (performance.now() < blockUntil);
      const unblocked = performance.now();
      await Promise.all([1, 2, 3, 4].map((n) => l.whenEnded(n)));
      expect(l.workerOf.get(3)).toBe(l.workerOf.get(1));
      expect(l.events.indexOf('started 3')).toBe(l.events.indexOf('ended 1') + 1);
      // Started by the worker itself at ~150 ms, so over by the time the driver listens again
      // (had it waited for the driver, it would end ~400 ms after that).
      expect(l.endedAt.get(3)! - unblocked).toBeLessThan(200);
      expect([...l.outcomes.values()].every((o) => o.kind === 'finished' && !o.stopped)).toBe(true);
      two.detach();
    } finally {
      await two.close();
    }
  });

  it('takes a queued trial back for a worker that went idle, and stops a queued trial unstarted', async () => {
    const two = new LocalProcessExecutor({ workers: 2, gpus: [], lookahead: 1 });
    try {
      const l = recordingListener();
      await two.attach(l);
      two.submit(sleepAssignment(91, 1));
      two.submit(sleepAssignment(92, 1));
      await Promise.all([91, 92].map((n) => l.whenEnded(n)));
      two.submit(sleepAssignment(1, 1500)); // worker A, long
      two.submit(sleepAssignment(2, 30)); // worker B, short
      two.submit(sleepAssignment(3, 30)); // queued behind trial 1 on worker A
      two.submit(sleepAssignment(4, 30)); // queued behind trial 2 on worker B
      two.stop({ trialId: 4, attempt: 1 }, 'not wanted');
      await Promise.all([2, 3, 4].map((n) => l.whenEnded(n)));
      // Trial 3 did not wait for the long trial 1: the idle worker took it back and ran it.
      expect(l.outcomes.has(1)).toBe(false);
      expect(l.workerOf.get(3)).toBe(l.workerOf.get(2));
      expect(l.outcomes.get(4)).toMatchObject({ kind: 'finished', stopped: true, stopReason: 'not wanted', busyMs: 0 });
      expect(l.events).not.toContain('started 4');
      await l.whenEnded(1);
      two.detach();
    } finally {
      await two.close();
    }
  });

  it('keeps every worker busy with prefetched trials and reports where worker time went', async () => {
    const result = await SearchDriver.run(
      store,
      config({
        numTrials: 12,
        space: { ms: { type: 'discrete', values: [40, 80, 120] } },
        trial: { module: sleepModule, export: 'sleepTrial' },
      }),
      { executor: pool },
    );
    expect(result.status).toBe('completed');
    expect(result.prefetch).toBe(3);
    expect(result.trials.every((t) => t.status === 'completed' && t.attempt === 1)).toBe(true);
    const tl = result.timeline;
    expect(tl.dispatchGapMs.count).toBe(12 - 3);
    expect(tl.lastStartMs + tl.tailMs).toBeCloseTo(result.wallMs, 0);
    expect(tl.steadyUtilisation).toBeGreaterThan(0);
    expect(tl.steadyUtilisation).toBeLessThanOrEqual(1);
    // Sync mode never prefetches: batches are the point of it.
    const sync = await SearchDriver.run(store, config({ numTrials: 3, mode: 'sync' }), { executor: pool });
    expect(sync.prefetch).toBe(0);
  });
});
