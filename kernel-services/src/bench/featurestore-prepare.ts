/**
 * The preparation half of `floe bench featurestore`, run in a child process so that the process
 * measuring shuffled reads has not just generated, ingested and cached 900 MB (whose garbage and
 * fragmented heap made every later allocation dearer: the "same process state" for the read and
 * its reference). Here: generator throughput, ingest (in-memory records and a Statoil JSON file),
 * the Lance-take loader, the training-read cache build, and — to show that effect — the same read
 * measurements in this used process. Progress on stderr, one JSON line on stdout.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { FeatureSchema } from '@floe/schema';
import { FeatureStore } from '../feature-store/feature-store';
import { readCacheHeader } from '../feature-store/training-read-cache';
import { readStatoil, type StatoilRecord } from '../ingest/statoil';
import { SyntheticSarGenerator, writeSynthetic } from '../ingest/synthetic';
import { generateSyntheticParallel } from '../ingest/synthetic-parallel';
import { loadTf } from '../training/backend';
import { epochThrough, MB, rawSequentialRead, round, timer } from './featurestore-measure';

export const BENCH_SCHEMA: FeatureSchema = [
  { name: 'id', kind: 'scalar', dtype: 'string', nullable: false, description: '' },
  { name: 'band_1', kind: 'tensor', dtype: 'float32', shape: [75, 75], nullable: false, unit: 'dB', description: 'HH' },
  { name: 'band_2', kind: 'tensor', dtype: 'float32', shape: [75, 75], nullable: false, unit: 'dB', description: 'HV' },
  { name: 'inc_angle', kind: 'scalar', dtype: 'float64', nullable: true, description: '' },
  { name: 'is_iceberg', kind: 'scalar', dtype: 'int32', nullable: false, description: '' },
];

export const PATCH_BYTES = 2 * 75 * 75 * 4;
export const BENCH_GROUP = 'bench_patches';
export const BENCH_DATASET = 'bench_all';

export interface PrepareArgs {
  home: string;
  count: number;
  seed: number;
  batchSize: number;
  prefetch: number;
  withLance: boolean;
  /** Records in the Statoil JSON file ingested through the streaming reader (0: skip). */
  jsonCount: number;
}

export interface PrepareResult {
  generator: { patches: number; seconds: number; cpuSeconds: number; patchesPerS: number; patchesPerCpuS: number };
  generatorThreads: { threads: number; patches: number; seconds: number; patchesPerS: number; note: string };
  ingest: { seconds: number; cpuSeconds: number; mbPerS: number; mbPerCpuS: number; patchesPerS: number };
  jsonIngest: {
    records: number;
    jsonBytes: number;
    seconds: number;
    cpuSeconds: number;
    jsonMbPerS: number;
    floatMbPerS: number;
    patchesPerS: number;
    parseOnlyJsonMbPerS: number;
  } | null;
  lanceTakes: { mbPerS: number; patchesPerS: number; seconds: number } | null;
  cacheBuild: { seconds: number; file: string; fileBytes: number };
  /** One raw read and one shuffled epoch (reused and fresh batch memory) in this used process. */
  usedProcess: {
    rawMBs: number;
    reuseMBs: number;
    freshMBs: number;
    rawCpuMBs: number;
    reuseCpuMBs: number;
    freshCpuMBs: number;
  };
}

