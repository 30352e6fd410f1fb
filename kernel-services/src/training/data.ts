import type { Tensor2D, Tensor4D } from '@tensorflow/tfjs-node';
import type { DatasetLineage } from '@floe/schema';
import { loadTf } from './backend';
import { SeededRandom } from './random';

/**
 * What `train()` reads: patches split into train / validation / test, served in batches. The feature
 * store's training datasets, in-memory tensors and Statoil-format records all adapt to this.
 */

export interface SampleBatch {
  /** [n, height, width, channels], channels in `TrainingData.channels` order. The trainer disposes it. */
  image: Tensor4D;
  /** [n, 1] labels, 1 = iceberg, 0 = ship. The trainer disposes it. */
  label: Tensor2D;
  /** Incidence angle per sample in degrees, NaN where missing (only when the data has an angle feature). */
  angle?: Float32Array;
  /** Each sample's identifier (record id, primary key), when asked for with `withIds` and known. */
  ids?: string[];
}

export interface BatchOptions {
  batchSize: number;
  /** Shuffle with this seed (the same seed gives the same order); absent: the split's own order. */
  shuffleSeed?: number;
  /** Attach `ids` to each batch (an extra look-up for some sources, so only when needed). */
  withIds?: boolean;
}

export interface DataSplit {
  readonly size: number;
  /** Batches in order, or shuffled by `shuffleSeed` (the same seed gives the same order). */
  batches(opts: BatchOptions): AsyncIterable<SampleBatch>;
}

/** Per-channel standardisation applied by the data before the model sees it; recorded with the model. */
export interface Preprocessing {
  channelMean: number[];
  channelStd: number[];
}

export interface TrainingData {
  /** For run records: where the data came from. */
  readonly description: string;
  /** Names of the image channels (e.g. `band_1`, `band_2`, `band_avg`). */
  readonly channels: readonly string[];
  readonly patchShape: readonly [number, number];
  /** Name of the incidence-angle feature when batches carry angles, else null. */
  readonly angleFeature: string | null;
  readonly train: DataSplit;
  readonly validation?: DataSplit;
  readonly test?: DataSplit;
  /** Training dataset → feature group commit, when the data came from the feature store. */
  readonly lineage: DatasetLineage | null;
  readonly preprocessing: Preprocessing | null;
  /** Frees tensors the data holds (in-memory adapters). */
  dispose?(): void;
}

export interface TensorSplitInput {
  /** [n, h, w, c] patches, or their row-major values with `shape`. */
  images: Tensor4D | Float32Array;
  shape?: [number, number, number, number];
  labels: ArrayLike<number>;
  /** Degrees; null or NaN where missing. */
  angles?: ArrayLike<number | null>;
  /** Sample identifiers (e.g. record ids); default: none (batches carry no ids). */
  ids?: readonly string[];
}

export interface InMemoryDataOptions {
  channels: readonly string[];
  train: TensorSplitInput;
  validation?: TensorSplitInput;
  test?: TensorSplitInput;
  angleFeature?: string | null;
  lineage?: DatasetLineage | null;
  preprocessing?: Preprocessing | null;
  description?: string;
}

class TensorSplit implements DataSplit {
  readonly size: number;
  constructor(
    private readonly images: Tensor4D,
    private readonly labels: Tensor2D,
    private readonly angles: Float32Array | undefined,
    private readonly ids: readonly string[] | undefined,
  ) {
    this.size = images.shape[0];
  }

  async *batches({ batchSize, shuffleSeed, withIds }: BatchOptions): AsyncIterable<SampleBatch> {
    const tf = loadTf();
    if (!Number.isInteger(batchSize) || batchSize < 1)
      throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
    const order = shuffleSeed === undefined ? null : new SeededRandom(shuffleSeed).permutation(this.size);
    for (let start = 0; start < this.size; start += batchSize) {
      const end = Math.min(this.size, start + batchSize);
      if (order) {
        const idx = order.subarray(start, end);
        const indices = tf.tensor1d(idx, 'int32');
        const batch: SampleBatch = {
          image: tf.gather(this.images, indices) as Tensor4D,
          label: tf.gather(this.labels, indices) as Tensor2D,
        };
        indices.dispose();
        if (this.angles) batch.angle = Float32Array.from(idx, (i) => this.angles![i]!);
        if (withIds && this.ids) batch.ids = Array.from(idx, (i) => this.ids![i]!);
        yield batch;
      } else {
        const n = end - start;
        const batch: SampleBatch = {
          image: this.images.slice([start, 0, 0, 0], [n, -1, -1, -1]),
          label: this.labels.slice([start, 0], [n, 1]),
        };
        if (this.angles) batch.angle = this.angles.slice(start, end);
        if (withIds && this.ids) batch.ids = this.ids.slice(start, end);
        yield batch;
      }
    }
  }

