import type { Table } from '@lancedb/lancedb';
import type { DatasetLineage } from '@floe/schema';
import { TrainingDataset } from '../feature-store/training-dataset';
import type { TrainingDataLoader } from '../feature-store/loader';
import { loadTf } from './backend';
import type { BatchOptions, DataSplit, Preprocessing, SampleBatch, TrainingData } from './data';

/**
 * A feature-store training dataset as `TrainingData`: batches stream from the frozen Lance version
 * through the feature store's loader (shuffled per epoch, prefetched), tensor features become
 * channels, and the incidence angle (a scalar feature) rides along for the angle model and the
 * per-angle evaluation. Channels are standardised with the feature group's statistics at the frozen
 * commit (the whole group at that commit, so validation rows count in the mean too: a documented,
 * small leak that keeps the numbers exact and reproducible without a pass over the data).
 */

export interface FeatureStoreDataOptions {
  /** Tensor features to stack as channels. Default: every tensor feature of the dataset. */
  channels?: string[];
  /** Scalar feature with the incidence angle. Default `inc_angle` when the dataset has it; null: none. */
  angleFeature?: string | null;
  /** Standardise channels with the commit's statistics (default true). */
  standardize?: boolean;
  /** Split names (defaults `train`, `validation`, `test`; a missing validation/test split is left out). */
  splits?: { train?: string; validation?: string; test?: string };
}

class FeatureStoreSplit implements DataSplit {
  private loaders = new Map<string, Promise<TrainingDataLoader>>();

  constructor(
    private readonly dataset: TrainingDataset,
    private readonly split: string,
    readonly size: number,
    private readonly channels: string[],
    private readonly label: string,
    private readonly preprocessing: Preprocessing | null,
    private readonly angles: ((rowIds: number[]) => Promise<Float32Array>) | null,
    private readonly primaryKeys: (rowIds: number[]) => Promise<string[]>,
  ) {}

  private loader(batchSize: number, shuffle: boolean): Promise<TrainingDataLoader> {
    const key = `${batchSize}/${shuffle}`;
    let l = this.loaders.get(key);
    if (!l) {
      // seed 0 + "epoch" = our shuffle seed: the loader shuffles with seededRandom(seed + epoch).
      l = this.dataset.loader({
        split: this.split,
        batchSize,
        channels: this.channels,
        label: this.label,
        shuffle,
        seed: 0,
      });
      this.loaders.set(key, l);
    }
    return l;
  }

  async *batches({ batchSize, shuffleSeed, withIds }: BatchOptions): AsyncIterable<SampleBatch> {
    const tf = loadTf();
    const loader = await this.loader(batchSize, shuffleSeed !== undefined);
    const [h, w, c] = loader.sampleShape;
    const pre = this.preprocessing;
    for await (const raw of loader.rawBatches(shuffleSeed ?? 0)) {
      if (pre) {
        const xs = raw.xs;
        for (let i = 0; i < xs.length; i += c) {
          for (let k = 0; k < c; k++) xs[i + k] = (xs[i + k]! - pre.channelMean[k]!) / pre.channelStd[k]!;
        }
      }
      const batch: SampleBatch = {
        image: tf.tensor4d(raw.xs, [raw.size, h, w, c]),
        label: tf.tensor2d(raw.ys, [raw.size, 1]),
      };
      if (this.angles) batch.angle = await this.angles(raw.rowIds);
      if (withIds) batch.ids = await this.primaryKeys(raw.rowIds);
      yield batch;
    }
  }

  async close(): Promise<void> {
    for (const l of this.loaders.values()) await (await l).close();
    this.loaders.clear();
  }
}

