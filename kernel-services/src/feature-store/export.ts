/**
 * Exports of a training dataset, one file per split:
 * - TFRecord of tf.train.Example (tensors as flat float lists, the shape in `<name>_shape` int64s is
 *   not written: readers declare it, as with `tf.io.FixedLenFeature([75*75], tf.float32)`);
 * - Parquet (tensors as fixed_size_list<float>, the shape in the Arrow field metadata), written with
 *   parquet-wasm: arrow-rs compiled to WebAssembly, maintained, no native install step, and it streams
 *   record batches into row groups so a large split never sits whole in memory.
 * A null value is left out of an Example (declare a default when parsing) and is a null in Parquet.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { once } from 'node:events';
import type * as arrow from 'apache-arrow';
import type { Feature } from '@floe/schema';
import { A } from './arrow-lib';
import { arrowSchema, tensorView } from './arrow';
import { FeatureStoreError } from './errors';
import { encodeExample, frameRecord, type ExampleFeature } from './tfrecord';
import type { TrainingDataset } from './training-dataset';

export type ExportFormat = 'tfrecord' | 'parquet';

export interface ExportOptions {
  format: ExportFormat;
  /** A local folder to write `<split>.<ext>` into. Default: the project's blob store under `training-datasets/<name>/v<version>/`. */
  dir?: string;
  /** Splits to export (default all). */
  splits?: string[];
}

export interface ExportResult {
  format: ExportFormat;
  /** split → file path (local folder) or blob URL. */
  files: Record<string, string>;
  rows: Record<string, number>;
  bytes: Record<string, number>;
}

const EXT: Record<ExportFormat, string> = { tfrecord: 'tfrecord', parquet: 'parquet' };

function exampleOf(batch: arrow.RecordBatch, i: number, columns: Feature[]): Record<string, ExampleFeature> {
  const out: Record<string, ExampleFeature> = {};
  for (const f of columns) {
    const col = batch.getChild(f.name)!;
    if (f.kind === 'tensor') {
      const data = col.data[0]!;
      const v = tensorView(data, i);
      if (v) out[f.name] = { kind: 'float', values: v };
      continue;
    }
    if (!col.isValid(i)) continue;
    const v = col.get(i) as unknown;
    switch (f.dtype) {
      case 'float32':
      case 'float64':
        out[f.name] = { kind: 'float', values: [v as number] };
        break;
      case 'int32':
      case 'int64':
        out[f.name] = { kind: 'int64', values: [v as number | bigint] };
        break;
      case 'bool':
        out[f.name] = { kind: 'int64', values: [v ? 1 : 0] };
        break;
      case 'timestamp':
        out[f.name] = { kind: 'int64', values: [v instanceof Date ? v.getTime() : Number(v)] };
        break;
      case 'string':
        out[f.name] = { kind: 'bytes', values: [v as string] };
        break;
    }
  }
  return out;
}

async function writeTfrecord(td: TrainingDataset, split: string, file: string): Promise<number> {
  const columns = td.columns();
  const out = fs.createWriteStream(file);
  let rows = 0;
  try {
    for await (const batch of td.readSplit(split)) {
      for (let i = 0; i < batch.numRows; i++) {
        // Batches hold one chunk per column (Lance take), so data[0] addresses row i.
        if (!out.write(frameRecord(encodeExample(exampleOf(batch, i, columns))))) await once(out, 'drain');
        rows++;
      }
    }
  } finally {
    out.end();
    await once(out, 'close');
  }
  return rows;
}

type ParquetWasm = typeof import('parquet-wasm/node/parquet_wasm');

async function writeParquet(td: TrainingDataset, split: string, file: string): Promise<number> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const pq = require('parquet-wasm/node') as ParquetWasm;
  const columns = td.columns();
  const schema = arrowSchema(columns);
  let rows = 0;
  const iterator = td.readSplit(split)[Symbol.asyncIterator]();
  const source = new ReadableStream({
    async pull(controller) {
      const { value, done } = await iterator.next();
      if (done) {
        controller.close();
        return;
      }
      // Drop `_rowid` and restore the group's field metadata (tensor shapes) before writing.
      const batch = new A.RecordBatch(
        schema,
        A.makeData({
          type: new A.Struct(schema.fields),
          length: value.numRows,
          nullCount: 0,
          children: columns.map((f) => value.getChild(f.name)!.data[0]!),
        }),
      );
      rows += batch.numRows;
      const ipc = A.tableToIPC(new A.Table(schema, [batch]), 'stream');
      const wasmTable = pq.Table.fromIPCStream(ipc);
      for (const rb of wasmTable.recordBatches()) controller.enqueue(rb);
    },
  });
  const props = new pq.WriterPropertiesBuilder().setCompression(pq.Compression.SNAPPY).build();
  const bytes = await pq.transformParquetStream(source, props);
  const out = fs.createWriteStream(file);
  try {
    for await (const chunk of bytes as unknown as AsyncIterable<Uint8Array>) {
      if (!out.write(chunk)) await once(out, 'drain');
    }
  } finally {
    out.end();
    await once(out, 'close');
  }
  if (rows === 0) {
    // No batch, no row group: write the schema-only file arrow-rs makes from an empty table.
    fs.writeFileSync(file, pq.writeParquet(pq.Table.fromIPCStream(A.tableToIPC(new A.Table(schema), 'stream')), props));
  }
  return rows;
}

export async function exportTrainingDataset(td: TrainingDataset, opts: ExportOptions): Promise<ExportResult> {
  if (opts.format !== 'tfrecord' && opts.format !== 'parquet') {
    throw new FeatureStoreError(`export format must be 'tfrecord' or 'parquet', got ${JSON.stringify(opts.format)}`);
  }
  const all = Object.keys(await td.splits());
  const splits = opts.splits ?? all;
  for (const s of splits)
    if (!all.includes(s)) throw new FeatureStoreError(`${td.label} has no split '${s}' (it has ${all.join(', ')})`);
  const local = opts.dir ?? fs.mkdtempSync(path.join(os.tmpdir(), 'floe-export-'));
  fs.mkdirSync(local, { recursive: true });
  const result: ExportResult = { format: opts.format, files: {}, rows: {}, bytes: {} };
  try {
    for (const split of splits) {
      const file = path.join(local, `${split}.${EXT[opts.format]}`);
      result.rows[split] =
        opts.format === 'tfrecord' ? await writeTfrecord(td, split, file) : await writeParquet(td, split, file);
      result.bytes[split] = fs.statSync(file).size;
      if (opts.dir) result.files[split] = file;
      else {
        const key = `training-datasets/${td.name}/v${td.version}/${split}.${EXT[opts.format]}`;
        await td.featureStore.store.blobs.put(key, fs.createReadStream(file));
        result.files[split] = td.featureStore.store.blobs.url(key);
      }
    }
  } finally {
    if (!opts.dir) fs.rmSync(local, { recursive: true, force: true });
  }
  return result;
}
