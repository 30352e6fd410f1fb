/**
 * The training-read cache behind the loader: the same samples as Lance takes, rebuilt when stale or
 * corrupt, safe under concurrent builders, on SQLite + local folder and PostgreSQL + S3.
 */
import { createHash } from 'node:crypto';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnTs } from '../test-support/child-process';
import { STORE_BACKEND_KINDS, storeBackends } from '../test-support/store-backends';
import type { StoreOptions } from '../store';
import { FeatureStore } from './feature-store';
import { PATCH_SCHEMA, patches } from './fixtures.test-support';
import type { LoaderOptions, RawBatch } from './loader';
import { seededRandom, shuffleInPlace, type TrainingDataset } from './training-dataset';

const backends = storeBackends();
beforeAll(() => backends.start(), 180_000);
afterAll(async () => {
  await new Promise((r) => setTimeout(r, 300)); // let pg clients' sockets close first (see backends.test.ts)
  await backends.stop();
});

const bytes = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

async function epoch(
  td: TrainingDataset,
  opts: LoaderOptions,
  e: number,
): Promise<{ batches: RawBatch[]; source: unknown }> {
  const loader = await td.loader(opts);
  try {
    const batches: RawBatch[] = [];
    for await (const b of loader.rawBatches(e)) batches.push(b);
    return { batches, source: loader.source };
  } finally {
    await loader.close();
  }
}

function expectSameBatches(a: RawBatch[], b: RawBatch[]): void {
  expect(a.map((x) => x.size)).toEqual(b.map((x) => x.size));
  a.forEach((x, i) => {
    const y = b[i]!;
    expect(x.rowIds).toEqual(y.rowIds);
    // Bit for bit: tensors, labels and scalar inputs (NaN for a null angle included).
    expect(bytes(x.xs).equals(bytes(y.xs))).toBe(true);
    expect(bytes(x.ys).equals(bytes(y.ys))).toBe(true);
    expect(Object.keys(x.scalars)).toEqual(Object.keys(y.scalars));
    for (const k of Object.keys(x.scalars)) expect(bytes(x.scalars[k]!).equals(bytes(y.scalars[k]!))).toBe(true);
  });
}

async function makeDataset(options: StoreOptions): Promise<{ store: FeatureStore; td: TrainingDataset }> {
  const store = await FeatureStore.open(options);
  const g = await store.createFeatureGroup({ name: 'patches', schema: PATCH_SCHEMA, primaryKey: 'id' });
  await g.insert(patches(25, 5, 'a'));
  await g.insert(patches(18, 6, 'b'));
  const td = await store.createTrainingDataset({
    name: 'ice',
    featureGroup: g,
    features: ['band_1', 'band_2', 'inc_angle'],
    label: 'is_iceberg',
    splits: { train: 0.7, validation: 0.3 },
    seed: 4,
  });
  await g.insert(patches(5, 7, 'late')); // after freezing: must not show up
  return { store, td };
}

