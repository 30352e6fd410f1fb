/**
 * `floe bench featurestore`: feature store ingest and shuffled training reads on ≥ 20,000 synthetic
 * SAR patches (75×75, HH + HV, float32), each against a raw sequential read of the same bytes.
 *
 * Reference: the band bytes of every patch written to one plain file in this run, then read front to
 * back in 8 MiB reads. Page caches cannot be dropped here (no root-only knobs assumed), so both that
 * file and the Lance data were written in this run and are read warm: the comparison is between
 * access paths, not disks. Ratio = shuffled loader MB/s ÷ raw sequential MB/s (goal ≥ 0.5). Also: the
 * loader's patches/s against LeNet training samples/s on the same machine (goal ≥ 10×).
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { parseArgs } from '../cli/main';
import { FeatureStore } from '../feature-store/feature-store';
import type { FeatureSchema } from '@floe/schema';
import { SyntheticSarGenerator } from '../ingest/synthetic';
import type { StatoilRecord } from '../ingest/statoil';
import { loadTf, tensorflowInfo } from '../training/backend';
import { buildLenet } from '../training/models';
import { BENCH_GOALS } from './contract';
import type { BenchRunner } from './index';

const SCHEMA: FeatureSchema = [
  { name: 'id', kind: 'scalar', dtype: 'string', nullable: false, description: '' },
  { name: 'band_1', kind: 'tensor', dtype: 'float32', shape: [75, 75], nullable: false, unit: 'dB', description: 'HH' },
  { name: 'band_2', kind: 'tensor', dtype: 'float32', shape: [75, 75], nullable: false, unit: 'dB', description: 'HV' },
  { name: 'inc_angle', kind: 'scalar', dtype: 'float64', nullable: true, description: '' },
  { name: 'is_iceberg', kind: 'scalar', dtype: 'int32', nullable: false, description: '' },
];

const MB = 1e6;

function rawSequentialRead(file: string): { seconds: number; bytes: number } {
  const fd = fs.openSync(file, 'r');
  const buf = Buffer.allocUnsafe(8 << 20);
  let bytes = 0;
  let checksum = 0;
  const t0 = process.hrtime.bigint();
  try {
    for (;;) {
      const n = fs.readSync(fd, buf, 0, buf.length, null);
      if (n === 0) break;
      bytes += n;
      checksum ^= buf[n - 1]!; // touch the data so the read cannot be skipped
    }
  } finally {
    fs.closeSync(fd);
  }
  void checksum;
  return { seconds: Number(process.hrtime.bigint() - t0) / 1e9, bytes };
}

export const benchFeaturestore: BenchRunner = async (args, log) => {
  const { options } = parseArgs(args);
  const count = Number(options.count ?? 20_000);
  const batchSize = Number(options['batch-size'] ?? 64);
  const prefetch = Number(options.prefetch ?? 8);
  const seed = Number(options.seed ?? 7);
  if (!Number.isInteger(count) || count < 1) throw new Error(`bench featurestore: --count must be a positive integer, got ${options.count}`);
  const home = fs.mkdtempSync(path.join(typeof options.dir === 'string' ? options.dir : os.tmpdir(), 'floe-bench-fs-'));
  const store = await FeatureStore.open({ home });
  try {
    log(`featurestore bench: ${count} synthetic patches (75x75x2 float32) in ${home}`);
    const tg = Date.now();
    const records: StatoilRecord[] = [];
    for (const r of new SyntheticSarGenerator({ seed, count }).records()) records.push(r);
    log(`generated ${count} patches in ${((Date.now() - tg) / 1000).toFixed(1)} s (not timed below)`);
    const patchBytes = 2 * 75 * 75 * 4;
    const totalBytes = count * patchBytes;

    // Ingest: one streamed commit (validation-free group; statistics, key checks and Lance writes timed).
    const group = await store.createFeatureGroup({ name: 'bench_patches', schema: SCHEMA, primaryKey: 'id' });
    const chunk = 1000;
    async function* chunks(): AsyncIterable<Record<string, unknown>[]> {
      for (let i = 0; i < records.length; i += chunk) {
        yield records.slice(i, i + chunk).map((r) => ({ ...r, is_iceberg: r.is_iceberg ?? 0 }));
      }
    }
    const ti = process.hrtime.bigint();
    const commit = await group.insert(chunks(), { chunkRows: chunk });
    const ingestSeconds = Number(process.hrtime.bigint() - ti) / 1e9;
    log(`ingest: ${commit.rowsInserted} patches in ${ingestSeconds.toFixed(2)} s = ${(totalBytes / MB / ingestSeconds).toFixed(0)} MB/s, ${(count / ingestSeconds).toFixed(0)} patches/s`);

    // Raw reference: the same band bytes in one plain file, written now, read sequentially.
    const rawFile = path.join(home, 'raw-bands.bin');
    const fd = fs.openSync(rawFile, 'w');
    const tw = process.hrtime.bigint();
    for (const r of records) {
      fs.writeSync(fd, new Uint8Array(r.band_1.buffer, r.band_1.byteOffset, r.band_1.byteLength));
      fs.writeSync(fd, new Uint8Array(r.band_2.buffer, r.band_2.byteOffset, r.band_2.byteLength));
    }
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    const rawWriteSeconds = Number(process.hrtime.bigint() - tw) / 1e9;
    records.length = 0; // the loader must not lean on these
    rawSequentialRead(rawFile); // warm, like the Lance files the ingest just wrote
    const raw = rawSequentialRead(rawFile);
    const rawMBs = raw.bytes / MB / raw.seconds;
    log(`raw sequential read: ${(raw.bytes / MB).toFixed(0)} MB in ${raw.seconds.toFixed(3)} s = ${rawMBs.toFixed(0)} MB/s (page cache warm, same run)`);

    // Shuffled training reads through the loader (Lance takes, channels stacked, tfjs tensors).
    const td = await store.createTrainingDataset({
      name: 'bench_all',
      featureGroup: group,
      features: ['band_1', 'band_2'],
      label: 'is_iceberg',
      splits: { train: 1 },
      seed,
    });
    const tf = loadTf();
    const loader = await td.loader({ batchSize, prefetch });
    // One short warm-up pass over a few batches (opens the table, JIT).
    let warm = 0;
    for await (const _ of loader.rawBatches(99)) if (++warm >= 5) break;
    let served = 0;
    const tl = process.hrtime.bigint();
    for await (const { xs, ys } of loader.batches(tf, 0)) {
      served += xs.shape[0];
      xs.dispose();
      ys.dispose();
    }
    const loaderSeconds = Number(process.hrtime.bigint() - tl) / 1e9;
    const loaderMBs = (served * patchBytes) / MB / loaderSeconds;
    const loaderPatches = served / loaderSeconds;
    log(`shuffled loader: ${served} patches in ${loaderSeconds.toFixed(2)} s = ${loaderMBs.toFixed(0)} MB/s, ${loaderPatches.toFixed(0)} patches/s (batch ${batchSize}, prefetch ${prefetch})`);

    // Training consumption: LeNet on batches already in memory.
    const model = buildLenet({ inputShape: [75, 75, 2] });
    model.compile({ optimizer: tf.train.adam(1e-3), loss: 'binaryCrossentropy' });
    const batches: { xs: import('@tensorflow/tfjs-node').Tensor4D; ys: import('@tensorflow/tfjs-node').Tensor2D }[] = [];
    for await (const b of loader.batches(tf, 1)) {
      batches.push(b);
      if (batches.length >= 22) break;
    }
    await loader.close();
    for (const b of batches.slice(0, 2)) await model.trainOnBatch(b.xs, b.ys);
    const tt = process.hrtime.bigint();
    let trained = 0;
    for (const b of batches.slice(2)) {
      await model.trainOnBatch(b.xs, b.ys);
      trained += b.xs.shape[0];
    }
    const trainSeconds = Number(process.hrtime.bigint() - tt) / 1e9;
    const trainSamples = trained / trainSeconds;
    for (const b of batches) {
      b.xs.dispose();
      b.ys.dispose();
    }
    model.dispose();
    log(`LeNet training consumes ${trainSamples.toFixed(0)} samples/s (${tensorflowInfo().device}); loader is ${(loaderPatches / trainSamples).toFixed(1)}x that`);

    return {
      bench: 'featurestore',
      ratio: loaderMBs / rawMBs,
      ...BENCH_GOALS.featurestore,
      patches: count,
      bytes: totalBytes,
      ingest: { seconds: ingestSeconds, mbPerS: totalBytes / MB / ingestSeconds, patchesPerS: count / ingestSeconds, ratioToRawRead: totalBytes / MB / ingestSeconds / rawMBs },
      rawSequentialRead: { mbPerS: rawMBs, seconds: raw.seconds, note: 'file written in this run; page cache warm (cannot drop caches)' },
      rawSequentialWrite: { mbPerS: totalBytes / MB / rawWriteSeconds },
      loader: { mbPerS: loaderMBs, patchesPerS: loaderPatches, batchSize, prefetch },
      training: { samplesPerS: trainSamples, model: 'LeNet 75x75x2', device: tensorflowInfo().device },
      loaderOverTraining: { ratio: loaderPatches / trainSamples, goal: 10 },
      reference: 'raw sequential read of the same band bytes from a file written in the same run',
      machine: `${os.cpus().length} x ${os.cpus()[0]?.model ?? 'cpu'}, ${(os.totalmem() / 2 ** 30).toFixed(0)} GiB`,
    };
  } finally {
    await store.close();
    if (options.keep !== true) fs.rmSync(home, { recursive: true, force: true });
  }
};
