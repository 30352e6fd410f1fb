import type { Tensor } from '@tensorflow/tfjs-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openProjectStore } from '../store';
import { STORE_BACKEND_KINDS, storeBackends } from '../test-support/store-backends';
import { ExperimentTracker } from '../tracking/tracker';
import { loadTf } from '../training/backend';
import { tinyData, TINY_LENET, TINY_SIDE } from '../training/fixtures.test-support';
import { train, TrainingInterruptedError } from '../training/train';
import { loadModel, ModelRegistry } from './registry';

/** Tracking, checkpoints and the registry behave the same on SQLite + local files and PostgreSQL + S3. */
const backends = storeBackends();
beforeAll(() => backends.start(), 180_000);
afterAll(() => backends.stop());

describe.each(STORE_BACKEND_KINDS)('training runs and the registry on %s', (kind) => {
  it('checkpoints, resumes, registers, moves an alias and loads by it', async () => {
    const store = await openProjectStore(await backends.freshOptions(kind));
    const data = tinyData({ train: 32, validation: 16 });
    try {
      const base = {
        model: 'lenet',
        modelOptions: TINY_LENET,
        data,
        epochs: 3,
        batchSize: 16,
        learningRate: 0.01,
        store,
        display: false as const,
        snapshot: false as const,
        experiment: 'backends',
      };
      const controller = new AbortController();
      await expect(
        train({
          ...base,
          signal: controller.signal,
          callbacks: { onEpochEnd: (r) => void (r.epoch === 1 && controller.abort('stop')) },
        }),
      ).rejects.toThrow(TrainingInterruptedError);
      const tracker = new ExperimentTracker(store);
      const [stopped] = await tracker.listRuns({ experiment: 'backends', status: 'interrupted' });
      expect(stopped!.checkpoint!.epoch).toBe(1);
      const resumed = await train({ ...base, resume: stopped!.id });
      resumed.model.dispose();
      expect(resumed.history.map((h) => h.epoch)).toEqual([1, 2, 3]);
      const second = await train({ ...base, epochs: 1, seed: 9 });
      second.model.dispose();

      const registry = new ModelRegistry(store);
      const v1 = await registry.register({ runId: resumed.runId!, name: 'iceberg', aliases: ['production'] });
      const v2 = await registry.register({ runId: second.runId!, name: 'iceberg' });
      expect([v1.version, v2.version]).toEqual([1, 2]);
      await registry.setAlias('iceberg', 'production', 2);
      expect((await registry.get('iceberg@production')).version).toBe(2);
      expect((await registry.best('eval_log_loss'))!.name).toBe('iceberg');

      const tf = loadTf();
      const x = tf.randomNormal([2, TINY_SIDE, TINY_SIDE, 2], 0, 1, 'float32', 2);
      const a = await loadModel('iceberg@production', { store });
      const b = await loadModel('iceberg:2', { store });
      expect((a.predict(x) as Tensor).arraySync()).toEqual((b.predict(x) as Tensor).arraySync());
      [x, a, b].forEach((t) => t.dispose());
      expect(await store.blobs.exists(`${v1.blobPrefix}model.json`)).toBe(true);
    } finally {
      data.dispose?.();
      await store.close();
    }
  });
});
