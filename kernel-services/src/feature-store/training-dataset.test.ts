import { execFileSync } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadTf } from '../training/backend';
import type { FeatureGroup } from './feature-group';
import type { FeatureStore } from './feature-store';
import { PATCH_SCHEMA, patches, tempFeatureStore } from './fixtures.test-support';
import { readRecords } from './tfrecord';
import { assignSplits, type TrainingDataset } from './training-dataset';

const repoRoot = path.resolve(__dirname, '../../..');
const python = path.join(repoRoot, '.venv/bin/python');

describe('split assignment', () => {
  it('is seeded, exact in size and stratified by label', () => {
    const rows = Array.from({ length: 100 }, (_, i) => ({ rowId: i * 3, label: i < 30 ? 1 : 0 }));
    const a = assignSplits(rows, { train: 0.7, validation: 0.2, test: 0.1 }, 7, true);
    const b = assignSplits([...rows].reverse(), { train: 0.7, validation: 0.2, test: 0.1 }, 7, true);
    expect(a).toEqual(b);
    expect([a.train!.length, a.validation!.length, a.test!.length]).toEqual([70, 20, 10]);
    const positives = (ids: number[]) => ids.filter((id) => id / 3 < 30).length;
    expect([positives(a.train!), positives(a.validation!), positives(a.test!)]).toEqual([21, 6, 3]);
    expect(new Set([...a.train!, ...a.validation!, ...a.test!]).size).toBe(100);
    expect(assignSplits(rows, { train: 0.7, validation: 0.2, test: 0.1 }, 8, true)).not.toEqual(a);
  });
});

