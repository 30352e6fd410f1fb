import { EXPLANATION_MIME, TRAINING_MIME, TrainingPayload, type FloeMimeBundle } from '@floe/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ProjectStore } from '../store';
import { ExperimentTracker } from '../tracking/tracker';
import { augmentBatch } from './augment';
import { loadTf } from './backend';
import { inMemoryTrainingData, type DataSplit, type SampleBatch, type TrainingData } from './data';
import { tempStore, tinyData, tinyTrainConfig, TINY_LENET, TINY_SIDE } from './fixtures.test-support';
import { SeededRandom } from './random';
import {
  benchmarkTraining,
  train,
  TrainingConfigError,
  TrainingDivergedError,
  TrainingInterruptedError,
  type TrainConfig,
} from './train';

let store: ProjectStore;
let cleanup: () => Promise<void>;
let tracker: ExperimentTracker;
let data: TrainingData;

beforeAll(async () => {
  ({ store, cleanup } = await tempStore());
  tracker = new ExperimentTracker(store);
  data = tinyData({ train: 48, validation: 24, test: 16 });
});
afterAll(async () => {
  data.dispose?.();
  await cleanup();
});

const base = (over: Partial<TrainConfig> = {}): TrainConfig => tinyTrainConfig(data, store, over);

describe('train', () => {
  it('trains, tracks everything on the run and shows a live MIME bundle', async () => {
    const shown: FloeMimeBundle[] = [];
    const r = await train(
      base({
        experiment: 'tracked',
        epochs: 4,
        augment: true,
        snapshot: { path: '/notebooks/iceberg.ipynb', content: '{"cells": []}' },
        display: (b) => shown.push(b),
      }),
    );
    try {
      expect(r.history.map((h) => h.epoch)).toEqual([1, 2, 3, 4]);
      expect(r.evaluation?.split).toBe('test');
      expect(r.evaluation!.accuracy).toBeGreaterThan(0.8);
      expect(r.evaluation!.byAngle!.map((b) => b.label)).toContain('missing');

      const run = await tracker.getRun(r.runId!);
      expect(run.status).toBe('finished');
      expect(run.experiment).toBe('tracked');
      expect(run.epochsCompleted).toBe(4);
      expect(run.params).toMatchObject({
        model: 'lenet',
        features: ['hh', 'hv'],
        batchSize: 16,
        optimizer: 'adam',
        learningRate: 0.01,
        seed: 7,
      });
      expect(run.environment!.tensorflow.backend).toBe('tensorflow');
      expect(run.environment!.floeVersion).toMatch(/^\d+\.\d+\.\d+/);
      expect(run.dataset!.description).toBe('tiny test patches');
      expect(run.code).toMatchObject({ source: 'given', path: '/notebooks/iceberg.ipynb' });
      expect(Buffer.from(await store.blobs.get(run.code!.blobKey)).toString()).toBe('{"cells": []}');
      expect(run.summary.eval_accuracy).toBeCloseTo(r.evaluation!.accuracy, 10);
      expect(run.summary.val_accuracy).toBeGreaterThan(0);

      const epochs = await tracker.epochHistory(r.runId!);
      expect(epochs).toHaveLength(4);
      expect(Object.keys(epochs[0]!)).toEqual(
        expect.arrayContaining(['loss', 'accuracy', 'val_loss', 'val_accuracy', 'val_log_loss', 'seconds']),
      );
      const steps = await tracker.metrics(r.runId!, { name: 'loss', scope: 'step' });
      expect(steps.map((s) => s.step)).toEqual(Array.from({ length: 12 }, (_, i) => i + 1));

      const artifacts = (await tracker.artifacts(r.runId!)).map((a) => `${a.kind}:${a.name}`);
      expect(artifacts).toEqual(
        expect.arrayContaining([
          'model:model',
          'evaluation:evaluation',
          'plot:plot-loss',
          'plot:plot-accuracy',
          'plot:plot-roc',
          'plot:plot-confusion',
          'code:code',
          'checkpoint:checkpoint',
        ]),
      );
      const evaluation = await tracker.readJsonArtifact<{ confusion: { matrix: number[][] } }>(r.runId!, 'evaluation');
      expect(evaluation.confusion.matrix.flat().reduce((a, b) => a + b)).toBe(16);
      // Only the newest two checkpoints are kept.
      const ckpts = new Set((await store.blobs.list(`runs/${r.runId}/checkpoints/`)).map((k) => k.split('/')[3]));
      expect([...ckpts]).toEqual(['epoch-00003', 'epoch-00004']);

      // Live display: every bundle parses against the schema, the last one is final.
      expect(shown.length).toBeGreaterThan(4);
      for (const b of shown) TrainingPayload.parse(b[TRAINING_MIME]);
      const last = TrainingPayload.parse(shown[shown.length - 1]![TRAINING_MIME]);
      expect(last.run.status).toBe('finished');
      expect(last.epochs).toHaveLength(4);
      expect(last.curves.loss.map((s) => s.name)).toEqual(['train', 'validation']);
      expect(last.evaluation!.samples).toBe(16);
      expect(shown[shown.length - 1]!['text/html']).toContain('<svg');
      expect(shown[shown.length - 1]!['text/plain']).toContain('finished');
      expect(shown[0]![EXPLANATION_MIME]).toBeUndefined();
    } finally {
      r.model.dispose();
    }
  });

  it('is reproducible with the same seed', async () => {
    const a = await train(base({ track: false, epochs: 2, augment: true }));
    const b = await train(base({ track: false, epochs: 2, augment: true }));
    a.model.dispose();
    b.model.dispose();
    expect(b.history.map((h) => h.loss)).toEqual(a.history.map((h) => h.loss));
  });

  it('resumes an interrupted run from its last checkpoint: epoch count and weights continue', async () => {
    const reference = await train(base({ track: false, epochs: 4 }));
    reference.model.dispose();

    const controller = new AbortController();
    await expect(
      train(
        base({
          experiment: 'resume',
          epochs: 4,
          signal: controller.signal,
          callbacks: { onEpochEnd: (row) => void (row.epoch === 2 && controller.abort('test stop')) },
        }),
      ),
    ).rejects.toThrow(TrainingInterruptedError);
    const [interrupted] = await tracker.listRuns({ experiment: 'resume' });
    expect(interrupted!.status).toBe('interrupted');
    expect(interrupted!.error).toMatch(/test stop.*epoch 3/);
    expect(interrupted!.checkpoint!.epoch).toBe(2);
    expect(interrupted!.epochsCompleted).toBe(2);

    const resumed = await train(base({ epochs: 4, resume: interrupted!.id }));
    resumed.model.dispose();
    expect(resumed.runId).toBe(interrupted!.id);
    expect(resumed.history.map((h) => h.epoch)).toEqual([1, 2, 3, 4]);
    // Same weights, optimizer state, shuffles and seeds: the resumed epochs match an uninterrupted run.
    for (let i = 0; i < 4; i++) expect(resumed.history[i]!.loss).toBeCloseTo(reference.history[i]!.loss, 4);
    const run = await tracker.getRun(interrupted!.id);
    expect(run.status).toBe('finished');
    expect(run.error).toBeNull();
    expect((await tracker.epochHistory(run.id)).map((r) => r.epoch)).toEqual([1, 2, 3, 4]);
    expect((await tracker.metrics(run.id, { name: 'loss', scope: 'step' })).map((s) => s.step)).toEqual(
      Array.from({ length: 12 }, (_, i) => i + 1),
    );

    await expect(train(base({ epochs: 4, resume: run.id, features: ['hh'] }))).rejects.toThrow(
      /resume: run \d+ was trained with/,
    );
  });

  it('marks a run failed with a clear message when the loss becomes NaN, keeping what it logged', async () => {
    const S = TINY_SIDE;
    // A split that turns to NaN in epoch 2 (a corrupt shard, say).
    let epochsServed = 0;
    const nanSplit: DataSplit = {
      size: 16,
      async *batches() {
        const tf = loadTf();
        epochsServed++;
        const value = epochsServed >= 2 ? NaN : 0.5;
        yield {
          image: tf.fill([16, S, S, 2], value) as SampleBatch['image'],
          label: tf.tensor2d(
            Array.from({ length: 16 }, (_, i) => i % 2),
            [16, 1],
          ),
        };
      },
    };
    const nanData: TrainingData = { ...data, train: nanSplit, validation: data.validation! };
    await expect(train(base({ experiment: 'nan', data: nanData }))).rejects.toThrow(TrainingDivergedError);
    const [run] = await tracker.listRuns({ experiment: 'nan' });
    expect(run!.status).toBe('failed');
    expect(run!.error).toMatch(/loss became NaN at epoch 2, batch 1/);
    expect(run!.epochsCompleted).toBe(1);
    expect(await tracker.epochHistory(run!.id)).toHaveLength(1);
  });

  it('marks a run interrupted on SIGINT (Ctrl-C or a Jupyter kernel interrupt)', async () => {
    await expect(
      train(
        base({ experiment: 'sigint', callbacks: { onBatchEnd: (b) => void (b.step === 2 && process.emit('SIGINT')) } }),
      ),
    ).rejects.toThrow(/SIGINT/);
    const [run] = await tracker.listRuns({ experiment: 'sigint' });
    expect(run!.status).toBe('interrupted');
    expect(run!.error).toMatch(/SIGINT/);
    expect(process.listenerCount('SIGINT')).toBe(0);
  });

  it('fails the run when a callback throws', async () => {
    await expect(
      train(
        base({
          experiment: 'callback',
          callbacks: {
            onEpochEnd: () => {
              throw new Error('median rule says stop badly');
            },
          },
        }),
      ),
    ).rejects.toThrow('median rule');
    const [run] = await tracker.listRuns({ experiment: 'callback' });
    expect(run!.status).toBe('failed');
    expect(run!.error).toBe('median rule says stop badly');
  });

  it('stops early and restores the best weights', async () => {
    const r = await train(
      base({ track: false, epochs: 6, earlyStopping: { monitor: 'val_accuracy', patience: 1, minDelta: 1 } }),
    );
    r.model.dispose();
    expect(r.stoppedEarly).toBe(true);
    expect(r.history).toHaveLength(2);
    expect(r.bestEpoch).toBe(1);
    expect(r.stopReason).toMatch(/val_accuracy did not improve/);
  });

  it('refuses bad configs with errors that name the problem', async () => {
    await expect(train(base({ model: 'resnet-9000' }))).rejects.toThrow(
      "unknown model 'resnet-9000'; known models: lenet, extremeearth-cnn, extremeearth-cnn-angle",
    );
    await expect(train(base({ features: ['hh', 'band_3'] }))).rejects.toThrow(
      "unknown feature 'band_3'; the training data (tiny test patches) has: hh, hv, inc_angle",
    );
    await expect(train(base({ modelOptions: { ...TINY_LENET, inputShape: [75, 75, 2] } }))).rejects.toThrow(
      'shape mismatch: modelOptions.inputShape is [75, 75, 2] but the features hh, hv of the training data give patches of [16, 16, 2]',
    );
    await expect(train(base({ model: 'extremeearth-cnn-angle', features: ['hh', 'hv'] }))).rejects.toThrow(
      "add 'inc_angle' to features",
    );
    await expect(train(base({ epochs: 0 }))).rejects.toThrow(TrainingConfigError);
    await expect(
      train(
        base({
          earlyStopping: { monitor: 'val_loss', patience: 1 },
          data: { ...data, validation: undefined } as TrainingData,
        }),
      ),
    ).rejects.toThrow(/needs a validation split/);
    // A dataset whose batches do not have the declared patch shape.
    const wrong = inMemoryTrainingData({
      channels: ['hh', 'hv'],
      train: { images: new Float32Array(4 * 8 * 8 * 2), shape: [4, 8, 8, 2], labels: [0, 1, 0, 1] },
    });
    await expect(train(base({ track: false, data: { ...wrong, patchShape: [16, 16] } }))).rejects.toThrow(
      'shape mismatch: the data gave a batch of [4, 8, 8, 2] but the model takes [batch, 16, 16, 2]',
    );
    wrong.dispose?.();
    // No run was created for configs refused up front.
    expect((await tracker.listRuns()).filter((r) => r.params.model === 'resnet-9000')).toHaveLength(0);
  });

  it('selects channels by name and reports benchmark figures', async () => {
    const r = await benchmarkTraining(data, {
      modelOptions: { lenet: { ...TINY_LENET!.lenet } },
      epochs: 2,
      batchSize: 16,
    });
    expect(r.epochSeconds).toHaveLength(2);
    expect(r.samplesPerSecond).toBeGreaterThan(0);
    expect(r.valAccuracy).toBeGreaterThanOrEqual(0);
    const one = await train(base({ track: false, epochs: 1, features: ['hv'] }));
    expect(one.model.inputs[0]!.shape).toEqual([null, 16, 16, 1]);
    one.model.dispose();
  });
});

describe('augmentation', () => {
  it('applies a seeded flip/rotation per sample, keeping each patch’s values', () => {
    const tf = loadTf();
    const x = tf.tensor4d(
      Array.from({ length: 8 * 3 * 3 }, (_, i) => i),
      [8, 3, 3, 1],
    );
    const a = augmentBatch(x, new SeededRandom(5), { flips: true, rot90: true });
    const b = augmentBatch(x, new SeededRandom(5), { flips: true, rot90: true });
    expect(a.arraySync()).toEqual(b.arraySync());
    const xs = x.arraySync() as number[][][][];
    const as = a.arraySync() as number[][][][];
    let changed = 0;
    for (let i = 0; i < 8; i++) {
      expect(as[i]!.flat(2).sort((p, q) => p - q)).toEqual(xs[i]!.flat(2).sort((p, q) => p - q));
      // The centre pixel of a 3×3 patch stays put under every flip and rotation.
      expect(as[i]![1]![1]![0]).toBe(xs[i]![1]![1]![0]);
      if (JSON.stringify(as[i]) !== JSON.stringify(xs[i])) changed++;
    }
    expect(changed).toBeGreaterThan(0);
    [x, a, b].forEach((t) => t.dispose());
  });
});