export async function featureStoreTrainingData(
  dataset: TrainingDataset,
  opts: FeatureStoreDataOptions = {},
): Promise<TrainingData & { close(): Promise<void> }> {
  const schema = dataset.featureGroup.schema;
  const inDataset = (n: string): boolean => dataset.spec.features.includes(n);
  const tensorFeatures = schema.filter((f) => f.kind === 'tensor' && inDataset(f.name)).map((f) => f.name);
  const channels = opts.channels ?? tensorFeatures;
  for (const c of channels) {
    if (!tensorFeatures.includes(c)) {
      throw new RangeError(
        `unknown feature '${c}' in ${dataset.label}; its tensor features are: ${tensorFeatures.join(', ') || 'none'}`,
      );
    }
  }
  const label = dataset.spec.label;
  if (!label) throw new RangeError(`${dataset.label} has no label feature; training needs one`);
  const angleFeature: string | null =
    opts.angleFeature === undefined ? (inDataset('inc_angle') ? 'inc_angle' : null) : opts.angleFeature;
  if (angleFeature !== null) {
    const f = schema.find((s) => s.name === angleFeature);
    if (!f || f.kind !== 'scalar' || !inDataset(angleFeature)) {
      throw new RangeError(`angle feature '${angleFeature}' is not a scalar feature of ${dataset.label}`);
    }
  }
  const lineageInfo = dataset.spec.lineage.featureGroup;

  let preprocessing: Preprocessing | null = null;
  if (opts.standardize ?? true) {
    const stats = await dataset.featureGroup.statistics(lineageInfo.commit);
    const mean: number[] = [];
    const std: number[] = [];
    for (const c of channels) {
      const bands = stats?.group.features[c]?.bands;
      if (!bands || bands.length !== 1 || bands[0]!.mean === null || bands[0]!.std === null) {
        throw new RangeError(
          `feature '${c}': no single-band statistics at commit ${lineageInfo.commit} of ${lineageInfo.name} to standardise with (pass standardize: false)`,
        );
      }
      mean.push(bands[0]!.mean);
      std.push(bands[0]!.std > 1e-12 ? bands[0]!.std : 1);
    }
    preprocessing = { channelMean: mean, channelStd: std };
  }

  // One table handle for the angle look-ups, opened on first use.
  let table: Promise<Table> | undefined;
  const angles = angleFeature
    ? async (rowIds: number[]): Promise<Float32Array> => {
        table ??= dataset.openTable();
        const batches = await TrainingDataset.take(await table, rowIds, [angleFeature!]);
        const at = new Map<number, number>();
        rowIds.forEach((id, i) => at.set(id, i));
        const out = new Float32Array(rowIds.length).fill(NaN);
        for (const b of batches) {
          const rid = b.getChild('_rowid')!;
          const col = b.getChild(angleFeature!)!;
          for (let r = 0; r < b.numRows; r++) {
            const v = col.get(r) as number | null;
            out[at.get(Number(rid.get(r) as bigint))!] = v === null ? NaN : Number(v);
          }
        }
        return out;
      }
    : null;

  // Sample ids (asked for by the saliency-per-epoch pick): the primary key, joined with '/' when composite.
  const primaryKey = dataset.featureGroup.info.primaryKey;
  const primaryKeys = async (rowIds: number[]): Promise<string[]> => {
    table ??= dataset.openTable();
    const batches = await TrainingDataset.take(await table, rowIds, primaryKey);
    const at = new Map<number, number>();
    rowIds.forEach((id, i) => at.set(id, i));
    const out = rowIds.map((id) => `row ${id}`);
    for (const b of batches) {
      const rid = b.getChild('_rowid')!;
      const cols = primaryKey.map((k) => b.getChild(k)!);
      for (let r = 0; r < b.numRows; r++)
        out[at.get(Number(rid.get(r) as bigint))!] = cols.map((c) => String(c.get(r))).join('/');
    }
    return out;
  };

  const counts = dataset.info.splitCounts;
  const names = {
    train: opts.splits?.train ?? 'train',
    validation: opts.splits?.validation ?? 'validation',
    test: opts.splits?.test ?? 'test',
  };
  if (!(names.train in counts))
    throw new RangeError(`${dataset.label} has no split '${names.train}' (it has ${Object.keys(counts).join(', ')})`);
  const make = (name: string): FeatureStoreSplit | undefined =>
    name in counts && counts[name]! > 0
      ? new FeatureStoreSplit(dataset, name, counts[name]!, channels, label, preprocessing, angles, primaryKeys)
      : undefined;
  const train = make(names.train)!;
  const validation = make(names.validation);
  const test = make(names.test);
  const first = schema.find((f) => f.name === channels[0]);
  const shape = first && first.kind === 'tensor' ? first.shape : [0, 0];

  const lineage: DatasetLineage = {
    trainingDatasetId: dataset.info.id,
    trainingDatasetName: dataset.name,
    trainingDatasetVersion: dataset.version,
    featureGroup: lineageInfo.name,
    featureGroupVersion: lineageInfo.version,
    commit: lineageInfo.commit,
  };
  return {
    description: `${dataset.label} (${lineageInfo.name} v${lineageInfo.version} @ commit ${lineageInfo.commit})`,
    channels,
    patchShape: [shape[0]!, shape[1] ?? 1],
    angleFeature,
    train,
    ...(validation ? { validation } : {}),
    ...(test ? { test } : {}),
    lineage,
    preprocessing,
    async close() {
      for (const s of [train, validation, test]) await s?.close();
      if (table) (await table).close();
    },
  };
}
