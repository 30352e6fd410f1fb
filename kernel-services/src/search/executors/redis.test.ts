import { fork, spawn, type ChildProcess } from 'node:child_process';
import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as net from 'node:net';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openProjectStore, type ProjectStore } from '../../store';
import type { SearchConfig } from '../config';
import { SearchDriver } from '../driver';
import { LENET_SEARCH_SPACE } from '../replay';
import { childEntry } from '../ts-require';
import { RedisExecutor, redisConnection } from './redis';

function hasRedis(): boolean {
  try {
    execFileSync('redis-server', ['--version'], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as net.AddressInfo).port;
      srv.close(() => resolve(port));
    });
    srv.on('error', reject);
  });
}

const replayModule = path.join(__dirname, '..', 'replay.ts');

function startWorker(url: string, queue: string, env: NodeJS.ProcessEnv): Promise<ChildProcess> {
  const { file, execArgv } = childEntry(__dirname, 'redis-worker-main', __filename);
  const child = fork(file, [url, queue], {
    execArgv,
    stdio: ['ignore', 'pipe', 'inherit', 'ipc'],
    env: { ...process.env, ...env },
  });
  return new Promise((resolve, reject) => {
    let out = '';
    child.stdout!.on('data', (d: Buffer) => {
      out += d.toString();
      if (out.includes('waiting for trials')) resolve(child);
    });
    child.once('exit', (code) => reject(new Error(`redis worker exited (${code}): ${out}`)));
  });
}

describe.skipIf(!hasRedis())('Redis executor with two `floe worker` processes', () => {
  let dir: string;
  let store: ProjectStore;
  let redis: ChildProcess;
  let url: string;
  const workers: ChildProcess[] = [];
  const queue = `floe-trials-test-${process.pid}`;

  beforeAll(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-redis-'));
    store = await openProjectStore({ home: path.join(dir, 'project') });
    const port = await freePort();
    url = `redis://127.0.0.1:${port}`;
    redis = spawn(
      'redis-server',
      ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--appendonly', 'no', '--dir', dir],
      {
        stdio: ['ignore', 'pipe', 'inherit'],
      },
    );
    await new Promise<void>((resolve, reject) => {
      let out = '';
      redis.stdout!.on('data', (d: Buffer) => {
        out += d.toString();
        if (out.includes('Ready to accept connections')) resolve();
      });
      redis.once('exit', (code) => reject(new Error(`redis-server exited (${code}): ${out}`)));
    });
    const env = { FLOE_REPLAY_SCALE: '0.5' };
    workers.push(...(await Promise.all([startWorker(url, queue, env), startWorker(url, queue, env)])));
  });

  afterAll(async () => {
    for (const w of workers) if (w.exitCode === null && w.signalCode === null) w.kill('SIGTERM');
    await Promise.all(
      workers.map((w) =>
        w.exitCode === null && w.signalCode === null ? new Promise((r) => w.once('exit', r)) : undefined,
      ),
    );
    redis?.kill('SIGTERM');
    if (redis && redis.exitCode === null) await new Promise((r) => redis.once('exit', r));
    await store?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const config = (over: Partial<SearchConfig> = {}): SearchConfig => ({
    name: 'redis-search',
    space: { ...LENET_SEARCH_SPACE },
    optimizer: 'random',
    numTrials: 8,
    metric: 'val_accuracy',
    direction: 'max',
    trial: { module: replayModule, export: 'replayTrial' },
    seed: 4,
    heartbeatTimeoutMs: 1500,
    ...over,
  });

  it('parses Redis URLs and refuses others', () => {
    expect(redisConnection('redis://u:p%40ss@10.0.0.2:6390/2')).toMatchObject({
      host: '10.0.0.2',
      port: 6390,
      db: 2,
      username: 'u',
      password: 'p@ss',
    });
    expect(() => redisConnection('http://x')).toThrow(/not a Redis URL/);
  });

  it('runs a search on both workers with per-step metrics and early stopping', async () => {
    const executor = new RedisExecutor({ url, workers: 2, queue });
    try {
      const result = await SearchDriver.run(
        store,
        config({ numTrials: 10, earlyStopping: { rule: 'median', minTrials: 2 } }),
        { executor },
      );
      expect(result.status).toBe('completed');
      expect(result.trials).toHaveLength(10);
      const names = new Set(result.trials.map((t) => t.worker));
      expect(names.size).toBe(2);
      for (const n of names) expect(n).toMatch(/^redis:.+:pid\d+$/);
      for (const t of result.trials) {
        expect(['completed', 'stopped']).toContain(t.status);
        expect(t.curve.length).toBe(t.steps);
        if (t.status === 'completed') expect(t.curve).toHaveLength(20);
      }
    } finally {
      await executor.close();
    }
  });

  it('detects a killed worker by its missing heartbeat and retries the trial on the other', async () => {
    const executor = new RedisExecutor({ url, workers: 2, queue });
    const running = new Map<number, string>();
    let killed = false;
    try {
      const driver = await SearchDriver.create(store, config({ numTrials: 4 }), {
        executor,
        pollMs: 100,
        onUpdate: (e) => {
          // Kill the worker running trial 1 at its third epoch.
          if (e.type === 'metric' && e.number === 1 && e.step === 3 && !killed) {
            killed = true;
            const victim = workers.find((w) => String(w.pid) === /pid(\d+)$/.exec(running.get(1) ?? '')?.[1]);
            victim?.kill('SIGKILL');
          }
          if (e.type === 'trial-started') running.set(e.number, e.worker);
        },
      });
      const result = await driver.run();
      const t1 = result.trials[0]!;
      expect(t1).toMatchObject({ status: 'completed', attempt: 2, failures: 1 });
      expect(t1.error).toMatch(/no heartbeat .* worker lost/);
      expect(result.trials.every((t) => t.status === 'completed')).toBe(true);
      expect(workers.filter((w) => w.signalCode === 'SIGKILL')).toHaveLength(1);
    } finally {
      await executor.close();
    }
  });
});
