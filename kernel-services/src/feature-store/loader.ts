/**
 * Streams a training dataset split into tfjs: shuffled per epoch (seeded), batched, prefetched, and
 * never the whole split in memory. Tensor features are stacked as channels (channels last):
 * xs [b, H, W, C], ys [b, 1] (float32).
 *
 * Two read paths serve the same samples in the same order for a seed and epoch:
 * - `cache: 'auto'` (default): the split is materialised once into a training-read cache (a local
 *   file of records already stacked channels-last, see training-read-cache.ts) and each batch is
 *   positional reads of its records into one contiguous buffer: fresh memory per batch by default,
 *   or (`reuseBuffers`) a ring of buffers allocated once, which is what makes shuffled reads run at
 *   a large fraction of a sequential read (docs/benchmarks.md, featurestore);
 * - `cache: 'off'`: each group of batches is a Lance random-access take of its row ids at the
 *   dataset's frozen version (no local copy; about 10–50× slower on the benchmark).
 */
import type * as arrow from 'apache-arrow';
import type { Table } from '@lancedb/lancedb';
import type { TensorFeature } from '@floe/schema';
import type { Tf } from '../training/backend';
import { FeatureStoreError } from './errors';
import { seededRandom, shuffleInPlace, TrainingDataset } from './training-dataset';
import {
  channelSources,
  stackedShape,
  stackRow,
  TrainingReadCache,
  type ReadCacheStatus,
  type ReadCacheVerification,
} from './training-read-cache';

type Tensor4D = import('@tensorflow/tfjs-node').Tensor4D;
type Tensor2D = import('@tensorflow/tfjs-node').Tensor2D;

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
  /**
   * 1 (default): every sample shuffled on its own. N > 1: block shuffle — the split is cut into
   * blocks of N adjacent records (adjacent in the split, i.e. in row id / ingest order), the
   * boundaries shifted by a seeded offset each epoch, and the blocks served in seeded random order.
   * Every sample is still served once per epoch and batches still mix distant parts of the split,
   * but a batch holds runs of up to N neighbours, so use it only where neighbouring rows are not
   * correlated (generated data, or data ingested in random order). Cache reads then take one
   * positional read per block instead of one per sample (see docs/benchmarks.md, featurestore).
   */
  shuffleBlock?: number;
  /**
   * Batches read ahead in idle event-loop turns while the consumer works. Default 4; with
   * `reuseBuffers` default 0 (see there).
   */
  prefetch?: number;
  /** Leave out a last, smaller batch. */
  dropRemainder?: boolean;
  /**
   * Rows per Lance take (`cache: 'off'`): consecutive batches of the shuffled order are fetched
   * together (one random-access request serves several batches). Default 256.
   */
  takeRows?: number;
  /** Scalar features served with each batch as `scalars[name]` (float32, null as NaN). */
  scalars?: string[];
  /** `auto` (default): read through the training-read cache, building it on first use; `off`: Lance takes. */
  cache?: 'auto' | 'off';
  /** Where cache files live (default `FLOE_TRAINING_CACHE_DIR`, else `<home>/cache/training-reads`). */
  cacheDir?: string;
  /** How an existing cache file is checked when opened (default `full`, once per process per file). */
  verifyCache?: ReadCacheVerification;
  /**
   * Cache reads: 0 (default) on this thread, synchronous positional reads in the event-loop turns
   * after a batch is asked for; N: N reader threads (overlap with synchronous TensorFlow work and
   * cold-file reads; slower with a warm page cache here, see training-read-cache.ts).
   */
  readThreads?: number;
  /**
   * Reuse batch memory instead of allocating each batch afresh (cache reads on this thread only).
   * Fresh memory per batch costs page faults and garbage collection that dominate a warm shuffled
   * epoch. With this, batch k is read into slot k mod (prefetch + 1) of a ring allocated once (an
   * epoch reuses the ring of an epoch that has ended). The default `prefetch` here is 0: one slot,
   * each batch read when it is asked for. Reads on this thread only overlap a consumer that leaves
   * the event loop idle (tfjs training does not: its awaits are microtasks), and each extra slot
   * pushes batch memory out of the CPU caches (two slots cost about 10% more CPU per byte than one,
   * ten about 15%, measured here).
   * - `rawBatches`: a batch's `xs` stays valid until the next batch is asked for, in this epoch or a
   *   later one (consume or copy it before then; `ys`, `rowIds` and `scalars` are always the batch's
   *   own).
   * - `batches` / `toTfDataset`: a slot is reused only once the tensor made from it is disposed
   *   (a kept tensor keeps its memory: the slot gets a fresh buffer). tfjs-node tensors share the
   *   array's memory, so do not keep a view op's result (`reshape`, `expandDims`, `squeeze`, `clone`
   *   share memory in TensorFlow) of a batch past disposing it and asking for the next batch.
   * Default false.
   */
  reuseBuffers?: boolean;
}

