import { EXPLANATION_MIME, ExplanationPayload, type FeatureSchema } from '@floe/schema';
import type { Tensor, Tensor3D } from '@tensorflow/tfjs-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FeatureStore } from '../feature-store/feature-store';
import type { ProjectStore } from '../store';
import { ExperimentTracker } from '../tracking/tracker';
import { loadTf } from '../training/backend';
import { featureStoreTrainingData } from '../training/feature-store-data';
import { tempStore, tinyData, TINY_LENET, TINY_SIDE } from '../training/fixtures.test-support';
import { SeededRandom } from '../training/random';
import { train, type TrainConfig } from '../training/train';
import { explain } from './explanations';
import { loadModel, ModelRegistry, parseModelRef } from './registry';

let store: ProjectStore;
let cleanup: () => Promise<void>;
let registry: ModelRegistry;
const runs: { id: number; evalAccuracy: number }[] = [];
let failedRunId: number;
let featureStoreRunId: number;

const S = TINY_SIDE;
const SCHEMA: FeatureSchema = [
  { name: 'id', kind: 'scalar', dtype: 'string', nullable: false, description: '' },
  { name: 'band_1', kind: 'tensor', dtype: 'float32', shape: [S, S], nullable: false, unit: 'dB', description: 'HH' },
  { name: 'band_2', kind: 'tensor', dtype: 'float32', shape: [S, S], nullable: false, unit: 'dB', description: 'HV' },
  { name: 'inc_angle', kind: 'scalar', dtype: 'float64', nullable: true, description: '' },
  { name: 'is_iceberg', kind: 'scalar', dtype: 'int32', nullable: false, description: '' },
];

/** Patches in dB: sea around -20 dB, icebergs (label 1) with a bright 3×3 target. */
function rows(n: number, seed: number): Record<string, unknown>[] {
  const rng = new SeededRandom(seed);
  return Array.from({ length: n }, (_, i) => {
    const label = i % 2;
    const b1 = new Float32Array(S * S);
    const b2 = new Float32Array(S * S);
    const cy = 5 + rng.int(6);
    const cx = 5 + rng.int(6);
    for (let p = 0; p < S * S; p++) {
      const target = label === 1 && Math.abs(Math.floor(p / S) - cy) <= 1 && Math.abs((p % S) - cx) <= 1 ? 8 : 0;
      b1[p] = -20 + 2 * (rng.next() - 0.5) + target;
      b2[p] = -26 + 2 * (rng.next() - 0.5) + target * 0.6;
    }
    return {
      id: `r${i}`,
      band_1: b1,
      band_2: b2,
      inc_angle: i % 5 === 0 ? null : 30 + 16 * rng.next(),
      is_iceberg: label,
    };
  });
}

const tiny = (over: Partial<TrainConfig>): TrainConfig => ({
  model: 'lenet',
  modelOptions: TINY_LENET,
  data: tinyData({ train: 32, validation: 16 }),
  epochs: 1,
  batchSize: 16,
  learningRate: 0.01,
  store,
  display: false,
  experiment: 'registry',
  snapshot: false,
  ...over,
});

beforeAll(async () => {
  ({ store, cleanup } = await tempStore());
  registry = new ModelRegistry(store);
  for (const epochs of [1, 3]) {
    const cfg = tiny({ epochs, seed: epochs });
    const r = await train(cfg);
    r.model.dispose();
    cfg.data.dispose?.();
    runs.push({ id: r.runId!, evalAccuracy: r.evaluation!.accuracy });
  }
  const run = await new ExperimentTracker(store).startRun({ experiment: 'registry' });
  await run.fail(new Error('boom'));
  failedRunId = run.id;

  // A run on a feature-store training dataset, for the lineage chain.
  const fstore = new FeatureStore(store);
  const group = await fstore.createFeatureGroup({ name: 'tiny_patches', schema: SCHEMA, primaryKey: 'id' });
  await group.insert(rows(40, 3));
  await group.insert(rows(10, 4).map((r) => ({ ...r, id: `late-${String(r.id)}` })));
  const td = await fstore.createTrainingDataset({
    name: 'tiny_icebergs',
    featureGroup: group,
    commit: 1,
    features: ['band_1', 'band_2', 'inc_angle'],
    label: 'is_iceberg',
    splits: { train: 0.6, validation: 0.2, test: 0.2 },
    seed: 5,
  });
  const data = await featureStoreTrainingData(td);
  try {
    const r = await train(tiny({ data, epochs: 2, experiment: 'lineage' }));
    r.model.dispose();
    featureStoreRunId = r.runId!;
  } finally {
    await data.close();
    fstore.data.close();
  }
});
afterAll(async () => cleanup());

