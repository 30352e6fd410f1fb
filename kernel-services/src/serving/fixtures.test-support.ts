/**
 * Registered models for serving and monitoring tests: a throw-away project store holding an iceberg
 * feature group of small dB patches (HH, HV, incidence angle with missing values, labels), a
 * training dataset frozen to its first commit, and models trained on it and registered — so the
 * drift reference is the real lineage chain (model version → run → training dataset → commit).
 */
import type { FeatureSchema } from '@floe/schema';
import { FeatureStore } from '../feature-store/feature-store';
import { ModelRegistry } from '../registry/registry';
import type { ProjectStore } from '../store';
import { featureStoreTrainingData } from '../training/feature-store-data';
import { tempStore } from '../training/fixtures.test-support';
import { SeededRandom } from '../training/random';
import { train, type TrainConfig } from '../training/train';

export interface PatchOptions {
  side: number;
  seed: number;
  /** Angle range in degrees (training: 30–46). */
  angleRange?: [number, number];
  /** Fraction of missing angles (training: 0.2). */
  missingAngleRate?: number;
  /** dB added to both bands. */
  bandOffset?: number;
}

export interface Patch {
  id: string;
  band_1: Float32Array;
  band_2: Float32Array;
  inc_angle: number | null;
  is_iceberg: number;
}

/**
 * Sea clutter in dB that falls with incidence angle (HH about −15 dB at 30°, HV 6 dB below), speckle
 * noise, and for icebergs (label 1) a bright compact 5×5 target.
 */
export function patches(n: number, o: PatchOptions): Patch[] {
  const rng = new SeededRandom(o.seed);
  const [lo, hi] = o.angleRange ?? [30, 46];
  const missing = o.missingAngleRate ?? 0.2;
  const S = o.side;
  return Array.from({ length: n }, (_, i) => {
    const label = i % 2;
    const angle = lo + (hi - lo) * rng.next();
    const sea = -15 - 0.3 * (angle - 30) + (o.bandOffset ?? 0);
    const b1 = new Float32Array(S * S);
    const b2 = new Float32Array(S * S);
    const cy = 4 + rng.int(S - 8);
    const cx = 4 + rng.int(S - 8);
    for (let p = 0; p < S * S; p++) {
      const y = Math.floor(p / S);
      const x = p % S;
      const target = label === 1 && Math.abs(y - cy) <= 2 && Math.abs(x - cx) <= 2 ? 10 : 0;
      b1[p] = sea + 3 * (rng.next() - 0.5) + target;
      b2[p] = sea - 6 + 3 * (rng.next() - 0.5) + 0.6 * target;
    }
    return {
      id: `p${o.seed}-${i}`,
      band_1: b1,
      band_2: b2,
      inc_angle: rng.next() < missing ? null : angle,
      is_iceberg: label,
    };
  });
}

export function icebergSchema(side: number): FeatureSchema {
  return [
    { name: 'id', kind: 'scalar', dtype: 'string', nullable: false, description: '' },
    {
      name: 'band_1',
      kind: 'tensor',
      dtype: 'float32',
      shape: [side, side],
      nullable: false,
      unit: 'dB',
      description: 'HH',
    },
    {
      name: 'band_2',
      kind: 'tensor',
      dtype: 'float32',
      shape: [side, side],
      nullable: false,
      unit: 'dB',
      description: 'HV',
    },
    { name: 'inc_angle', kind: 'scalar', dtype: 'float64', nullable: true, description: 'degrees' },
    { name: 'is_iceberg', kind: 'scalar', dtype: 'int32', nullable: false, description: '' },
  ];
}

/** Channels-last image values of patches, [n, side, side, 2]. */
export function imageOf(ps: readonly Patch[], side: number): Float32Array {
  const out = new Float32Array(ps.length * side * side * 2);
  ps.forEach((p, i) => {
    for (let k = 0; k < side * side; k++) {
      out[(i * side * side + k) * 2] = p.band_1[k]!;
      out[(i * side * side + k) * 2 + 1] = p.band_2[k]!;
    }
  });
  return out;
}

/** One patch as a nested [side][side][2] list, as a TF Serving client sends it. */
export function nestedImage(p: Patch, side: number): number[][][] {
  return Array.from({ length: side }, (_, y) =>
    Array.from({ length: side }, (_, x) => [p.band_1[y * side + x]!, p.band_2[y * side + x]!]),
  );
}

export interface IcebergFixture {
  store: ProjectStore;
  home: string;
  registry: ModelRegistry;
  side: number;
  cleanup(): Promise<void>;
}

/**
 * A store with feature group `patches` (commit 1: `rows` training patches), training dataset
 * `icebergs`, and the given models trained on it and registered (each as version 1 of its name).
 */
export async function icebergFixture(
  models: {
    name: string;
    model: TrainConfig['model'];
    epochs: number;
    modelOptions?: TrainConfig['modelOptions'];
    aliases?: string[];
  }[],
  opts: { side?: number; rows?: number } = {},
): Promise<IcebergFixture> {
  const side = opts.side ?? 48;
  const { store, home, cleanup } = await tempStore();
  const registry = new ModelRegistry(store);
  const fstore = new FeatureStore(store);
  try {
    const group = await fstore.createFeatureGroup({ name: 'patches', schema: icebergSchema(side), primaryKey: 'id' });
    await group.insert(patches(opts.rows ?? 120, { side, seed: 1 }) as unknown as Record<string, unknown>[]);
    const td = await fstore.createTrainingDataset({
      name: 'icebergs',
      featureGroup: group,
      commit: 1,
      features: ['band_1', 'band_2', 'inc_angle'],
      label: 'is_iceberg',
      splits: { train: 0.8, validation: 0.2 },
      seed: 3,
    });
    for (const m of models) {
      const data = await featureStoreTrainingData(td);
      try {
        const r = await train({
          model: m.model,
          ...(m.modelOptions ? { modelOptions: m.modelOptions } : {}),
          data,
          epochs: m.epochs,
          batchSize: 16,
          learningRate: 0.003,
          store,
          display: false,
          experiment: 'serving-fixture',
          snapshot: false,
          seed: 7,
        });
        r.model.dispose();
        await registry.register({ runId: r.runId!, name: m.name, ...(m.aliases ? { aliases: m.aliases } : {}) });
      } finally {
        await data.close();
      }
    }
  } catch (err) {
    fstore.data.close();
    await cleanup();
    throw err;
  }
  fstore.data.close();
  return { store, home, registry, side, cleanup };
}
