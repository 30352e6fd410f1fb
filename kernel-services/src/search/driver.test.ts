import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { openProjectStore, type ProjectStore } from '../store';
import type { SearchConfig } from './config';
import { SearchDriver } from './driver';
import { InProcessExecutor } from './executors/in-process';
import { LENET_SEARCH_SPACE, replayCurve } from './replay';
import { SearchRepository } from './repository';
import { TrackerSearchRecorder } from './tracking';
import type { TrialReporter } from './trial';

const REPLAY = { module: path.join(__dirname, 'replay.ts'), export: 'replayTrial' };

function config(over: Partial<SearchConfig> = {}): SearchConfig {
  return {
    name: 'lenet-replay',
    space: { ...LENET_SEARCH_SPACE },
    optimizer: 'random',
    numTrials: 12,
    metric: 'val_accuracy',
    direction: 'max',
    trial: REPLAY,
    seed: 5,
    ...over,
  };
}

describe('search driver (in-process executor)', () => {
  let dir: string;
  let store: ProjectStore;
  const scale = process.env.FLOE_REPLAY_SCALE;
  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-search-'));
    store = await openProjectStore({ home: dir });
    process.env.FLOE_REPLAY_SCALE = '0.1';
  });
  afterAll(async () => {
    await store.close();
    fs.rmSync(dir, { recursive: true, force: true });
    if (scale === undefined) delete process.env.FLOE_REPLAY_SCALE;
    else process.env.FLOE_REPLAY_SCALE = scale;
  });

  it('runs every trial, records params, curves and the best trial in the store', async () => {
    const result = await SearchDriver.run(store, config(), { executor: new InProcessExecutor(3) });
    expect(result.status).toBe('completed');
    expect(result.trials).toHaveLength(12);
    expect(result.trials.every((t) => t.status === 'completed' && t.curve.length === 20 && t.attempt === 1)).toBe(true);
    // Each trial's curve is the replay model's for its params and seed.
    const t3 = result.trials[2]!;
    expect(t3.curve).toEqual(replayCurve(t3.params, t3.seed).accuracy);
    expect(t3.metric).toBe(t3.curve[19]);
    expect(result.best!.metric).toBe(Math.max(...result.trials.map((t) => t.metric!)));
    const search = await new SearchRepository(store).getSearch(result.searchId);
    expect(search.status).toBe('completed');
    expect(search.finishedAt).not.toBeNull();
  });

  it('stops trials below the median with the median rule and records why', async () => {
    const result = await SearchDriver.run(
      store,
      config({ numTrials: 24, earlyStopping: { rule: 'median', minTrials: 3, interval: 2 } }),
      {
        executor: new InProcessExecutor(4),
      },
    );
    const stopped = result.trials.filter((t) => t.status === 'stopped');
    expect(stopped.length).toBeGreaterThan(3);
    for (const t of stopped) {
      expect(t.stopReason).toMatch(/^median rule: best .* < median/);
      expect(t.steps).toBeLessThan(20);
      expect(t.steps % 2).toBe(0);
      expect(t.metric).toBe(t.curve[t.curve.length - 1]);
    }
    expect(result.stoppedEarly).toBe(stopped.length);
  });

  it('runs the same configurations in sync mode, batch after batch', async () => {
    const starts: number[] = [];
    const ends: number[] = [];
    const a = await SearchDriver.run(store, config({ numTrials: 8, mode: 'sync' }), {
      executor: new InProcessExecutor(4),
      onUpdate: (e) => {
        if (e.type === 'trial-started') starts.push(e.number);
        if (e.type === 'trial-ended') ends.push(e.number);
      },
    });
    const b = await SearchDriver.run(store, config({ numTrials: 8 }), { executor: new InProcessExecutor(4) });
    expect(a.trials.map((t) => t.params)).toEqual(b.trials.map((t) => t.params));
    expect(a.trials.map((t) => t.seed)).toEqual(b.trials.map((t) => t.seed));
    // No trial of the second batch started before all of the first ended.
    const firstOfBatch2 = starts.indexOf(5);
    expect(new Set(starts.slice(0, firstOfBatch2))).toEqual(new Set([1, 2, 3, 4]));
    expect(ends.slice(0, 4).sort()).toEqual([1, 2, 3, 4]);
  });

  it('runs ASHA with promotions and grows budgets', async () => {
    const result = await SearchDriver.run(
      store,
      config({
        numTrials: 26,
        optimizer: { name: 'asha', minResource: 2, maxResource: 18, reductionFactor: 3, resourceName: 'epochs' },
      }),
      { executor: new InProcessExecutor(3) },
    );
    const promoted = result.trials.filter((t) => t.promotedFrom !== null);
    expect(promoted.length).toBeGreaterThan(3);
    for (const p of promoted) {
      const parent = result.trials.find((t) => t.number === p.promotedFrom)!;
      expect(p.rung).toBe(parent.rung! + 1);
      expect(p.curve).toHaveLength(p.budget!);
      expect(p.params.lr).toBe(parent.params.lr);
    }
    expect(new Set(result.trials.map((t) => t.budget))).toEqual(new Set([2, 6, 18]));
  });

  it('runs TPE and grid searches to completion', async () => {
    const tpe = await SearchDriver.run(store, config({ optimizer: 'tpe', numTrials: 16 }), {
      executor: new InProcessExecutor(4),
    });
    expect(tpe.trials.filter((t) => t.status === 'completed')).toHaveLength(16);
    const grid = await SearchDriver.run(
      store,
      config({
        space: { filters: { type: 'discrete', values: [8, 16] }, kernel: { type: 'discrete', values: [3, 5] } },
        optimizer: 'grid',
        numTrials: 100,
      }),
      { executor: new InProcessExecutor(2) },
    );
    expect(grid.trials.map((t) => t.params)).toEqual([
      { filters: 8, kernel: 3 },
      { filters: 8, kernel: 5 },
      { filters: 16, kernel: 3 },
      { filters: 16, kernel: 5 },
    ]);
  });

  it('retries a failing attempt once, then marks the trial error and goes on', async () => {
    let calls = 0;
    const flaky = async (params: Record<string, unknown>, r: TrialReporter) => {
      calls++;
      if (params.mode === 'always') throw new Error('bad data');
      if (params.mode === 'once' && r.trial.attempt === 1) throw new Error('transient');
      r.report(1, 0.7);
      return 0.7;
    };
    const result = await SearchDriver.run(
      store,
      config({
        space: { mode: { type: 'categorical', values: ['ok', 'once', 'always'] } },
        optimizer: { name: 'list', configs: [{ mode: 'ok' }, { mode: 'once' }, { mode: 'always' }] },
        numTrials: 3,
      }),
      { executor: new InProcessExecutor(2, flaky as never) },
    );
    const [ok, once, always] = result.trials;
    expect(ok).toMatchObject({ status: 'completed', attempt: 1, failures: 0 });
    expect(once).toMatchObject({ status: 'completed', attempt: 2, failures: 1, metric: 0.7 });
    expect(always).toMatchObject({ status: 'error', attempt: 2, failures: 2 });
    expect(always!.error).toMatch(/bad data/);
    expect(calls).toBe(5);
    expect(result.status).toBe('completed');
  });

  it('ends cleanly on a stop request from another process (the store flag)', async () => {
    const driver = await SearchDriver.create(store, config({ numTrials: 40 }), {
      executor: new InProcessExecutor(2),
      pollMs: 50,
    });
    const repo = new SearchRepository(store);
    setTimeout(() => void repo.requestStop(driver.searchId), 300);
    const result = await driver.run();
    expect(result.status).toBe('stopped');
    expect(result.trials.length).toBeLessThan(40);
    const stopped = result.trials.filter((t) => t.stopReason === 'search stopped');
    expect(stopped.length).toBeGreaterThan(0);
    expect(result.trials.every((t) => ['completed', 'stopped', 'cancelled'].includes(t.status))).toBe(true);
    expect((await repo.getSearch(driver.searchId)).status).toBe('stopped');
  });

  it('dispatches the next trials while store writes are held back, and writes everything before it returns', async () => {
    let open!: () => void;
    const gate = new Promise<void>((r) => (open = r));
    let transactions = 0;
    // The same store, but every write transaction waits at the gate (a slow or busy database).
    const slowStore: ProjectStore = {
      ...store,
      writeTransaction: async (fn, o) => {
        await gate;
        transactions++;
        return store.writeTransaction(fn, o);
      },
    };
    const started: number[] = [];
    const quick = async (_p: Record<string, unknown>, r: TrialReporter) => {
      started.push(r.trial.number);
      r.report(1, 0.6 + r.trial.number / 100);
      r.report(2, 0.7 + r.trial.number / 100);
      return 0.7 + r.trial.number / 100;
    };
    const running = SearchDriver.run(slowStore, config({ numTrials: 10 }), {
      executor: new InProcessExecutor(2, quick as never),
      flushMs: 5,
    });
    for (let i = 0; i < 200 && started.length < 10; i++) await new Promise((r) => setTimeout(r, 10));
    const searchId = (await new SearchRepository(store).listSearches()).at(0)!.id;
    // Every trial ran although not one write reached the store.
    expect(started).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(transactions).toBe(0);
    expect(await new SearchRepository(store).listTrials(searchId)).toHaveLength(0);
    open();
    const result = await running;
    expect(result.searchId).toBe(searchId);
    expect(result.trials).toHaveLength(10);
    expect(result.trials.every((t) => t.status === 'completed' && t.curve.length === 2)).toBe(true);
    expect(result.best!.number).toBe(10);
    // Batched: far fewer transactions than writes, and a trial's updates within a batch merged.
    expect(result.writes.batches).toBe(transactions);
    expect(result.writes.batches).toBeLessThan(result.writes.writes);
    expect(result.writes.merged).toBeGreaterThan(0);
  });

  it('records each ended trial as a tracker run from its own state, without re-reading the search', async () => {
    const listTrials = vi.spyOn(SearchRepository.prototype, 'listTrials');
    try {
      const result = await SearchDriver.run(
        store,
        config({ name: 'tracked', numTrials: 16, earlyStopping: { rule: 'median', minTrials: 3 } }),
        { executor: new InProcessExecutor(4), recorder: new TrackerSearchRecorder(store) },
      );
      // Once, for the result at the end; never per trial.
      expect(listTrials).toHaveBeenCalledTimes(1);
      const search = await new SearchRepository(store).getSearch(result.searchId);
      const runs = await store.db
        .selectFrom('run')
        .selectAll()
        .where('parent_run_id', '=', search.runId!)
        .orderBy('id')
        .execute();
      expect(runs).toHaveLength(16);
      for (const t of result.trials) {
        const run = runs.find((r) => r.id === t.runId)!;
        expect(JSON.parse(run.tags)).toMatchObject({ trial: String(t.number), status: t.status });
        expect(run.status).toBe(t.status === 'stopped' ? 'interrupted' : 'finished');
        if (t.status === 'stopped') expect(run.error).toBe(t.stopReason);
        const epochs = await store.db
          .selectFrom('run_metric')
          .select(['step', 'value'])
          .where('run_id', '=', run.id)
          .where('scope', '=', 'epoch')
          .orderBy('step')
          .execute();
        expect(epochs.map((m) => m.value)).toEqual(t.curve);
        expect(JSON.parse(run.summary).val_accuracy).toBe(t.metric);
      }
      expect(result.trials.some((t) => t.status === 'stopped')).toBe(true);
    } finally {
      listTrials.mockRestore();
    }
  });

  it('validates its config with errors naming the field', async () => {
    await expect(
      SearchDriver.run(store, config({ numTrials: 0 }), { executor: new InProcessExecutor(1) }),
    ).rejects.toThrow(/'numTrials' must be a positive integer/);
    await expect(
      SearchDriver.run(store, config({ direction: 'up' as never }), { executor: new InProcessExecutor(1) }),
    ).rejects.toThrow(/'direction'/);
    await expect(
      SearchDriver.run(store, config({ space: { lr: { type: 'double', min: 0, max: 1, scale: 'log' } } }), {
        executor: new InProcessExecutor(1),
      }),
    ).rejects.toThrow(/'space': parameter 'lr'/);
    await expect(
      SearchDriver.run(store, config({ prefetch: -1 }), { executor: new InProcessExecutor(1) }),
    ).rejects.toThrow(/'prefetch' must be a non-negative integer/);
  });
});