describe('model registry', () => {
  it('parses references', () => {
    expect(parseModelRef('iceberg')).toEqual({ name: 'iceberg' });
    expect(parseModelRef('iceberg:3')).toEqual({ name: 'iceberg', version: 3 });
    expect(parseModelRef('iceberg@production')).toEqual({ name: 'iceberg', alias: 'production' });
    expect(parseModelRef('iceberg/2')).toEqual({ name: 'iceberg', version: 2 });
  });

  it('numbers versions per name, moves aliases atomically and loads by alias', async () => {
    const v1 = await registry.register({ runId: runs[0]!.id, name: 'iceberg', aliases: ['production'] });
    const v2 = await registry.register({ runId: runs[1]!.id, name: 'iceberg', description: 'three epochs' });
    const other = await registry.register({ runId: runs[1]!.id, name: 'other-model' });
    expect([v1.version, v2.version, other.version]).toEqual([1, 2, 1]);
    expect(v1.aliases).toEqual(['production']);
    expect(v2.metrics.eval_accuracy).toBeCloseTo(runs[1]!.evalAccuracy, 10);
    expect(v2.lineage).toMatchObject({ runId: runs[1]!.id, experiment: 'registry' });
    expect(v2.signature).toMatchObject({ model: 'lenet', channels: ['hh', 'hv'], inputShape: [S, S, 2] });

    expect((await registry.get('iceberg@production')).version).toBe(1);
    expect((await registry.get('iceberg')).version).toBe(2);
    const moved = await registry.setAlias('iceberg', 'production', 2);
    expect(moved.aliases).toEqual(['production']);
    expect((await registry.get('iceberg:1')).aliases).toEqual([]);
    expect((await registry.names()).find((n) => n.name === 'iceberg')).toEqual({
      name: 'iceberg',
      latestVersion: 2,
      versions: 2,
      aliases: { production: 2 },
    });

    // Loading by alias gives the run's model, weights and all.
    const tf = loadTf();
    const x = tf.randomNormal([2, S, S, 2], 0, 1, 'float32', 1);
    const fromRegistry = await loadModel('iceberg@production', { store });
    const fromRun = await tf.loadLayersModel(
      (await import('../tracking/model-io')).blobModelHandler(store.blobs, `runs/${runs[1]!.id}/model/`),
    );
    expect((fromRegistry.predict(x) as Tensor).arraySync()).toEqual((fromRun.predict(x) as Tensor).arraySync());
    [x, fromRegistry, fromRun].forEach((t) => t.dispose());
  });

  it('refuses what cannot be registered or found, naming it', async () => {
    await expect(registry.register({ runId: failedRunId, name: 'iceberg' })).rejects.toThrow(
      `run ${failedRunId} is failed, not finished`,
    );
    await expect(registry.register({ runId: runs[0]!.id, name: '9lives' })).rejects.toThrow("model name '9lives'");
    await expect(registry.setAlias('iceberg', 'Prod!', 1)).rejects.toThrow("alias 'Prod!'");
    await expect(registry.setAlias('iceberg', 'staging', 7)).rejects.toThrow('no model iceberg version 7');
    await expect(registry.get('iceberg@canary')).rejects.toThrow(
      "model 'iceberg' has no alias 'canary' (aliases: production)",
    );
    await expect(registry.get('iceberg:9')).rejects.toThrow("model 'iceberg' has no version 9 (latest is 2)");
    await expect(registry.get('nothing')).rejects.toThrow(
      "no model named 'nothing' in the registry (models: iceberg, other-model)",
    );
  });

  it('answers the best-model query by metric', async () => {
    const best = await registry.best('eval_accuracy', { name: 'iceberg' });
    const expected = runs[0]!.evalAccuracy > runs[1]!.evalAccuracy ? 1 : 2;
    expect(best!.version).toBe(expected);
    const lowestLoss = await registry.best('eval_log_loss');
    const all = [...(await registry.versions('iceberg')), ...(await registry.versions('other-model'))];
    expect(lowestLoss!.metrics.eval_log_loss).toBe(Math.min(...all.map((v) => v.metrics.eval_log_loss!)));
    expect(await registry.best('no_such_metric')).toBeUndefined();
  });

  it('keeps the lineage chain: model version → run → training dataset → feature group commit', async () => {
    const v = await registry.register({ runId: featureStoreRunId, name: 'from-features', aliases: ['staging'] });
    expect(v.lineage.dataset).toMatchObject({
      trainingDatasetName: 'tiny_icebergs',
      trainingDatasetVersion: 1,
      featureGroup: 'tiny_patches',
      featureGroupVersion: 1,
      commit: 1,
    });
    const chain = await registry.lineage('from-features@staging');
    expect(chain.run).toMatchObject({ id: featureStoreRunId, experiment: 'lineage', status: 'finished' });
    expect(chain.trainingDataset).toMatchObject({
      name: 'tiny_icebergs',
      version: 1,
      commit: 1,
      splitCounts: { train: 24, validation: 8, test: 8 },
    });
    expect(chain.featureGroupCommit).toMatchObject({ featureGroup: 'tiny_patches', version: 1, commit: 1, rows: 40 });
    // The run recorded the dataset and standardised with the commit's statistics.
    const run = await new ExperimentTracker(store).getRun(featureStoreRunId);
    expect(run.params).toMatchObject({ channels: ['band_1', 'band_2'], data: { train: 24, validation: 8, test: 8 } });
    const pre = (run.params.preprocessing as { channelMean: number[] }).channelMean;
    expect(pre[0]).toBeGreaterThan(-20.5);
    expect(pre[0]).toBeLessThan(-18);
    expect(
      (await new ExperimentTracker(store).listRuns({ trainingDatasetId: v.lineage.dataset!.trainingDatasetId! })).map(
        (r) => r.id,
      ),
    ).toEqual([featureStoreRunId]);
  });
});

