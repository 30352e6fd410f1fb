import { spawnSync } from 'node:child_process';
import * as os from 'node:os';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProjectStore } from '../store';
import { storedTime } from '../store/portable';
import { loadTf } from '../training/backend';
import { tempStore } from '../training/fixtures.test-support';
import { buildModel } from '../training/zoo';
import { blobModelHandler, copyModelBlobs, loadModelFromBlobs, saveModelToBlobs } from './model-io';
import { ExperimentTracker } from './tracker';

let store: ProjectStore;
let cleanup: () => Promise<void>;
let tracker: ExperimentTracker;

beforeAll(async () => {
  ({ store, cleanup } = await tempStore());
  tracker = new ExperimentTracker(store);
});
afterAll(async () => cleanup());

describe('experiment tracking', () => {
  it('creates experiments once and counts their runs', async () => {
    const a = await tracker.experiment('icebergs', 'ship vs iceberg');
    const again = await tracker.experiment('icebergs');
    expect(again.id).toBe(a.id);
    const run = await tracker.startRun({ experiment: 'icebergs' });
    await run.finish();
    expect((await tracker.listExperiments()).find((e) => e.name === 'icebergs')).toMatchObject({
      runs: 1,
      description: 'ship vs iceberg',
    });
    expect((await tracker.getRun(run.id)).name).toBe(`run-${run.id}`);
  });

  it('lists, filters, orders and compares runs', async () => {
    const ids: number[] = [];
    for (const [lr, acc, opt] of [
      [0.01, 0.81, 'adam'],
      [0.001, 0.87, 'adam'],
      [0.1, 0.62, 'sgd'],
    ] as const) {
      const run = await tracker.startRun({
        experiment: 'query',
        params: { learningRate: lr, optimizer: opt, model: { name: 'lenet', filters: [16, 32] } },
        tags: { sweep: 'lr' },
      });
      await run.log('epoch', 1, { val_accuracy: acc - 0.1, loss: 1 });
      await run.log('epoch', 2, { val_accuracy: acc, loss: 0.5 });
      run.logStep(1, { loss: 0.9 });
      if (opt === 'sgd') await run.fail(new Error('diverged'));
      else await run.finish();
      ids.push(run.id);
    }
    const finished = await tracker.listRuns({ experiment: 'query', status: 'finished' });
    expect(finished.map((r) => r.id).sort()).toEqual([ids[0], ids[1]].sort());
    expect((await tracker.listRuns({ experiment: 'query', params: { optimizer: 'sgd' } })).map((r) => r.id)).toEqual([
      ids[2],
    ]);
    expect(await tracker.listRuns({ experiment: 'query', params: { 'model.name': 'lenet' } })).toHaveLength(3);
    expect(
      (await tracker.listRuns({ experiment: 'query', metrics: [{ name: 'val_accuracy', op: '>=', value: 0.8 }] }))
        .map((r) => r.id)
        .sort(),
    ).toEqual([ids[0], ids[1]].sort());
    const ordered = await tracker.listRuns({ experiment: 'query', orderBy: { metric: 'val_accuracy' }, limit: 2 });
    expect(ordered.map((r) => r.id)).toEqual([ids[1], ids[0]]);
    expect(await tracker.listRuns({ tags: { sweep: 'nope' } })).toHaveLength(0);
    expect((await tracker.getRun(ids[2]!)).error).toBe('diverged');
    expect((await tracker.getRun(ids[0]!)).summary).toEqual({ val_accuracy: 0.81, loss: 0.5 });

    const cmp = await tracker.compareRuns([ids[0]!, ids[2]!]);
    expect(cmp.differingParams).toEqual({ learningRate: [0.01, 0.1], optimizer: ['adam', 'sgd'] });
    expect(cmp.metrics.val_accuracy).toEqual([0.81, 0.62]);
    expect((await tracker.metrics(ids[0]!, { scope: 'step' })).map((m) => [m.name, m.step, m.value])).toEqual([
      ['loss', 1, 0.9],
    ]);
    await expect(tracker.getRun(99999)).rejects.toThrow('no run 99999 in this project');
  });

  it('marks running runs whose process is gone as interrupted, and leaves live ones alone', async () => {
    // 1. Abandoned in this very process (e.g. a kernel cell crashed between statements).
    const abandoned = await tracker.startRun({ experiment: 'stale' });
    abandoned.logStep(1, { loss: 0.7 });
    await abandoned.log('epoch', 1, { loss: 0.7 });
    abandoned.abandon();
    // 2. Started by a process that has exited (a killed kernel).
    const dead = await tracker.startRun({ experiment: 'stale' });
    const exited = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], {
      encoding: 'utf8',
    });
    await store.db
      .updateTable('run')
      .set({ pid: Number(exited.stdout) })
      .where('id', '=', dead.id)
      .execute();
    dead.abandon();
    // 3. Another host that stopped sending heartbeats an hour ago.
    const remote = await tracker.startRun({ experiment: 'stale' });
    await store.db
      .updateTable('run')
      .set({ host: `${os.hostname()}-elsewhere`, heartbeat_at: storedTime(Date.now() - 3_600_000) })
      .where('id', '=', remote.id)
      .execute();
    remote.abandon();
    // 4. Alive: driven by this process right now.
    const live = await tracker.startRun({ experiment: 'stale' });

    const runs = await tracker.listRuns({ experiment: 'stale' });
    const byId = new Map(runs.map((r) => [r.id, r]));
    expect(byId.get(abandoned.id)!.status).toBe('interrupted');
    expect(byId.get(abandoned.id)!.epochsCompleted).toBe(1);
    expect(byId.get(dead.id)!.status).toBe('interrupted');
    expect(byId.get(dead.id)!.error).toMatch(/process \d+ on .* ended without finishing the run/);
    expect(byId.get(remote.id)!.status).toBe('interrupted');
    expect(byId.get(remote.id)!.error).toMatch(/no heartbeat since/);
    expect(byId.get(live.id)!.status).toBe('running');
    expect(await tracker.reapStaleRuns()).toEqual([]);
    await live.finish();
  });
});