/** One batch before it becomes tensors: plain typed arrays. */
export interface RawBatch {
  size: number;
  /** [size, H, W, C] row-major. */
  xs: Float32Array;
  /** [size]. */
  ys: Float32Array;
  rowIds: number[];
  /** [size] per scalar feature asked for with `scalars` (null as NaN). */
  scalars: Record<string, Float32Array>;
}

/** Where a loader's samples come from. */
export type LoaderSource = { kind: 'lance' } | ({ kind: 'cache' } & ReadCacheStatus);

/**
 * Batch memory: float32 arrays that start 64 bytes into their allocation. Large allocations start
 * on a page boundary, and so do the cache's records when their size is a multiple of 4 KiB; on the
 * AMD EPYC here a kernel copy whose source and destination sit at the same offset within a page
 * runs about 5x slower (measured: 8 MiB reads from the page cache, 1.6 vs 7-8 GB per CPU-second).
 */
export function batchMemory(floats: number): Float32Array {
  // Not zero-filled: every byte is read into before the batch is served (zeroing a fresh batch
  // costs as much as reading it: glibc serves freed big blocks again and calloc must clear them).
  return new Float32Array(Buffer.allocUnsafeSlow(floats * 4 + 64).buffer, 64, floats);
}

/**
 * `xs` memory for batches (option `reuseBuffers`): batch k uses slot k mod size. A slot whose tensor
 * is still alive gets fresh memory instead (the tensor keeps the old one).
 */
class BatchBufferRing {
  private readonly slots: { xs: Float32Array; holders: { readonly isDisposed: boolean }[] }[] = [];
  /** Slots given fresh memory because a consumer kept a tensor of an earlier batch. */
  replaced = 0;

  constructor(
    private readonly size: number,
    private readonly floats: number,
  ) {}

  acquire(k: number): Float32Array {
    const i = k % this.size;
    let slot = this.slots[i];
    if (slot && slot.holders.every((t) => t.isDisposed)) {
      slot.holders.length = 0;
      return slot.xs;
    }
    if (slot) this.replaced++;
    slot = { xs: batchMemory(this.floats), holders: [] };
    this.slots[i] = slot;
    return slot.xs;
  }

  /** Records that a tensor made from batch k's memory must be disposed before the slot is reused. */
  hold(k: number, tensor: { readonly isDisposed: boolean }): void {
    this.slots[k % this.size]?.holders.push(tensor);
  }
}

type Resolved = Required<Omit<LoaderOptions, 'channels' | 'label' | 'split' | 'batchSize' | 'scalars' | 'cacheDir'>> & {
  cacheDir?: string;
};

export class TrainingDataLoader {
  readonly split: string;
  readonly batchSize: number;
  readonly channels: string[];
  readonly labelFeature: string;
  /** [H, W, C] of one sample. */
  readonly sampleShape: [number, number, number];
  readonly scalarFeatures: string[];
  private table: Promise<Table> | undefined;
  /** `reuseBuffers` rings that finished epochs gave back. */
  private readonly spareRings: BatchBufferRing[] = [];

  private constructor(
    readonly dataset: TrainingDataset,
    private readonly rowIds: number[],
    private readonly opts: Resolved,
    split: string,
    batchSize: number,
    channels: TensorFeature[],
    label: string,
    scalars: string[],
    private readonly cache: TrainingReadCache | undefined,
  ) {
    this.split = split;
    this.batchSize = batchSize;
    this.channels = channels.map((c) => c.name);
    this.labelFeature = label;
    this.scalarFeatures = scalars;
    this.sampleShape = stackedShape(channels);
  }