describe('explanations', () => {
  it('explains a registered model on a raw record and a model-space tensor', async () => {
    const record = rows(2, 9)[1]! as {
      id: string;
      band_1: Float32Array;
      band_2: Float32Array;
      inc_angle: number | null;
      is_iceberg: number;
    };
    for (const method of ['saliency', 'gradcam'] as const) {
      const e = await explain('from-features@staging', record, method, { store, display: false });
      expect(e.heatmap.values).toHaveLength(S * S);
      expect(Math.max(...e.heatmap.values)).toBeCloseTo(1, 5);
      expect(e.probability).toBeGreaterThanOrEqual(0);
      expect(e.probability).toBeLessThanOrEqual(1);
      const payload = ExplanationPayload.parse(e.bundle[EXPLANATION_MIME]);
      expect(payload).toMatchObject({ version_major: 1, method, model: 'from-features:1', height: S, width: S });
      expect(payload.background[0]).toBeCloseTo(record.band_1[0]!, 4);
      expect(e.bundle['text/html']).toMatch(/<img src="data:image\/png;base64,iVBORw0KGgo/);
    }
    const tf = loadTf();
    const { model } = await registry.load('iceberg:1');
    const patch = tf.randomNormal([S, S, 2], 0, 1, 'float32', 4) as Tensor3D;
    const e = await explain(model, patch, 'saliency', { display: false });
    expect(e.model).toBe(model.name);
    expect(e.heatmap.height).toBe(S);
    await expect(explain(model, patch, 'lime' as 'saliency', { display: false })).rejects.toThrow(
      "unknown explanation method 'lime'",
    );
    patch.dispose();
    model.dispose();
  });
});