  dispose(): void {
    this.images.dispose();
    this.labels.dispose();
  }
}

function toSplit(name: string, input: TensorSplitInput, channels: number, withAngle: boolean): TensorSplit {
  const tf = loadTf();
  let images: Tensor4D;
  if (input.images instanceof Float32Array) {
    if (!input.shape) throw new RangeError(`${name} split: images given as values need a shape [n, h, w, c]`);
    images = tf.tensor4d(input.images, input.shape);
  } else {
    images = input.images.clone();
  }
  const n = images.shape[0];
  if (images.shape[3] !== channels) {
    images.dispose();
    throw new RangeError(
      `${name} split: images have ${images.shape[3]} channels but ${channels} channel names were given`,
    );
  }
  if (input.labels.length !== n) {
    images.dispose();
    throw new RangeError(`${name} split: ${n} images but ${input.labels.length} labels`);
  }
  for (let i = 0; i < n; i++) {
    if (input.labels[i] !== 0 && input.labels[i] !== 1) {
      images.dispose();
      throw new RangeError(`${name} split: label ${i} is ${input.labels[i]}, not 0 or 1`);
    }
  }
  let angles: Float32Array | undefined;
  if (withAngle) {
    if (!input.angles || input.angles.length !== n) {
      images.dispose();
      throw new RangeError(
        `${name} split: the data has an angle feature but ${input.angles?.length ?? 0} angles for ${n} images`,
      );
    }
    angles = Float32Array.from({ length: n }, (_, i) => {
      const a = input.angles![i];
      return a === null || a === undefined ? NaN : a;
    });
  }
  if (input.ids && input.ids.length !== n) {
    images.dispose();
    throw new RangeError(`${name} split: ${n} images but ${input.ids.length} ids`);
  }
  const labels = tf.tensor2d(Float32Array.from(input.labels), [n, 1]);
  return new TensorSplit(images, labels, angles, input.ids ? [...input.ids] : undefined);
}

/** Training data from tensors or arrays already in memory (tests, benchmarks, notebooks). Copies the tensors. */
export function inMemoryTrainingData(opts: InMemoryDataOptions): TrainingData {
  const withAngle = !!opts.angleFeature;
  const splits: TensorSplit[] = [];
  const make = (name: string, input: TensorSplitInput): TensorSplit => {
    try {
      const s = toSplit(name, input, opts.channels.length, withAngle);
      splits.push(s);
      return s;
    } catch (err) {
      splits.forEach((s) => s.dispose());
      throw err;
    }
  };
  const train = make('train', opts.train);
  const validation = opts.validation ? make('validation', opts.validation) : undefined;
  const test = opts.test ? make('test', opts.test) : undefined;
  const shape = (opts.train.images instanceof Float32Array ? opts.train.shape! : opts.train.images.shape) as number[];
  return {
    description: opts.description ?? 'in-memory tensors',
    channels: [...opts.channels],
    patchShape: [shape[1]!, shape[2]!],
    angleFeature: opts.angleFeature ?? null,
    train,
    ...(validation ? { validation } : {}),
    ...(test ? { test } : {}),
    lineage: opts.lineage ?? null,
    preprocessing: opts.preprocessing ?? null,
    dispose: () => splits.forEach((s) => s.dispose()),
  };
}

/** A Statoil/C-CORE-format record (train.json): two 75×75 dB bands, incidence angle or "na", label. */
export interface PatchRecord {
  id: string;
  band_1: ArrayLike<number>;
  band_2: ArrayLike<number>;
  inc_angle: number | 'na' | null;
  is_iceberg?: number;
}

/** Channels the records adapter can build: the two bands and their average (as the ExtremeEarth CNN used). */
export const RECORD_CHANNELS = ['band_1', 'band_2', 'band_avg'] as const;

export interface RecordsDataOptions {
  /** Default `band_1`, `band_2`. */
  channels?: readonly string[];
  validationFraction?: number;
  testFraction?: number;
  /** Seed of the split. */
  seed?: number;
  /** Standardise each channel with the training split's mean and standard deviation (default true). */
  standardize?: boolean;
  description?: string;
}