describe('TF.js models on the blob store', () => {
  it('round-trips a model through the IOHandler and copies it', async () => {
    const tf = loadTf();
    const model = buildModel('lenet', {
      inputShape: [16, 16, 2],
      lenet: { filters: [2, 2], kernelSize: 3, denseUnits: 4, dropout: 0 },
    });
    model.setUserDefinedMetadata({ floe: { channels: ['hh', 'hv'] } });
    const x = tf.randomNormal([3, 16, 16, 2], 0, 1, 'float32', 3);
    try {
      await saveModelToBlobs(model, store.blobs, 'test/model/');
      expect(await store.blobs.list('test/model/')).toEqual(['test/model/model.json', 'test/model/weights.bin']);
      const manifest = JSON.parse(Buffer.from(await store.blobs.get('test/model/model.json')).toString()) as {
        format: string;
        weightsManifest: { paths: string[] }[];
      };
      expect(manifest.format).toBe('layers-model');
      expect(manifest.weightsManifest[0]!.paths).toEqual(['weights.bin']);
      await copyModelBlobs(store.blobs, 'test/model/', 'test/copy/');
      const loaded = await loadModelFromBlobs(store.blobs, 'test/copy/');
      expect(loaded.getUserDefinedMetadata()).toEqual({ floe: { channels: ['hh', 'hv'] } });
      const a = (model.predict(x) as import('@tensorflow/tfjs-node').Tensor).arraySync();
      const b = (loaded.predict(x) as import('@tensorflow/tfjs-node').Tensor).arraySync();
      expect(b).toEqual(a);
      loaded.dispose();
      await expect(tf.loadLayersModel(blobModelHandler(store.blobs, 'test/missing/'))).rejects.toThrow(
        /no blob "test\/missing\/model.json"/,
      );
      expect(() => blobModelHandler(store.blobs, 'no-slash')).toThrow("must end with '/'");
    } finally {
      model.dispose();
      x.dispose();
    }
  });
});
