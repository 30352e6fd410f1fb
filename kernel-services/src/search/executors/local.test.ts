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
import { childEntry } from '../ts-require';
import { LocalProcessExecutor } from './local';

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
    const child = fork(file, [dir, '10'], {
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
    // Wait until some trials ended and others are running, then kill the driver.
    for (;;) {
      const trials = await repo.listTrials(searchId);
      if (trials.filter((t) => t.status === 'completed').length >= 2 && trials.some((t) => t.status === 'running'))
        break;
      await new Promise((r) => setTimeout(r, 50));
    }
    child.kill('SIGKILL');
    await new Promise((r) => child.once('exit', r));
    const before = await repo.listTrials(searchId);
    const interrupted = before.filter((t) => t.status === 'running' || t.status === 'pending').map((t) => t.number);
    expect(interrupted.length).toBeGreaterThan(0);
    expect((await repo.getSearch(searchId)).status).toBe('running');

    const driver = await SearchDriver.resume(store, searchId, { executor: pool });
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
  });
});
