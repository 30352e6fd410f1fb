import * as http from 'node:http';
import { RunDetailResponse, SaliencyArtifactMeta } from '@floe/schema';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startHub, type RunningHub } from '../hub/server';
import type { ProjectStore } from '../store';
import { ExperimentTracker } from '../tracking/tracker';
import { loadTf } from './backend';
import { inMemoryTrainingData, recordsTrainingData, type PatchRecord, type TrainingData } from './data';
import { pickSaliencyPositions } from './epoch-saliency';
import { tempStore, tinyData, tinyTrainConfig } from './fixtures.test-support';
import { train, TrainingConfigError, type TrainConfig } from './train';

/** Statoil-format records of side × side patches: icebergs a little brighter in HH. */
function syntheticRecords(n: number, side: number): PatchRecord[] {
  return Array.from({ length: n }, (_, i) => ({
    id: `rec-${i}`,
    band_1: Array.from({ length: side * side }, (_, p) => -20 + ((p * (i + 3)) % 7) + (i % 2) * 4),
    band_2: Array.from({ length: side * side }, (_, p) => -26 + ((p + i) % 5)),
    inc_angle: i % 9 === 0 ? 'na' : 35 + (i % 5),
    is_iceberg: i % 2,
  }));
}

const PNG_MAGIC = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];

let store: ProjectStore;
let cleanup: () => Promise<void>;
let tracker: ExperimentTracker;
let data: TrainingData;

beforeAll(async () => {
  ({ store, cleanup } = await tempStore());
  tracker = new ExperimentTracker(store);
  data = tinyData({ train: 48, validation: 24 });
});
afterAll(async () => {
  data.dispose?.();
  await cleanup();
});

const base = (over: Partial<TrainConfig> = {}): TrainConfig =>
  tinyTrainConfig(data, store, { evaluate: false, snapshot: false, ...over });

function get(port: number, urlPath: string): Promise<{ status: number; type: string; bytes: Buffer }> {
  return new Promise((resolve, reject) => {
    http
      .get({ host: '127.0.0.1', port, path: urlPath }, (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () =>
          resolve({
            status: res.statusCode ?? 0,
            type: String(res.headers['content-type']),
            bytes: Buffer.concat(chunks),
          }),
        );
      })
      .on('error', reject);
  });
}

async function saliencyArtifacts(
  runId: number,
): Promise<{ name: string; blobKey: string; meta: SaliencyArtifactMeta }[]> {
  return (await tracker.artifacts(runId))
    .filter((a) => a.name.startsWith('saliency/'))
    .map((a) => ({ name: a.name, blobKey: a.blobKey, meta: SaliencyArtifactMeta.parse(a.meta) }))
    .sort((a, b) => a.meta.epoch - b.meta.epoch);
}