  /** The read path in use: the training-read cache (found or built now, with its file) or Lance takes. */
  get source(): LoaderSource {
    return this.cache ? { kind: 'cache', ...this.cache.status } : { kind: 'lance' };
  }

  static async create(dataset: TrainingDataset, opts: LoaderOptions = {}): Promise<TrainingDataLoader> {
    const split = opts.split ?? 'train';
    const batchSize = opts.batchSize ?? 32;
    if (!Number.isInteger(batchSize) || batchSize < 1)
      throw new FeatureStoreError(`loader: batchSize must be a positive integer, got ${batchSize}`);
    const schema = dataset.featureGroup.schema;
    const channelNames =
      opts.channels ??
      schema.filter((f) => f.kind === 'tensor' && dataset.spec.features.includes(f.name)).map((f) => f.name);
    if (channelNames.length === 0)
      throw new FeatureStoreError(`loader: ${dataset.label} selects no tensor feature to use as channels`);
    const channels = channelNames.map((n) => {
      const f = schema.find((s) => s.name === n);
      if (!f || f.kind !== 'tensor')
        throw new FeatureStoreError(`loader: '${n}' is not a tensor feature of ${dataset.featureGroup.name}`);
      if (!dataset.spec.features.includes(n))
        throw new FeatureStoreError(`loader: '${n}' is not among ${dataset.label}'s features`);
      return f;
    });
    const first = channels[0]!;
    for (const c of channels) {
      const hw = c.shape.length === 3 && c.shape[2] === 1 ? c.shape.slice(0, 2) : c.shape;
      if (hw.length > 2 || JSON.stringify(hw) !== JSON.stringify(first.shape.slice(0, 2))) {
        throw new FeatureStoreError(
          `loader: channel '${c.name}' has shape [${c.shape}], expected [${first.shape.slice(0, 2)}] like '${first.name}'`,
        );
      }
    }
    const label = opts.label ?? dataset.spec.label;
    if (!label) throw new FeatureStoreError(`loader: ${dataset.label} has no label; pass one`);
    const scalars = opts.scalars ?? [];
    for (const n of scalars) {
      const f = schema.find((s) => s.name === n);
      if (!f || f.kind !== 'scalar')
        throw new FeatureStoreError(
          `loader: scalar input '${n}' is not a scalar feature of ${dataset.featureGroup.name}`,
        );
      if (!dataset.spec.features.includes(n) && n !== dataset.spec.label)
        throw new FeatureStoreError(`loader: '${n}' is not among ${dataset.label}'s features`);
    }
    const cacheMode = opts.cache ?? 'auto';
    if (cacheMode !== 'auto' && cacheMode !== 'off')
      throw new FeatureStoreError(`loader: cache must be 'auto' or 'off', got ${JSON.stringify(cacheMode)}`);
    if (opts.prefetch !== undefined && !(Number.isInteger(opts.prefetch) && opts.prefetch >= 0))
      throw new FeatureStoreError(`loader: prefetch must be a non-negative integer, got ${opts.prefetch}`);
    const shuffleBlock = opts.shuffleBlock ?? 1;
    if (!Number.isInteger(shuffleBlock) || shuffleBlock < 1)
      throw new FeatureStoreError(`loader: shuffleBlock must be a positive integer, got ${shuffleBlock}`);
    const resolved: Resolved = {
      shuffle: opts.shuffle ?? true,
      shuffleBlock,
      seed: opts.seed ?? dataset.spec.seed,
      prefetch: opts.prefetch ?? (opts.reuseBuffers ? 0 : 4),
      dropRemainder: opts.dropRemainder ?? false,
      takeRows: opts.takeRows ?? 256,
      cache: cacheMode,
      verifyCache: opts.verifyCache ?? 'full',
      readThreads: opts.readThreads ?? 0,
      reuseBuffers: opts.reuseBuffers ?? false,
      ...(opts.cacheDir !== undefined ? { cacheDir: opts.cacheDir } : {}),
    };
    const rowIds = await dataset.splitRowIds(split);
    const cache =
      cacheMode === 'auto'
        ? await TrainingReadCache.openOrBuild(dataset, { channels, label, scalars }, split, rowIds, {
            ...(resolved.cacheDir !== undefined ? { dir: resolved.cacheDir } : {}),
            verify: resolved.verifyCache,
            readThreads: resolved.readThreads,
          })
        : undefined;
    return new TrainingDataLoader(dataset, rowIds, resolved, split, batchSize, channels, label, scalars, cache);
  }

