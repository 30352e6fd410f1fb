/**
 * Streams a training dataset split into tfjs: shuffled per epoch (seeded), batched, prefetched, and
 * never the whole split in memory — each batch is a Lance random-access take of its row ids at the
 * dataset's frozen version. Tensor features are stacked as channels (channels last):
 * xs [b, H, W, C], ys [b, 1] (float32).
 */
import type * as arrow from 'apache-arrow';
import type { Table } from '@lancedb/lancedb';
import type { TensorFeature } from '@floe/schema';
import type { Tf } from '../training/backend';
import { FeatureStoreError } from './errors';
import { seededRandom, shuffleInPlace, TrainingDataset } from './training-dataset';

export interface LoaderOptions {
  split?: string;
  batchSize?: number;
  /** Tensor features to stack as channels, in order. Default: the dataset's tensor features. */
  channels?: string[];
  /** Label feature for `ys`. Default: the dataset's label. */
  label?: string;
  shuffle?: boolean;
  /** Shuffle seed; epoch e uses seed + e. Default: the dataset's seed. */
  seed?: number;
  /** Batches read ahead while the consumer works. Default 4. */
  prefetch?: number;
  /** Leave out a last, smaller batch. */
  dropRemainder?: boolean;
  /**
   * Rows per Lance take: consecutive batches of the shuffled order are fetched together (one
   * random-access request serves several batches). Default 256.
   */
  takeRows?: number;
}

/** One batch before it becomes tensors: plain typed arrays. */
export interface RawBatch {
  size: number;
  /** [size, H, W, C] row-major. */
  xs: Float32Array;
  /** [size]. */
  ys: Float32Array;
  rowIds: number[];
}

export class TrainingDataLoader {
  readonly split: string;
  readonly batchSize: number;
  readonly channels: string[];
  readonly labelFeature: string;
  /** [H, W, C] of one sample. */
  readonly sampleShape: [number, number, number];
  private table: Promise<Table> | undefined;

  private constructor(
    readonly dataset: TrainingDataset,
    private readonly rowIds: number[],
    private readonly opts: Required<Omit<LoaderOptions, 'channels' | 'label' | 'split' | 'batchSize'>>,
    split: string,
    batchSize: number,
    channels: TensorFeature[],
    label: string,
  ) {
    this.split = split;
    this.batchSize = batchSize;
    this.channels = channels.map((c) => c.name);
    this.labelFeature = label;
    const s = channels[0]!.shape;
    this.sampleShape = [s[0]!, s[1] ?? 1, channels.length];
  }

  static async create(dataset: TrainingDataset, opts: LoaderOptions = {}): Promise<TrainingDataLoader> {
    const split = opts.split ?? 'train';
    const batchSize = opts.batchSize ?? 32;
    if (!Number.isInteger(batchSize) || batchSize < 1) throw new FeatureStoreError(`loader: batchSize must be a positive integer, got ${batchSize}`);
    const schema = dataset.featureGroup.schema;
    const channelNames = opts.channels ?? schema.filter((f) => f.kind === 'tensor' && dataset.spec.features.includes(f.name)).map((f) => f.name);
    if (channelNames.length === 0) throw new FeatureStoreError(`loader: ${dataset.label} selects no tensor feature to use as channels`);
    const channels = channelNames.map((n) => {
      const f = schema.find((s) => s.name === n);
      if (!f || f.kind !== 'tensor') throw new FeatureStoreError(`loader: '${n}' is not a tensor feature of ${dataset.featureGroup.name}`);
      if (!dataset.spec.features.includes(n)) throw new FeatureStoreError(`loader: '${n}' is not among ${dataset.label}'s features`);
      return f;
    });
    const first = channels[0]!;
    for (const c of channels) {
      const hw = c.shape.length === 3 && c.shape[2] === 1 ? c.shape.slice(0, 2) : c.shape;
      if (hw.length > 2 || JSON.stringify(hw) !== JSON.stringify(first.shape.slice(0, 2))) {
        throw new FeatureStoreError(`loader: channel '${c.name}' has shape [${c.shape}], expected [${first.shape.slice(0, 2)}] like '${first.name}'`);
      }
    }
    const label = opts.label ?? dataset.spec.label;
    if (!label) throw new FeatureStoreError(`loader: ${dataset.label} has no label; pass one`);
    const rowIds = await dataset.splitRowIds(split);
    return new TrainingDataLoader(
      dataset,
      rowIds,
      {
        shuffle: opts.shuffle ?? true,
        seed: opts.seed ?? dataset.spec.seed,
        prefetch: opts.prefetch ?? 4,
        dropRemainder: opts.dropRemainder ?? false,
        takeRows: opts.takeRows ?? 256,
      },
      split,
      batchSize,
      channels,
      label,
    );
  }

  get size(): number {
    return this.rowIds.length;
  }

  get batchesPerEpoch(): number {
    return this.opts.dropRemainder ? Math.floor(this.size / this.batchSize) : Math.ceil(this.size / this.batchSize);
  }

  /** Row ids of an epoch in the order they are served. */
  epochOrder(epoch: number): number[] {
    const ids = [...this.rowIds];
    return this.opts.shuffle ? shuffleInPlace(ids, seededRandom(this.opts.seed + epoch)) : ids;
  }