describe('saliency images across epochs (TrainConfig.saliency)', () => {
  it('stores one PNG per picked patch after every epoch, the same patches each epoch, served by the hub', async () => {
    const tf = loadTf();
    // Tensors left after a run without the option (the trainer's own) and with it: the picked patches
    // and every explanation's tensors are freed with the run, so both leave the same.
    let before = tf.memory().numTensors;
    const plain = await train(base({ experiment: 'saliency-on' }));
    plain.model.dispose();
    const leftWithout = tf.memory().numTensors - before;
    before = tf.memory().numTensors;
    const r = await train(base({ experiment: 'saliency-on', saliency: { every: 1, samples: 4 } }));
    r.model.dispose();
    expect(tf.memory().numTensors - before).toBe(leftWithout);

    const arts = await saliencyArtifacts(r.runId!);
    expect(arts.map((a) => a.name)).toEqual(['saliency/epoch-001', 'saliency/epoch-002', 'saliency/epoch-003']);
    const ids = arts[0]!.meta.images.map((i) => i.patch);
    expect(ids).toHaveLength(4);
    expect(new Set(ids).size).toBe(4);
    // Ships and icebergs both shown (the pick alternates classes).
    expect(new Set(arts[0]!.meta.images.map((i) => i.label))).toEqual(new Set([0, 1]));
    for (const a of arts) {
      expect(a.meta).toMatchObject({ type: 'saliency', method: 'saliency' });
      expect(a.meta.images.map((i) => i.patch)).toEqual(ids);
      expect(a.blobKey).toBe(`runs/${r.runId}/${a.name}/`);
      for (const img of a.meta.images) {
        expect(img.probability).toBeGreaterThanOrEqual(0);
        expect(img.probability).toBeLessThanOrEqual(1);
        const bytes = await store.blobs.get(a.blobKey + img.file);
        expect([...bytes.subarray(0, 8)]).toEqual(PNG_MAGIC);
        // Patch | overlay, 4x upscaled 16x16 patches with an 8 px gap, as `floe models explain --png`.
        expect([bytes.readUInt32BE(16), bytes.readUInt32BE(20)]).toEqual([2 * 64 + 8, 64]);
      }
    }
    // Images of later epochs differ from the first (the model learned between them).
    const first = await store.blobs.get(arts[0]!.blobKey + 'patch-1.png');
    const last = await store.blobs.get(arts[2]!.blobKey + 'patch-1.png');
    expect(Buffer.compare(first, last)).not.toBe(0);

    const run = await tracker.getRun(r.runId!);
    expect(run.params).toMatchObject({ saliency: { every: 1, samples: 4, method: 'saliency', seed: 0 } });
    expect(r.history.every((row) => typeof row.saliency_seconds === 'number')).toBe(true);

    const hub: RunningHub = await startHub({ port: 0 }, { store });
    try {
      const port = Number(hub.address.split(':').pop());
      const detail = RunDetailResponse.parse(
        JSON.parse((await get(port, `/v1/runs/${r.runId}`)).bytes.toString('utf8')),
      );
      expect(detail.artifacts.filter((a) => SaliencyArtifactMeta.safeParse(a.meta).success)).toHaveLength(3);
      const served = await get(
        port,
        `/v1/runs/${r.runId}/image?artifact=${encodeURIComponent('saliency/epoch-003')}&file=patch-1.png`,
      );
      expect(served.status).toBe(200);
      expect(served.type).toBe('image/png');
      expect(Buffer.compare(served.bytes, last)).toBe(0);
    } finally {
      await hub.close();
    }
  }, 120_000);

  it('with every: 2 stores epoch 2 and the last; Grad-CAM on the angle model; same patches across runs', async () => {
    // The ExtremeEarth CNN's four conv blocks need patches of 46 pixels or more.
    const recs = recordsTrainingData(syntheticRecords(32, 48), { validationFraction: 0.25, seed: 3 });
    try {
      const a = await train(
        base({
          data: recs,
          model: 'extremeearth-cnn-angle',
          modelOptions: {},
          features: ['band_1', 'band_2', 'inc_angle'],
          epochs: 3,
          saliency: { every: 2, samples: 3, method: 'gradcam' },
        }),
      );
      a.model.dispose();
      const arts = await saliencyArtifacts(a.runId!);
      expect(arts.map((x) => x.meta.epoch)).toEqual([2, 3]);
      expect(arts.every((x) => x.meta.method === 'gradcam' && x.meta.images.length === 3)).toBe(true);
      // Named by record id; another run (another model and training seed) explains the same patches.
      const ids = arts[0]!.meta.images.map((i) => i.patch);
      for (const id of ids) expect(recs.ids.validation).toContain(id);
      const b = await train(
        base({ data: recs, features: ['band_1', 'band_2'], seed: 99, epochs: 1, saliency: { samples: 3 } }),
      );
      b.model.dispose();
      const other = await saliencyArtifacts(b.runId!);
      expect(other[0]!.meta.images.map((i) => i.patch)).toEqual(ids);
    } finally {
      recs.dispose?.();
    }
  }, 120_000);

  it('stores nothing when the option is off', async () => {
    const r = await train(base({ experiment: 'saliency-off', epochs: 2 }));
    r.model.dispose();
    expect(await saliencyArtifacts(r.runId!)).toEqual([]);
    expect((await tracker.getRun(r.runId!)).params).toMatchObject({ saliency: null });
    expect(r.history.some((row) => 'saliency_seconds' in row)).toBe(false);
    const off = await train(base({ epochs: 1, saliency: false }));
    off.model.dispose();
    expect(await saliencyArtifacts(off.runId!)).toEqual([]);
  }, 60_000);

  it('rejects bad option values with an error naming the option', async () => {
    const cases: [TrainConfig['saliency'] | Record<string, unknown>, RegExp][] = [
      [{ every: 0 }, /saliency\.every must be a positive whole number of epochs, got 0/],
      [{ every: 1.5 }, /saliency\.every/],
      [{ samples: 0 }, /saliency\.samples must be a positive whole number/],
      [{ samples: 25 }, /saliency\.samples is 25 but the validation split has only 24 patches/],
      [{ method: 'lime' }, /saliency\.method must be one of saliency, gradcam, got 'lime'/],
      [{ evry: 2 }, /saliency\.evry is not an option/],
    ];
    for (const [saliency, message] of cases) {
      await expect(train(base({ saliency: saliency as TrainConfig['saliency'] }))).rejects.toThrow(message);
      await expect(train(base({ saliency: saliency as TrainConfig['saliency'] }))).rejects.toBeInstanceOf(
        TrainingConfigError,
      );
    }
    const noValidation = inMemoryTrainingData({
      channels: ['hh'],
      train: { images: new Float32Array(4 * 16 * 16), shape: [4, 16, 16, 1], labels: [0, 1, 0, 1] },
    });
    try {
      await expect(train(base({ data: noValidation, features: ['hh'], saliency: { samples: 1 } }))).rejects.toThrow(
        /saliency: the patches are picked from the validation split, and the training data has none/,
      );
    } finally {
      noValidation.dispose?.();
    }
    await expect(train(base({ track: false, saliency: {} }))).rejects.toThrow(/saliency: .*needs a tracked run/);
  });

  it('picks a seeded, class-balanced set of positions', () => {
    const labels = Array.from({ length: 50 }, (_, i) => (i < 40 ? 0 : 1));
    const pick = pickSaliencyPositions(labels, 6, 0);
    expect(pick).toEqual(pickSaliencyPositions(labels, 6, 0));
    expect(new Set(pick).size).toBe(6);
    expect(pick.filter((p) => labels[p] === 1)).toHaveLength(3);
    expect(pickSaliencyPositions(labels, 6, 1)).not.toEqual(pick);
    // One class only: still fills the pick.
    expect(pickSaliencyPositions([0, 0, 0], 3, 5).sort()).toEqual([0, 1, 2]);
  });
});