  get size(): number {
    return this.rowIds.length;
  }

  get batchesPerEpoch(): number {
    return this.opts.dropRemainder ? Math.floor(this.size / this.batchSize) : Math.ceil(this.size / this.batchSize);
  }

  /** Row ids of an epoch in the order they are served. */
  epochOrder(epoch: number): number[] {
    return this.epochPositions(epoch).map((p) => this.rowIds[p]!);
  }

  /** Positions in split order (cache record indices) of an epoch, in the order they are served. */
  private epochPositions(epoch: number): number[] {
    const n = this.rowIds.length;
    const block = this.opts.shuffleBlock;
    if (!this.opts.shuffle || block === 1) {
      const positions = Array.from({ length: n }, (_, i) => i);
      // The same swaps as shuffling the row ids themselves: the permutation depends only on length and seed.
      return this.opts.shuffle ? shuffleInPlace(positions, seededRandom(this.opts.seed + epoch)) : positions;
    }
    // Block shuffle: blocks of `block` adjacent positions, boundaries shifted by a seeded offset.
    const random = seededRandom(this.opts.seed + epoch);
    const offset = Math.floor(random() * block);
    const starts: number[] = offset > 0 ? [0] : [];
    for (let at = offset; at < n; at += block) starts.push(at);
    shuffleInPlace(starts, random);
    const positions = new Array<number>(n);
    let k = 0;
    for (const start of starts) {
      const end = start === 0 && offset > 0 ? offset : Math.min(start + block, n);
      for (let p = start; p < end; p++) positions[k++] = p;
    }
    return positions;
  }

  private usableCount(): number {
    const n = this.rowIds.length;
    return this.opts.dropRemainder ? n - (n % this.batchSize) : n;
  }

  private openTable(): Promise<Table> {
    this.table ??= this.dataset.openTable();
    return this.table;
  }

  private async readBatch(ids: number[]): Promise<RawBatch> {
    const table = await this.openTable();
    const columns = [...new Set([...this.channels, this.labelFeature, ...this.scalarFeatures])];
    const batches = await TrainingDataset.take(table, ids, columns);
    const [h, w, c] = this.sampleShape;
    const hw = h * w;
    const n = ids.length;
    const position = new Map<number, number>();
    ids.forEach((id, i) => position.set(id, i));
    const xs = new Float32Array(n * hw * c);
    const ys = new Float32Array(n);
    const scalars = Object.fromEntries(this.scalarFeatures.map((f) => [f, new Float32Array(n).fill(NaN)]));
    let got = 0;
    for (const b of batches as arrow.RecordBatch[]) {
      const rid = b.getChild('_rowid')!;
      const label = b.getChild(this.labelFeature)!;
      const scalarCols = this.scalarFeatures.map((f) => [scalars[f]!, b.getChild(f)!] as const);
      const bands = channelSources(b, this.channels, hw);
      for (let r = 0; r < b.numRows; r++) {
        const at = position.get(Number(rid.get(r) as bigint));
        if (at === undefined)
          throw new FeatureStoreError(`loader: Lance returned row id ${String(rid.get(r))} that was not asked for`);
        ys[at] = Number(label.get(r));
        for (const [out, col] of scalarCols) {
          const v = col.get(r) as number | bigint | boolean | null;
          out[at] = v === null ? NaN : Number(v);
        }
        stackRow(bands, r, hw, xs, at * hw * c);
        got++;
      }
    }
    if (got !== n)
      throw new FeatureStoreError(`loader: asked ${n} rows of ${this.dataset.label}, Lance returned ${got}`);
    return { size: n, xs, ys, rowIds: ids, scalars };
  }