describe.each(STORE_BACKEND_KINDS)('training-read cache on %s', (kind) => {
  it('serves exactly the samples of the Lance path, batch for batch, and is reused once built', async () => {
    const { store, td } = await makeDataset(await backends.freshOptions(kind));
    try {
      const base: LoaderOptions = { batchSize: 4, scalars: ['inc_angle'], prefetch: 3 };
      for (const split of ['train', 'validation']) {
        const lance0 = await epoch(td, { ...base, split, cache: 'off' }, 0);
        const cached0 = await epoch(td, { ...base, split }, 0);
        expect(lance0.source).toEqual({ kind: 'lance' });
        expect(cached0.source).toMatchObject({ kind: 'cache', state: 'built', reason: 'missing' });
        expectSameBatches(cached0.batches, lance0.batches);
        // Another epoch, another order, the same rows; and a second loader finds the cache.
        const lance1 = await epoch(td, { ...base, split, cache: 'off' }, 1);
        const cached1 = await epoch(td, { ...base, split }, 1);
        expect(cached1.source).toMatchObject({ kind: 'cache', state: 'hit' });
        expectSameBatches(cached1.batches, lance1.batches);
        const ids = (bs: RawBatch[]): number[] => bs.flatMap((b) => b.rowIds);
        expect(ids(cached1.batches)).not.toEqual(ids(cached0.batches));
        expect([...ids(cached1.batches)].sort((a, b) => a - b)).toEqual(await td.splitRowIds(split));
      }
      // Unshuffled, dropping the remainder, one channel: a separate cache, still the same samples.
      const one: LoaderOptions = { batchSize: 5, shuffle: false, dropRemainder: true, channels: ['band_2'] };
      const lance = await epoch(td, { ...one, cache: 'off' }, 0);
      const cached = await epoch(td, one, 0);
      expect(cached.source).toMatchObject({ state: 'built' });
      expect(cached.batches.map((b) => b.size)).toEqual([5, 5, 5, 5, 5, 5]);
      expectSameBatches(cached.batches, lance.batches);
      // Lives in the local home whatever the backend (random access needs a local file).
      expect(
        (cached.source as { file: string }).file.startsWith(path.join(store.store.home, 'cache', 'training-reads')),
      ).toBe(true);
    } finally {
      await store.close();
    }
  }, 120_000);
});