async function prepare(a: PrepareArgs, log: (line: string) => void): Promise<PrepareResult> {
  const store = await FeatureStore.open({ home: a.home });
  try {
    // Generator throughput on its own (records dropped as made, so nothing else is measured).
    const genCount = Math.min(a.count, 4000);
    const genDone = timer();
    let made = 0;
    for (const r of new SyntheticSarGenerator({ seed: a.seed + 1, count: genCount }).records())
      made += r.band_1.length > 0 ? 1 : 0;
    const gen = genDone();
    const generator = {
      patches: made,
      seconds: round(gen.seconds, 2),
      cpuSeconds: round(gen.cpuSeconds, 2),
      patchesPerS: round(made / gen.seconds),
      patchesPerCpuS: round(made / gen.cpuSeconds),
    };
    log(
      `generator: ${made} patches in ${gen.seconds.toFixed(2)} s = ${generator.patchesPerS} patches/s, ${generator.patchesPerCpuS} per CPU-second`,
    );
    // The same records from worker threads (generateSyntheticParallel: bit-identical, in order),
    // received here as records: the throughput of `floe generate` and of code that asks for threads.
    const threads = Math.min(8, os.availableParallelism());
    const parDone = timer();
    let parMade = 0;
    for await (const r of generateSyntheticParallel({ seed: a.seed + 1, count: genCount }, { threads }))
      parMade += r.band_1.length > 0 ? 1 : 0;
    const par = parDone();
    const generatorThreads = {
      threads,
      patches: parMade,
      seconds: round(par.seconds, 2),
      patchesPerS: round(parMade / par.seconds),
      note: 'wall clock; the main thread only receives the records',
    };
    log(
      `generator on ${threads} worker threads: ${parMade} patches in ${par.seconds.toFixed(2)} s = ${generatorThreads.patchesPerS} patches/s; load ${os.loadavg()[0]!.toFixed(1)}`,
    );

    const tg = Date.now();
    const records: StatoilRecord[] = [];
    for (const r of new SyntheticSarGenerator({ seed: a.seed, count: a.count }).records()) records.push(r);
    log(`generated ${a.count} patches for the ingest in ${((Date.now() - tg) / 1000).toFixed(1)} s (not timed below)`);
    const totalBytes = a.count * PATCH_BYTES;

    // Ingest: one streamed commit (no rule set; schema and key checks, statistics, Lance appends timed).
    const group = await store.createFeatureGroup({ name: BENCH_GROUP, schema: BENCH_SCHEMA, primaryKey: 'id' });
    const chunk = 1000;
    async function* chunks(): AsyncIterable<Record<string, unknown>[]> {
      for (let i = 0; i < records.length; i += chunk) {
        yield records.slice(i, i + chunk).map((r) => ({ ...r, is_iceberg: r.is_iceberg ?? 0 }));
      }
    }
    const ingestDone = timer();
    const commit = await group.insert(chunks(), { chunkRows: chunk });
    const ing = ingestDone();
    records.length = 0;
    const ingest = {
      seconds: round(ing.seconds, 2),
      cpuSeconds: round(ing.cpuSeconds, 2),
      mbPerS: round(totalBytes / MB / ing.seconds),
      mbPerCpuS: round(totalBytes / MB / ing.cpuSeconds),
      patchesPerS: round(commit.rowsInserted / ing.seconds),
    };
    log(
      `ingest: ${commit.rowsInserted} patches in ${ing.seconds.toFixed(2)} s = ${ingest.mbPerS} MB/s (${ingest.mbPerCpuS} MB per CPU-second), ${ingest.patchesPerS} patches/s`,
    );

    // The Statoil JSON path: a file written by the generator, read as a stream and inserted in
    // chunks of 500 records as `floe fs insert` does.
    let jsonIngest: PrepareResult['jsonIngest'] = null;
    if (a.jsonCount > 0) {
      const file = path.join(a.home, 'statoil-bench.json');
      await writeSynthetic(file, { seed: a.seed + 2, count: a.jsonCount });
      const jsonBytes = fs.statSync(file).size;
      const parseDone = timer();
      let parsed = 0;
      for await (const r of readStatoil(file)) parsed += r.band_1.length > 0 ? 1 : 0;
      const parse = parseDone();
      const jsonGroup = await store.createFeatureGroup({ name: 'bench_json', schema: BENCH_SCHEMA, primaryKey: 'id' });
      async function* fileChunks(): AsyncIterable<unknown[]> {
        let rows: unknown[] = [];
        for await (const r of readStatoil(file)) {
          rows.push(r);
          if (rows.length >= 500) {
            yield rows;
            rows = [];
          }
        }
        if (rows.length) yield rows;
      }
      const jsonDone = timer();
      const c = await jsonGroup.insert(fileChunks(), { chunkRows: 500 });
      const j = jsonDone();
      jsonIngest = {
        records: c.rowsInserted,
        jsonBytes,
        seconds: round(j.seconds, 2),
        cpuSeconds: round(j.cpuSeconds, 2),
        jsonMbPerS: round(jsonBytes / MB / j.seconds, 1),
        floatMbPerS: round((c.rowsInserted * PATCH_BYTES) / MB / j.seconds, 1),
        patchesPerS: round(c.rowsInserted / j.seconds),
        parseOnlyJsonMbPerS: round(jsonBytes / MB / parse.seconds, 1),
      };
      log(
        `Statoil JSON ingest: ${parsed} records, ${(jsonBytes / MB).toFixed(0)} MB of JSON in ${j.seconds.toFixed(2)} s = ${jsonIngest.jsonMbPerS} MB/s of JSON ` +
          `(${jsonIngest.floatMbPerS} MB/s of float32 bands, ${jsonIngest.patchesPerS} patches/s); the reader alone ${jsonIngest.parseOnlyJsonMbPerS} MB/s`,
      );
      fs.rmSync(file, { force: true });
    }

    const td = await store.createTrainingDataset({
      name: BENCH_DATASET,
      featureGroup: group,
      features: ['band_1', 'band_2'],
      label: 'is_iceberg',
      splits: { train: 1 },
      seed: a.seed,
    });
    const tf = loadTf();

    // Before: the Lance path (a random-access take per 256 shuffled rows, restacked into channels).
    let lanceTakes: PrepareResult['lanceTakes'] = null;
    if (a.withLance) {
      const lanceLoader = await td.loader({ batchSize: a.batchSize, prefetch: a.prefetch, cache: 'off' });
      const r = await epochThrough(lanceLoader, 0, { tensors: tf });
      await lanceLoader.close();
      lanceTakes = {
        mbPerS: round((r.patches * PATCH_BYTES) / MB / r.seconds),
        patchesPerS: round(r.patches / r.seconds),
        seconds: round(r.seconds, 2),
      };
      log(
        `shuffled loader, Lance takes (cache off): ${r.patches} patches in ${r.seconds.toFixed(2)} s = ${lanceTakes.mbPerS} MB/s, ${lanceTakes.patchesPerS} patches/s`,
      );
    }

    // The training-read cache: built once for this frozen dataset (Lance takes in split order).
    const loader = await td.loader({ batchSize: a.batchSize, reuseBuffers: true });
    const source = loader.source;
    if (source.kind !== 'cache' || source.state !== 'built')
      throw new Error(`bench featurestore: expected a freshly built cache, got ${JSON.stringify(source)}`);
    const cacheBuild = {
      seconds: round(source.buildSeconds!, 2),
      file: source.file,
      fileBytes: fs.statSync(source.file).size,
    };
    log(
      `training-read cache built in ${cacheBuild.seconds} s = ${(totalBytes / MB / cacheBuild.seconds).toFixed(0)} MB/s from Lance (${(cacheBuild.fileBytes / MB).toFixed(0)} MB file, checksummed, fsynced)`,
    );

    // The same read measurements as the measuring process makes, here in the process that did all of the above.
    const fresh = await td.loader({ batchSize: a.batchSize, prefetch: a.prefetch, verifyCache: 'header' });
    const { recordsOffset, labelsOffset } = readCacheHeader(source.file);
    rawSequentialRead(source.file, recordsOffset, labelsOffset, 0);
    await epochThrough(loader, 99, { tensors: tf });
    const raw = rawSequentialRead(source.file, recordsOffset, labelsOffset, 1);
    const reuse = await epochThrough(loader, 0, { tensors: tf });
    const freshEpoch = await epochThrough(fresh, 0, { tensors: tf });
    await loader.close();
    await fresh.close();
    const mbs = (t: { patches: number; seconds: number }): number => (t.patches * PATCH_BYTES) / MB / t.seconds;
    const cpuMbs = (t: { patches: number; cpuSeconds: number }): number =>
      (t.patches * PATCH_BYTES) / MB / t.cpuSeconds;
    const usedProcess = {
      rawMBs: round(raw.bytes / MB / raw.seconds),
      reuseMBs: round(mbs(reuse)),
      freshMBs: round(mbs(freshEpoch)),
      rawCpuMBs: round(raw.bytes / MB / raw.cpuSeconds),
      reuseCpuMBs: round(cpuMbs(reuse)),
      freshCpuMBs: round(cpuMbs(freshEpoch)),
    };
    log(
      `in this (used) process: raw sequential ${usedProcess.rawMBs} MB/s; shuffled epoch, reused batch memory ${usedProcess.reuseMBs} MB/s, ` +
        `fresh batch memory ${usedProcess.freshMBs} MB/s (per CPU-second ${usedProcess.rawCpuMBs} / ${usedProcess.reuseCpuMBs} / ${usedProcess.freshCpuMBs}); load ${os.loadavg()[0]!.toFixed(1)}`,
    );
    return { generator, generatorThreads, ingest, jsonIngest, lanceTakes, cacheBuild, usedProcess };
  } finally {
    await store.close();
  }
}

if (require.main === module) {
  const args = JSON.parse(process.argv[2] ?? '{}') as PrepareArgs;
  prepare(args, (line) => process.stderr.write(`${line}\n`)).then(
    (result) => {
      process.stdout.write(`${JSON.stringify(result)}\n`);
    },
    (err: unknown) => {
      process.stderr.write(`${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
