/**
 * Small, fast fixtures for training, tracking and registry tests: 16×16 two-channel patches where
 * class 1 has a bright compact target (learnable in a few epochs), and a throw-away project store.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { openProjectStore, type ProjectStore } from '../store';
import { inMemoryTrainingData, type TrainingData } from './data';
import { SeededRandom } from './random';
import type { TrainConfig } from './train';

export const TINY_SIDE = 16;

function tinySplit(
  n: number,
  seed: number,
): { images: Float32Array; shape: [number, number, number, number]; labels: number[]; angles: (number | null)[] } {
  const rng = new SeededRandom(seed);
  const S = TINY_SIDE;
  const images = new Float32Array(n * S * S * 2);
  const labels: number[] = [];
  const angles: (number | null)[] = [];
  for (let i = 0; i < n; i++) {
    const label = i % 2;
    labels.push(label);
    angles.push(i % 7 === 0 ? null : 30 + rng.next() * 16);
    const cy = 5 + rng.int(6);
    const cx = 5 + rng.int(6);
    for (let y = 0; y < S; y++) {
      for (let x = 0; x < S; x++) {
        const target = label === 1 && Math.abs(y - cy) <= 1 && Math.abs(x - cx) <= 1 ? 2.5 : 0;
        for (let c = 0; c < 2; c++)
          images[((i * S + y) * S + x) * 2 + c] = rng.next() - 0.5 + target * (c === 0 ? 1 : 0.6);
      }
    }
  }
  return { images, shape: [n, S, S, 2], labels, angles };
}

/** Train/validation/test splits of tiny patches with channels `hh`, `hv` and angle feature `inc_angle`. */
export function tinyData(
  opts: { train?: number; validation?: number; test?: number; seed?: number } = {},
): TrainingData {
  const seed = opts.seed ?? 1;
  return inMemoryTrainingData({
    channels: ['hh', 'hv'],
    angleFeature: 'inc_angle',
    train: tinySplit(opts.train ?? 64, seed),
    validation: tinySplit(opts.validation ?? 32, seed + 1),
    ...(opts.test ? { test: tinySplit(opts.test, seed + 2) } : {}),
    description: 'tiny test patches',
  });
}

/** A LeNet small enough for 16×16 patches and millisecond epochs. */
export const TINY_LENET: TrainConfig['modelOptions'] = {
  lenet: { filters: [4, 4], kernelSize: 3, denseUnits: 8, dropout: 0 },
};

/** A short, seeded training of the tiny LeNet on `data`, tracked in `store`, with `over` on top. */
export function tinyTrainConfig(data: TrainingData, store: ProjectStore, over: Partial<TrainConfig> = {}): TrainConfig {
  return {
    model: 'lenet',
    modelOptions: TINY_LENET,
    data,
    features: ['hh', 'hv'],
    epochs: 3,
    batchSize: 16,
    learningRate: 0.01,
    seed: 7,
    store,
    display: false,
    ...over,
  };
}

export async function tempStore(): Promise<{ store: ProjectStore; home: string; cleanup(): Promise<void> }> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-train-'));
  const store = await openProjectStore({
    home,
    metadataUrl: path.join(home, 'floe.db'),
    blobUrl: path.join(home, 'blobs'),
  });
  return {
    store,
    home,
    async cleanup() {
      await store.close();
      fs.rmSync(home, { recursive: true, force: true });
    },
  };
}