describe('training datasets, exports and the loader (sqlite + local)', () => {
  let store: FeatureStore;
  let cleanup: () => Promise<void>;
  let group: FeatureGroup;
  let td: TrainingDataset;
  const source = patches(40, 11, 't');
  const out = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-td-'));

  beforeAll(async () => {
    ({ fs: store, cleanup } = await tempFeatureStore());
    group = await store.createFeatureGroup({ name: 'patches', schema: PATCH_SCHEMA, primaryKey: 'id' });
    await group.insert(source.slice(0, 30));
    await group.insert(source.slice(30));
    td = await store.createTrainingDataset({
      name: 'icebergs',
      featureGroup: group,
      commit: 1,
      features: ['band_1', 'band_2', 'inc_angle'],
      label: 'is_iceberg',
      splits: { train: 0.6, validation: 0.2, test: 0.2 },
      seed: 3,
    });
  });
  afterAll(async () => {
    await cleanup?.();
    fs.rmSync(out, { recursive: true, force: true });
  });

  it('freezes splits to a commit with lineage, unaffected by later commits', async () => {
    expect(td.info.splitCounts).toEqual({ train: 18, validation: 6, test: 6 });
    expect(td.spec.lineage.featureGroup).toMatchObject({ name: 'patches', version: 1, commit: 1 });
    await group.insert(patches(5, 12, 'late'));
    const again = await store.getTrainingDataset('icebergs');
    const ids = (await again.readRows('train')).map((r) => r.id as string);
    expect(ids).toHaveLength(18);
    expect(ids.every((id) => id.startsWith('t') && Number(id.slice(1)) < 30)).toBe(true);
    expect((await store.listTrainingDatasets()).map((d) => `${d.name}/${d.version}`)).toEqual(['icebergs/1']);
    const filtered = await store.createTrainingDataset({
      name: 'icebergs',
      featureGroup: { name: 'patches' },
      features: ['band_1'],
      label: 'is_iceberg',
      filter: 'inc_angle IS NOT NULL',
      splits: { train: 1 },
    });
    expect(filtered.version).toBe(2);
    const rows = await filtered.readRows('train');
    expect(rows.length).toBe(45 - source.concat(patches(5, 12, 'late')).filter((r) => r.inc_angle === null).length);
    await expect(
      store.createTrainingDataset({ name: 'bad', featureGroup: group, features: ['nope'], splits: { train: 1 } }),
    ).rejects.toThrow(/has no feature 'nope'/);
    await expect(
      store.createTrainingDataset({
        name: 'bad',
        featureGroup: group,
        features: ['band_1'],
        splits: { train: 0.5, test: 0.4 },
      }),
    ).rejects.toThrow(/sum to 0.9/);
  });

  it('exports TFRecord that Python TensorFlow parses exactly', async () => {
    const res = await td.export({ format: 'tfrecord', dir: out });
    expect(res.rows).toEqual({ train: 18, validation: 6, test: 6 });
    const file = res.files.validation!;
    expect([...readRecords(fs.readFileSync(file))]).toHaveLength(6);
    const script = `
import json, sys
import tensorflow as tf
spec = {
  'id': tf.io.FixedLenFeature([], tf.string),
  'band_1': tf.io.FixedLenFeature([75 * 75], tf.float32),
  'band_2': tf.io.FixedLenFeature([75 * 75], tf.float32),
  'inc_angle': tf.io.FixedLenFeature([], tf.float32, default_value=-1.0),
  'is_iceberg': tf.io.FixedLenFeature([], tf.int64),
}
out = []
for rec in tf.data.TFRecordDataset(sys.argv[1]):
  ex = tf.io.parse_single_example(rec, spec)
  out.append({'id': ex['id'].numpy().decode(), 'band_1': ex['band_1'].numpy().tolist(), 'band_2': ex['band_2'].numpy().tolist(),
              'inc_angle': float(ex['inc_angle'].numpy()), 'is_iceberg': int(ex['is_iceberg'].numpy())})
print(json.dumps(out))
`;
    const stdout = execFileSync(python, ['-c', script, file], {
      env: { ...process.env, TF_CPP_MIN_LOG_LEVEL: '3' },
      maxBuffer: 64 << 20,
    });
    const parsed = JSON.parse(stdout.toString().trim().split('\n').pop()!) as {
      id: string;
      band_1: number[];
      band_2: number[];
      inc_angle: number;
      is_iceberg: number;
    }[];
    expect(parsed).toHaveLength(6);
    for (const p of parsed) {
      const want = source.find((r) => r.id === p.id)!;
      expect(p.band_1).toEqual(Array.from(want.band_1 as Float32Array));
      expect(p.band_2).toEqual(Array.from(want.band_2 as Float32Array));
      expect(p.is_iceberg).toBe(want.is_iceberg);
      expect(p.inc_angle).toBe(want.inc_angle === null ? -1 : Math.fround(want.inc_angle as number));
    }
  });

  it('exports Parquet that pyarrow reads back (fixed-size float lists, exact values)', async () => {
    const res = await td.export({ format: 'parquet', dir: out, splits: ['train'] });
    const script = `
import json, sys
import pyarrow.parquet as pq
t = pq.read_table(sys.argv[1])
f = t.schema.field('band_1')
print(json.dumps({'type': str(f.type), 'shape': (f.metadata or {}).get(b'floe.shape', b'').decode(),
  'rows': t.to_pylist(), 'columns': t.column_names}))
`;
    const stdout = execFileSync(python, ['-c', script, res.files.train!], { maxBuffer: 64 << 20 });
    const got = JSON.parse(stdout.toString()) as {
      type: string;
      shape: string;
      columns: string[];
      rows: Record<string, unknown>[];
    };
    expect(got.type).toBe('fixed_size_list<item: float>[5625]');
    expect(got.shape).toBe('[75,75]');
    expect(got.columns).toEqual(['id', 'band_1', 'band_2', 'inc_angle', 'is_iceberg']);
    expect(got.rows).toHaveLength(18);
    for (const r of got.rows) {
      const want = source.find((s) => s.id === r.id)!;
      expect(r.band_1).toEqual(Array.from(want.band_1 as Float32Array));
      expect(r.inc_angle).toBe(want.inc_angle);
      expect(r.is_iceberg).toBe(want.is_iceberg);
    }
  });

  it('exports into the project blob store when no folder is given', async () => {
    const res = await td.export({ format: 'tfrecord', splits: ['test'] });
    expect(res.files.test).toMatch(/training-datasets\/icebergs\/v1\/test\.tfrecord$/);
    const bytes = await store.store.blobs.get('training-datasets/icebergs/v1/test.tfrecord');
    expect([...readRecords(bytes)]).toHaveLength(6);
  });

  it('loads shuffled, batched [b,75,75,C] tensors that match the stored rows', async () => {
    const tf = loadTf();
    const loader = await td.loader({ batchSize: 5, prefetch: 2 });
    expect(loader.batchesPerEpoch).toBe(4);
    const seen: number[] = [];
    let shapes: number[][] = [];
    for await (const { xs, ys } of loader.batches(tf, 0)) {
      shapes.push(xs.shape);
      expect(ys.shape).toEqual([xs.shape[0], 1]);
      const x = (await xs.data()) as Float32Array;
      const y = await ys.data();
      const n = xs.shape[0];
      // Check one sample per batch against the source rows, channel by channel.
      const k = n - 1;
      const stored = await group.read({ asOf: 1, filter: `is_iceberg = ${y[k]}` });
      const match = stored.find((r) => {
        const b1 = r.band_1 as Float32Array;
        return b1[0] === x[k * 5625 * 2] && b1[100] === x[(k * 5625 + 100) * 2];
      });
      expect(match).toBeDefined();
      expect(x[(k * 5625 + 77) * 2 + 1]).toBe((match!.band_2 as Float32Array)[77]);
      seen.push(n);
      xs.dispose();
      ys.dispose();
    }
    expect(shapes[0]).toEqual([5, 75, 75, 2]);
    expect(seen).toEqual([5, 5, 5, 3]);
    // Per-epoch shuffles differ but cover the same rows.
    const e0 = loader.epochOrder(0);
    const e1 = loader.epochOrder(1);
    expect(e0).not.toEqual(e1);
    expect([...e0].sort()).toEqual([...e1].sort());
    const raw: number[] = [];
    for await (const b of loader.rawBatches(1)) raw.push(...b.rowIds);
    expect(raw).toEqual(e1);
    await loader.close();
    shapes = [];
  });

  it('feeds model.fitDataset through a tf.data generator', async () => {
    const tf = loadTf();
    const loader = await td.loader({ batchSize: 6, channels: ['band_1'] });
    const model = tf.sequential({
      layers: [tf.layers.flatten({ inputShape: [75, 75, 1] }), tf.layers.dense({ units: 1, activation: 'sigmoid' })],
    });
    model.compile({ optimizer: 'sgd', loss: 'binaryCrossentropy' });
    const h = await model.fitDataset(loader.toTfDataset(tf), { epochs: 2, verbose: 0 });
    expect(h.history.loss).toHaveLength(2);
    expect(Number.isFinite(h.history.loss[1] as number)).toBe(true);
    await loader.close();
  });

  it('materialises derived band average and band ratio with lineage', async () => {
    const derived = await store.deriveFeatureGroup({
      source: group,
      commit: 1,
      name: 'patches_derived',
      keep: ['band_1', 'band_2', 'is_iceberg'],
      derived: [
        { name: 'band_avg', fn: 'bandAverage', inputs: ['band_1', 'band_2'] },
        { name: 'band_ratio', fn: 'bandRatio', inputs: ['band_1', 'band_2'] },
      ],
    });
    expect(derived.info.lineage).toMatchObject({ source: { name: 'patches', version: 1, commit: 1 } });
    expect(derived.schema.map((f) => f.name)).toEqual([
      'id',
      'band_1',
      'band_2',
      'is_iceberg',
      'band_avg',
      'band_ratio',
    ]);
    const rows = await derived.read({ filter: "id = 't00004'" });
    const want = source[4]!;
    const b1 = want.band_1 as Float32Array;
    const b2 = want.band_2 as Float32Array;
    expect((rows[0]!.band_avg as Float32Array)[9]).toBe(Math.fround((b1[9]! + b2[9]!) / 2));
    expect((rows[0]!.band_ratio as Float32Array)[9]).toBe(Math.fround(b1[9]! - b2[9]!));
    expect((await derived.commit())!.totalRows).toBe(30);
    const stats = (await derived.statistics())!.group.features.band_ratio!.bands![0]!;
    expect(stats.mean!).toBeGreaterThan(3);
  });
});