  /**
   * One epoch of batches as typed arrays, about `prefetch` batches read ahead. Each batch's arrays
   * are its own (fresh memory): keep, change or hand them to `tf.tensor` freely — unless the loader
   * was made with `reuseBuffers`, where `xs` is valid until the next batch is asked for.
   */
  async *rawBatches(epoch = 0): AsyncGenerator<RawBatch> {
    const ring = this.cache ? this.ring() : undefined;
    try {
      yield* this.cache ? this.cachedBatches(this.cache, epoch, ring) : this.lanceBatches(epoch);
    } finally {
      this.giveBack(ring);
    }
  }

  /**
   * A ring for one epoch: one an earlier epoch gave back, else a new one. Keeping rings across
   * epochs saves faulting fresh batch memory in every epoch (dear on this VM, whose freed memory
   * goes back to the host); epochs iterated at the same time still get rings of their own.
   */
  private ring(): BatchBufferRing | undefined {
    if (!this.opts.reuseBuffers || this.opts.readThreads > 0) return undefined;
    const spare = this.spareRings.pop();
    if (spare) return spare;
    const [h, w, c] = this.sampleShape;
    return new BatchBufferRing(this.opts.prefetch + 1, this.batchSize * h * w * c);
  }

  /** A batch's labels, scalar inputs and row ids (small: gathered from memory). */
  private batchExtras(
    cache: TrainingReadCache,
    positions: readonly number[],
    start: number,
    end: number,
  ): Pick<RawBatch, 'ys' | 'rowIds' | 'scalars'> {
    const n = end - start;
    const ys = new Float32Array(n);
    const rowIds = new Array<number>(n);
    const labels = cache.labels;
    for (let k = 0; k < n; k++) {
      const p = positions[start + k]!;
      ys[k] = labels[p]!;
      rowIds[k] = this.rowIds[p]!;
    }
    const scalars: Record<string, Float32Array> = {};
    for (const f of this.scalarFeatures) {
      const column = cache.scalars.get(f)!;
      const out = new Float32Array(n);
      for (let k = 0; k < n; k++) out[k] = column[positions[start + k]!]!;
      scalars[f] = out;
    }
    return { ys, rowIds, scalars };
  }

  private giveBack(ring: BatchBufferRing | undefined): void {
    if (ring && this.spareRings.length < 2) this.spareRings.push(ring);
  }

  /**
   * Batches from the training-read cache, read on this thread: one positional read per sample into
   * the batch's memory (a ring slot, or fresh memory), no intermediate copy. Reads ahead in idle
   * event-loop turns, up to `prefetch` batches. With a ring of prefetch + 1 slots, batch k goes to
   * slot k mod (prefetch + 1): a read-ahead takes the slot of a batch the consumer is done with (it
   * has asked for a later one). A consumer that asks before the read-ahead ran gets the batch read
   * right then (no event-loop hop per batch).
   */
  private async *cachedBatches(
    cache: TrainingReadCache,
    epoch: number,
    ring: BatchBufferRing | undefined,
  ): AsyncGenerator<RawBatch> {
    if (this.opts.readThreads > 0) {
      yield* this.threadedBatches(cache, epoch);
      return;
    }
    const positions = this.epochPositions(epoch);
    const usable = this.usableCount();
    const depth = this.opts.prefetch;
    const floats = this.sampleShape[0] * this.sampleShape[1] * this.sampleShape[2];
    const ready: RawBatch[] = [];
    let next = 0;
    let k = 0;
    let failure: { error: unknown } | undefined;
    let timer: NodeJS.Immediate | undefined;
    const readOne = (): void => {
      const start = next;
      const end = Math.min(start + this.batchSize, usable);
      const into = ring ? ring.acquire(k++) : batchMemory((end - start) * floats);
      const xs = cache.readRecordsNow(positions, start, end, into);
      next = end;
      ready.push({ size: end - start, xs, ...this.batchExtras(cache, positions, start, end) });
    };
    const readAhead = (): void => {
      timer = undefined;
      if (failure || ready.length >= depth || next >= usable) return;
      try {
        readOne();
      } catch (error) {
        failure = { error }; // surfaced when the consumer asks for the batch
        return;
      }
      if (ready.length < depth && next < usable) timer = setImmediate(readAhead);
    };
    try {
      while (next < usable || ready.length > 0) {
        if (ready.length === 0) {
          if (failure) throw failure.error;
          readOne();
        }
        const batch = ready.shift()!;
        timer ??= next < usable && depth > 0 ? setImmediate(readAhead) : undefined;
        yield batch;
      }
    } finally {
      if (timer) clearImmediate(timer);
    }
  }