describe('training-read cache: stale, corrupt and concurrent (sqlite + local)', () => {
  let store: FeatureStore;
  let td: TrainingDataset;
  let options: StoreOptions;
  let reference: RawBatch[];
  const opts: LoaderOptions = { batchSize: 7, scalars: ['inc_angle'] };

  beforeAll(async () => {
    options = await backends.freshOptions('sqlite+local');
    ({ store, td } = await makeDataset(options));
    reference = (await epoch(td, { ...opts, cache: 'off' }, 0)).batches;
  }, 60_000);
  afterAll(() => store?.close());

  async function cacheFile(): Promise<string> {
    const first = await epoch(td, opts, 0);
    expectSameBatches(first.batches, reference);
    return (first.source as { file: string }).file;
  }

  /** Changes one byte of the file, then expects the next loader to rebuild it for `reason`. */
  async function expectRebuiltAfter(
    file: string,
    at: (size: number, headerJson: number) => number,
    reason: RegExp,
  ): Promise<void> {
    const fd = fs.openSync(file, 'r+');
    const head = Buffer.alloc(12);
    fs.readSync(fd, head, 0, 12, 0);
    const where = at(fs.fstatSync(fd).size, head.readUInt32LE(8));
    const b = Buffer.alloc(1);
    fs.readSync(fd, b, 0, 1, where);
    b[0] = b[0]! ^ 0x5a;
    fs.writeSync(fd, b, 0, 1, where);
    fs.closeSync(fd);
    const again = await epoch(td, opts, 0);
    expect(again.source).toMatchObject({ kind: 'cache', state: 'built' });
    expect((again.source as { reason: string }).reason).toMatch(reason);
    expectSameBatches(again.batches, reference);
    expect((await epoch(td, opts, 0)).source).toMatchObject({ state: 'hit' });
  }

  it('rebuilds a cache whose header, header checksum or data was damaged', async () => {
    const file = await cacheFile();
    await expectRebuiltAfter(file, () => 40, /header checksum mismatch/); // inside the header JSON
    await expectRebuiltAfter(file, (_, json) => 12 + json + 5, /header checksum mismatch/); // the checksum itself
    await expectRebuiltAfter(file, () => 4, /bad magic/);
    await expectRebuiltAfter(file, (size) => size - 2, /content checksum mismatch/); // a scalar input (the last column)
    await expectRebuiltAfter(file, (size) => Math.floor(size / 2), /content checksum mismatch/); // a pixel
    // With header-only checks, damaged data is not looked for: the cheaper, weaker option.
    expect((await epoch(td, { ...opts, verifyCache: 'header' }, 0)).source).toMatchObject({ state: 'hit' });
  }, 120_000);

  it('rebuilds a truncated cache, and one whose (validly checksummed) header is stale', async () => {
    const file = await cacheFile();
    fs.truncateSync(file, fs.statSync(file).size - 100);
    const truncated = await epoch(td, opts, 0);
    expect((truncated.source as { reason: string }).reason).toMatch(/truncated/);
    expectSameBatches(truncated.batches, reference);

    // A well-formed header for other frozen data (another Lance version): stale, not corrupt.
    const fd = fs.openSync(file, 'r+');
    const head = Buffer.alloc(12);
    fs.readSync(fd, head, 0, 12, 0);
    const jsonBytes = head.readUInt32LE(8);
    const json = Buffer.alloc(jsonBytes);
    fs.readSync(fd, json, 0, jsonBytes, 12);
    const header = JSON.parse(json.toString('utf8')) as { identity: string };
    header.identity = 'f'.repeat(64);
    const stale = Buffer.alloc(jsonBytes, 0x20);
    Buffer.from(JSON.stringify(header)).copy(stale);
    fs.writeSync(fd, stale, 0, jsonBytes, 12);
    fs.writeSync(fd, createHash('sha256').update(stale).digest(), 0, 32, 12 + jsonBytes);
    fs.closeSync(fd);
    const rebuilt = await epoch(td, opts, 0);
    expect((rebuilt.source as { reason: string }).reason).toMatch(/^stale: identity/);
    expectSameBatches(rebuilt.batches, reference);
  }, 120_000);

  it('ignores a dead builder: its lock and half-written temp file never become the cache', async () => {
    const file = await cacheFile();
    fs.rmSync(file);
    // What a builder killed mid-write leaves: a lock naming a dead process, a partial temp file.
    const dead = 2 ** 22 + 12345; // above pid_max defaults: no such process
    fs.writeFileSync(`${file}.lock`, JSON.stringify({ host: os.hostname(), pid: dead, token: 'x' }));
    const hostTag = createHash('sha256').update(os.hostname()).digest('hex').slice(0, 8);
    const temp = `${file}.tmp-${hostTag}-${dead}-abcd`;
    fs.writeFileSync(temp, Buffer.alloc(5000, 1));
    const again = await epoch(td, opts, 0);
    expect(again.source).toMatchObject({ state: 'built', reason: 'missing' });
    expectSameBatches(again.batches, reference);
    expect(fs.existsSync(temp)).toBe(false);
    expect(fs.existsSync(`${file}.lock`)).toBe(false);
  }, 60_000);

  it('concurrent builders in three processes build it once and all read the same samples', async () => {
    const td2 = await store.createTrainingDataset({
      name: 'race',
      featureGroup: td.featureGroup,
      commit: 2,
      features: ['band_1', 'band_2', 'inc_angle'],
      label: 'is_iceberg',
      splits: { train: 1 },
      seed: 9,
    });
    const startAt = Date.now() + 8_000; // after both children have loaded
    const children = [0, 1].map(() =>
      spawnTs(path.join(__dirname, 'read-cache-child.test-support.ts'), [
        JSON.stringify(options),
        'race',
        String(startAt),
      ]),
    );
    await new Promise((r) => setTimeout(r, Math.max(0, startAt - Date.now())));
    const here = await epoch(td2, { batchSize: 7, scalars: ['inc_angle'] }, 0);
    const results = await Promise.all(children.map((c) => c.done));
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const outcomes = [
      here.source as { state: string; file: string },
      ...results.map(
        (r) => (JSON.parse(r.stdout.trim().split('\n').pop()!) as { source: { state: string; file: string } }).source,
      ),
    ];
    expect(new Set(outcomes.map((o) => o.file)).size).toBe(1);
    expect(outcomes.filter((o) => o.state === 'built')).toHaveLength(1);
    const digests = results.map((r) => (JSON.parse(r.stdout.trim().split('\n').pop()!) as { digest: string }).digest);
    const hash = createHash('sha256');
    for (const b of here.batches) {
      hash.update(bytes(b.xs));
      hash.update(bytes(b.ys));
    }
    expect(digests).toEqual([hash.digest('hex'), digests[0]]);
    const lance = await epoch(td2, { batchSize: 7, scalars: ['inc_angle'], cache: 'off' }, 0);
    expectSameBatches(here.batches, lance.batches);
    // Nothing left behind but the cache itself.
    expect(fs.readdirSync(path.dirname(outcomes[0]!.file)).filter((n) => /\.(lock|tmp-)/.test(n))).toEqual([]);
  }, 180_000);

  it('reuseBuffers: the same samples from one buffer, or prefetch + 1 rotating ones; a kept tensor keeps its memory', async () => {
    // Typed arrays: each batch equals the fresh-memory batch while it is current. By default (no
    // read-ahead) every batch is read into the same buffer; with prefetch N, xs rotates through
    // N + 1 buffers, also when the consumer leaves idle turns for the read-ahead to run in.
    for (const { prefetch, idle } of [
      { prefetch: undefined, idle: false },
      { prefetch: 1, idle: false },
      { prefetch: 2, idle: true },
    ]) {
      const rotating = await td.loader({
        ...opts,
        reuseBuffers: true,
        ...(prefetch !== undefined ? { prefetch } : {}),
      });
      try {
        const seen: Float32Array[] = [];
        let k = 0;
        for await (const b of rotating.rawBatches(0)) {
          const ref = reference[k++]!;
          expect(b.rowIds).toEqual(ref.rowIds);
          expect(bytes(b.xs).equals(bytes(ref.xs))).toBe(true);
          expect(bytes(b.ys).equals(bytes(ref.ys))).toBe(true);
          expect(bytes(b.scalars.inc_angle!).equals(bytes(ref.scalars.inc_angle!))).toBe(true);
          seen.push(b.xs);
          if (idle) await new Promise((r) => setTimeout(r, 2)); // read-ahead runs meanwhile
        }
        expect(k).toBe(reference.length);
        const slots = (prefetch ?? 0) + 1;
        expect(new Set(seen.map((xs) => xs.buffer)).size).toBe(slots);
        seen.forEach((xs, i) => expect(xs.buffer).toBe(seen[i % slots]!.buffer));
      } finally {
        await rotating.close();
      }
    }

    const loader = await td.loader({ ...opts, reuseBuffers: true });
    try {
      // A later epoch reuses the ring of an ended one; two epochs iterated at once each get their own.
      const firstBuffer = async (e: number): Promise<ArrayBufferLike> => {
        for await (const b of loader.rawBatches(e)) return b.xs.buffer;
        throw new Error('no batch');
      };
      expect(await firstBuffer(1)).toBe(await firstBuffer(2));
      const a = loader.rawBatches(0);
      const b = loader.rawBatches(0);
      for (const ref of reference) {
        const [x, y] = [(await a.next()).value as RawBatch, (await b.next()).value as RawBatch];
        expect(x.xs.buffer).not.toBe(y.xs.buffer);
        expect(bytes(x.xs).equals(bytes(ref.xs)) && bytes(y.xs).equals(bytes(ref.xs))).toBe(true);
      }
      expect((await a.next()).done && (await b.next()).done).toBe(true);

      // Tensors: disposed ones give their buffer back; a kept one keeps its values for good.
      const { loadTf } = await import('../training/backend');
      const tf = loadTf();
      const [h, w, c] = loader.sampleShape;
      const kept: { values: Float32Array; tensor: import('@tensorflow/tfjs-node').Tensor4D }[] = [];
      let i = 0;
      for await (const { xs, ys } of loader.batches(tf, 0)) {
        ys.dispose();
        if (i++ % 3 === 0) kept.push({ values: reference[i - 1]!.xs, tensor: xs });
        else xs.dispose();
      }
      expect(kept.length).toBeGreaterThan(1);
      for (const { values, tensor } of kept) {
        expect(tensor.shape).toEqual([values.length / (h * w * c), h, w, c]);
        expect(bytes(tensor.dataSync() as Float32Array).equals(bytes(values))).toBe(true);
        tensor.dispose();
      }
    } finally {
      await loader.close();
    }
  });

  it('every read mode serves each sample once per epoch, in the seeded order, with the Lance path bytes', async () => {
    const split = await td.splitRowIds('train');
    const lance3 = (await epoch(td, { ...opts, cache: 'off' }, 3)).batches;
    for (const [e, lanceBatches] of [
      [0, reference],
      [3, lance3],
    ] as const) {
      // The contract: epoch e is a Fisher-Yates shuffle of the split positions by mulberry32(seed + e).
      const expected = shuffleInPlace(
        split.map((_, i) => i),
        seededRandom(td.spec.seed + e),
      ).map((p) => split[p]!);
      for (const mode of [
        {},
        { prefetch: 0 },
        { reuseBuffers: true },
        { reuseBuffers: true, prefetch: 2 },
        { readThreads: 1 },
      ] satisfies LoaderOptions[]) {
        const loader = await td.loader({ ...opts, ...mode });
        try {
          const order: number[] = [];
          let k = 0;
          for await (const b of loader.rawBatches(e)) {
            const ref = lanceBatches[k++]!;
            expect(b.rowIds).toEqual(ref.rowIds);
            expect(bytes(b.xs).equals(bytes(ref.xs))).toBe(true);
            expect(bytes(b.ys).equals(bytes(ref.ys))).toBe(true);
            order.push(...b.rowIds);
          }
          expect(k).toBe(lanceBatches.length);
          expect(order).toEqual(expected);
          expect(new Set(order).size).toBe(split.length);
        } finally {
          await loader.close();
        }
      }
    }
    await expect(td.loader({ prefetch: -1 })).rejects.toThrow(/prefetch must be a non-negative integer, got -1/);
  });

  it('shuffleBlock: every sample once per epoch in runs of adjacent records, the same on both read paths', async () => {
    const block: LoaderOptions = { ...opts, shuffleBlock: 4 };
    const lance = await epoch(td, { ...block, cache: 'off' }, 0);
    const cached = await epoch(td, block, 0);
    expectSameBatches(cached.batches, lance.batches);
    const split = await td.splitRowIds('train');
    const at = new Map(split.map((id, i) => [id, i]));
    const order = (bs: RawBatch[]): number[] => bs.flatMap((b) => b.rowIds.map((id) => at.get(id)!));
    const e0 = order(cached.batches);
    expect([...e0].sort((a, b) => a - b)).toEqual(split.map((_, i) => i));
    // Runs of adjacent split positions, at most 4 long, and not in split order overall.
    const runs: number[][] = [];
    for (const p of e0) {
      const last = runs[runs.length - 1];
      if (last && p === last[last.length - 1]! + 1 && last.length < 4) last.push(p);
      else runs.push([p]);
    }
    expect(runs.every((r) => r.length <= 4)).toBe(true);
    expect(runs.filter((r) => r.length === 4).length).toBeGreaterThanOrEqual(Math.floor(split.length / 4) - 2);
    expect(e0).not.toEqual([...e0].sort((a, b) => a - b));
    // Another epoch: another block order (and boundaries), the same samples.
    const e1 = order((await epoch(td, block, 1)).batches);
    expect(e1).not.toEqual(e0);
    expect([...e1].sort((a, b) => a - b)).toEqual(split.map((_, i) => i));
    await expect(td.loader({ shuffleBlock: 0 })).rejects.toThrow(/shuffleBlock must be a positive integer, got 0/);
  });

  it('names what is wrong with a scalar input or cache mode', async () => {
    await expect(td.loader({ scalars: ['band_1'] })).rejects.toThrow(/scalar input 'band_1' is not a scalar feature/);
    await expect(td.loader({ scalars: ['id'] })).rejects.toThrow(
      /'id' is not among training dataset 'ice' v1's features/,
    );
    await expect(td.loader({ cache: 'sometimes' as 'auto' })).rejects.toThrow(/cache must be 'auto' or 'off'/);
  });
});