/** Which record indices go to which split: a seeded shuffle cut by the fractions. Same inputs, same split. */
export function splitIndices(
  n: number,
  fractions: { validation: number; test: number },
  seed: number,
): { train: number[]; validation: number[]; test: number[] } {
  for (const [k, v] of Object.entries(fractions)) {
    if (!(v >= 0 && v < 1)) throw new RangeError(`${k} fraction must be in [0, 1), got ${v}`);
  }
  if (fractions.validation + fractions.test >= 1)
    throw new RangeError('validation + test fractions must leave some training samples');
  const order = Array.from(new SeededRandom(seed).permutation(n));
  const nVal = Math.round(n * fractions.validation);
  const nTest = Math.round(n * fractions.test);
  return { validation: order.slice(0, nVal), test: order.slice(nVal, nVal + nTest), train: order.slice(nVal + nTest) };
}

/** Training data from Statoil-format records (e.g. the synthetic generator's output), split by seed. */
export function recordsTrainingData(
  records: readonly PatchRecord[],
  opts: RecordsDataOptions = {},
): TrainingData & { ids: Record<'train' | 'validation' | 'test', string[]> } {
  const channels = [...(opts.channels ?? ['band_1', 'band_2'])];
  for (const c of channels) {
    if (!(RECORD_CHANNELS as readonly string[]).includes(c)) {
      throw new RangeError(`unknown feature '${c}'; Statoil records have: ${RECORD_CHANNELS.join(', ')}, inc_angle`);
    }
  }
  if (records.length === 0) throw new RangeError('no records to train on');
  const pixels = records[0]!.band_1.length;
  const side = Math.round(Math.sqrt(pixels));
  if (side * side !== pixels)
    throw new RangeError(`record ${records[0]!.id}: band_1 has ${pixels} values, not a square patch`);
  records.forEach((r, i) => {
    const name = `record ${i} (id ${r.id})`;
    if (r.band_1.length !== pixels || r.band_2.length !== pixels)
      throw new RangeError(`${name}: bands must have ${pixels} values each`);
    if (r.is_iceberg !== 0 && r.is_iceberg !== 1)
      throw new RangeError(`${name}: is_iceberg is ${String(r.is_iceberg)}, not 0 or 1`);
  });
  const split = splitIndices(
    records.length,
    { validation: opts.validationFraction ?? 0.2, test: opts.testFraction ?? 0 },
    opts.seed ?? 0,
  );

  const channelValue = (r: PatchRecord, c: string, p: number): number =>
    c === 'band_1' ? r.band_1[p]! : c === 'band_2' ? r.band_2[p]! : (r.band_1[p]! + r.band_2[p]!) / 2;

  // Per-channel mean and standard deviation over the training split only (no peeking at validation).
  const C = channels.length;
  let mean = new Array<number>(C).fill(0);
  let std = new Array<number>(C).fill(1);
  if (opts.standardize ?? true) {
    const sum = new Float64Array(C);
    const sq = new Float64Array(C);
    for (const i of split.train) {
      for (let c = 0; c < C; c++) {
        for (let p = 0; p < pixels; p++) {
          const v = channelValue(records[i]!, channels[c]!, p);
          sum[c] += v;
          sq[c] += v * v;
        }
      }
    }
    const count = split.train.length * pixels;
    mean = Array.from(sum, (s) => s / count);
    std = Array.from(sq, (s, c) => Math.sqrt(Math.max(s / count - mean[c]! ** 2, 1e-12)));
  }

  const build = (indices: number[]): TensorSplitInput => {
    const values = new Float32Array(indices.length * pixels * C);
    indices.forEach((ri, k) => {
      const r = records[ri]!;
      const base = k * pixels * C;
      for (let p = 0; p < pixels; p++) {
        for (let c = 0; c < C; c++) values[base + p * C + c] = (channelValue(r, channels[c]!, p) - mean[c]!) / std[c]!;
      }
    });
    return {
      images: values,
      shape: [indices.length, side, side, C],
      labels: indices.map((i) => records[i]!.is_iceberg!),
      angles: indices.map((i) => {
        const a = records[i]!.inc_angle;
        return typeof a === 'number' ? a : null;
      }),
      ids: indices.map((i) => String(records[i]!.id)),
    };
  };
  const data = inMemoryTrainingData({
    channels,
    train: build(split.train),
    ...(split.validation.length ? { validation: build(split.validation) } : {}),
    ...(split.test.length ? { test: build(split.test) } : {}),
    angleFeature: 'inc_angle',
    preprocessing: { channelMean: mean, channelStd: std },
    description: opts.description ?? `${records.length} Statoil-format records (split seed ${opts.seed ?? 0})`,
  });
  const ids = {
    train: split.train.map((i) => records[i]!.id),
    validation: split.validation.map((i) => records[i]!.id),
    test: split.test.map((i) => records[i]!.id),
  };
  return Object.assign(data, { ids });
}