  /** Batches read by reader threads (option `readThreads`), `prefetch` batches asked ahead. */
  private async *threadedBatches(cache: TrainingReadCache, epoch: number): AsyncGenerator<RawBatch> {
    const positions = this.epochPositions(epoch);
    const usable = this.usableCount();
    const inFlight: Promise<RawBatch>[] = [];
    let next = 0;
    const fill = (): void => {
      while (inFlight.length < Math.max(1, this.opts.prefetch) && next < usable) {
        const start = next;
        const end = Math.min(next + this.batchSize, usable);
        next = end;
        const extras = this.batchExtras(cache, positions, start, end);
        const batch = cache
          .readRecords(positions.slice(start, end))
          .then((xs): RawBatch => ({ size: end - start, xs, ...extras }));
        batch.catch(() => undefined); // surfaced when awaited below
        inFlight.push(batch);
      }
    };
    fill();
    while (inFlight.length > 0) {
      const ready = await inFlight.shift()!;
      fill(); // keep the reader threads busy while the consumer works on this one
      yield ready;
    }
  }

  private async *lanceBatches(epoch: number): AsyncGenerator<RawBatch> {
    const order = this.epochOrder(epoch);
    const usable = this.usableCount();
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
        const scalars = Object.fromEntries(Object.entries(rows.scalars).map(([f, v]) => [f, v.subarray(s, e)]));
        yield {
          size: e - s,
          xs: rows.xs.subarray(s * sample, e * sample),
          ys: rows.ys.subarray(s, e),
          rowIds: rows.rowIds.slice(s, e),
          scalars,
        };
      }
    }
  }

  /**
   * One epoch of `{xs: [b,H,W,C], ys: [b,1]}` tensors; dispose them after use (fitDataset does).
   * Each wraps its batch's arrays (tfjs-node shares their memory; no copy here): fresh ones, or
   * with `reuseBuffers` a ring slot that is reused only once the tensor is disposed.
   */
  async *batches(tf: Tf, epoch = 0): AsyncGenerator<{ xs: Tensor4D; ys: Tensor2D }> {
    const [h, w, c] = this.sampleShape;
    const ring = this.cache ? this.ring() : undefined;
    const source = this.cache ? this.cachedBatches(this.cache, epoch, ring) : this.lanceBatches(epoch);
    let k = 0;
    try {
      for await (const b of source) {
        const xs = tf.tensor4d(b.xs, [b.size, h, w, c]);
        ring?.hold(k++, xs);
        yield { xs, ys: tf.tensor2d(b.ys, [b.size, 1]) };
      }
    } finally {
      this.giveBack(ring);
    }
  }

  /**
   * A tf.data.Dataset for `model.fitDataset`: each pass over it (each epoch) is a fresh shuffle,
   * epoch 0, 1, 2, ... in the order fitDataset iterates.
   */
  toTfDataset(tf: Tf): import('@tensorflow/tfjs-node').data.Dataset<{ xs: Tensor4D; ys: Tensor2D }> {
    let epoch = 0;
    // tf.data.generator accepts an async iterator; its TypeScript signature only says Iterator.
    const make = (): Iterator<{ xs: Tensor4D; ys: Tensor2D }> =>
      this.batches(tf, epoch++) as unknown as Iterator<{ xs: Tensor4D; ys: Tensor2D }>;
    return tf.data.generator(make);
  }

  async close(): Promise<void> {
    const t = this.table;
    this.table = undefined;
    if (t) (await t).close();
    await this.cache?.close();
  }
}