  private openTable(): Promise<Table> {
    this.table ??= this.dataset.openTable();
    return this.table;
  }

  private async readBatch(ids: number[]): Promise<RawBatch> {
    const table = await this.openTable();
    const batches = await TrainingDataset.take(table, ids, [...this.channels, this.labelFeature]);
    const [h, w, c] = this.sampleShape;
    const hw = h * w;
    const n = ids.length;
    const position = new Map<number, number>();
    ids.forEach((id, i) => position.set(id, i));
    const xs = new Float32Array(n * hw * c);
    const ys = new Float32Array(n);
    let got = 0;
    for (const b of batches as arrow.RecordBatch[]) {
      const rid = b.getChild('_rowid')!;
      const label = b.getChild(this.labelFeature)!;
      const bands = this.channels.map((name) => {
        const data = b.getChild(name)!.data[0]!;
        const child = data.children[0]!;
        return { values: child.values as Float32Array, base: data.offset * hw + child.offset };
      });
      for (let r = 0; r < b.numRows; r++) {
        const at = position.get(Number(rid.get(r) as bigint));
        if (at === undefined) throw new FeatureStoreError(`loader: Lance returned row id ${String(rid.get(r))} that was not asked for`);
        ys[at] = Number(label.get(r));
        const out = at * hw * c;
        if (c === 1) xs.set(bands[0]!.values.subarray(bands[0]!.base + r * hw, bands[0]!.base + (r + 1) * hw), out);
        else {
          for (let k = 0; k < c; k++) {
            const { values, base } = bands[k]!;
            const src = base + r * hw;
            for (let p = 0; p < hw; p++) xs[out + p * c + k] = values[src + p]!;
          }
        }
        got++;
      }
    }
    if (got !== n) throw new FeatureStoreError(`loader: asked ${n} rows of ${this.dataset.label}, Lance returned ${got}`);
    return { size: n, xs, ys, rowIds: ids };
  }

  /** One epoch of batches as typed arrays, about `prefetch` batches read ahead. */
  async *rawBatches(epoch = 0): AsyncGenerator<RawBatch> {
    const order = this.epochOrder(epoch);
    const usable = this.opts.dropRemainder ? order.length - (order.length % this.batchSize) : order.length;
    const perTake = this.batchSize * Math.max(1, Math.round(this.opts.takeRows / this.batchSize));
    const takes: [number, number][] = [];
    for (let i = 0; i < usable; i += perTake) takes.push([i, Math.min(i + perTake, usable)]);
    const ahead = Math.max(1, Math.ceil(this.opts.prefetch / (perTake / this.batchSize)));
    const inFlight: Promise<RawBatch>[] = [];
    let next = 0;
    const fill = (): void => {
      while (inFlight.length < ahead && next < takes.length) {
        const [a, b] = takes[next++]!;
        const p = this.readBatch(order.slice(a, b));
        p.catch(() => undefined); // surfaced when awaited below
        inFlight.push(p);
      }
    };
    fill();
    const sample = this.sampleShape[0] * this.sampleShape[1] * this.sampleShape[2];
    while (inFlight.length > 0) {
      const rows = await inFlight.shift()!;
      fill();
      // Batches are views into the take's arrays: no copy.
      for (let s = 0; s < rows.size; s += this.batchSize) {
        const e = Math.min(s + this.batchSize, rows.size);
        yield { size: e - s, xs: rows.xs.subarray(s * sample, e * sample), ys: rows.ys.subarray(s, e), rowIds: rows.rowIds.slice(s, e) };
      }
    }
  }

  /** One epoch of `{xs: [b,H,W,C], ys: [b,1]}` tensors; dispose them after use (fitDataset does). */
  async *batches(tf: Tf, epoch = 0): AsyncGenerator<{ xs: import('@tensorflow/tfjs-node').Tensor4D; ys: import('@tensorflow/tfjs-node').Tensor2D }> {
    const [h, w, c] = this.sampleShape;
    for await (const b of this.rawBatches(epoch)) {
      yield { xs: tf.tensor4d(b.xs, [b.size, h, w, c]), ys: tf.tensor2d(b.ys, [b.size, 1]) };
    }
  }

  /**
   * A tf.data.Dataset for `model.fitDataset`: each pass over it (each epoch) is a fresh shuffle,
   * epoch 0, 1, 2, ... in the order fitDataset iterates.
   */
  toTfDataset(tf: Tf): import('@tensorflow/tfjs-node').data.Dataset<{ xs: import('@tensorflow/tfjs-node').Tensor4D; ys: import('@tensorflow/tfjs-node').Tensor2D }> {
    let epoch = 0;
    // tf.data.generator accepts an async iterator; its TypeScript signature only says Iterator.
    const make = (): Iterator<{ xs: import('@tensorflow/tfjs-node').Tensor4D; ys: import('@tensorflow/tfjs-node').Tensor2D }> =>
      this.batches(tf, epoch++) as unknown as Iterator<{ xs: import('@tensorflow/tfjs-node').Tensor4D; ys: import('@tensorflow/tfjs-node').Tensor2D }>;
    return tf.data.generator(make);
  }

  async close(): Promise<void> {
    const t = this.table;
    this.table = undefined;
    if (t) (await t).close();
  }
}
