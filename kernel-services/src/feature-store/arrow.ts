/**
 * Feature rows ⇄ Apache Arrow. Scalars map to Arrow primitives; a fixed-shape tensor is a
 * FixedSizeList<float32> of the product of its shape (row-major), with the shape kept in field metadata
 * so Parquet and Lance readers see it. Every structural problem in a row is a `FeatureRowError` naming
 * the record and the field, raised before anything is written.
 */
import type * as arrow from 'apache-arrow';
import { A } from './arrow-lib';
import type { Feature, FeatureRow, FeatureSchema, FeatureValue, ScalarFeature, TensorFeature } from '@floe/schema';

export class FeatureRowError extends Error {
  override name = 'FeatureRowError';
  constructor(
    message: string,
    /** 0-based index of the record in the insert. */
    readonly record: number,
    readonly field: string | undefined,
  ) {
    super(message);
  }
}

export function tensorLength(f: TensorFeature): number {
  return f.shape.reduce((a, b) => a * b, 1);
}

export function arrowType(f: Feature): arrow.DataType {
  if (f.kind === 'tensor') return new A.FixedSizeList(tensorLength(f), new A.Field('item', new A.Float32(), true));
  switch (f.dtype) {
    case 'float32':
      return new A.Float32();
    case 'float64':
      return new A.Float64();
    case 'int32':
      return new A.Int32();
    case 'int64':
      return new A.Int64();
    case 'bool':
      return new A.Bool();
    case 'string':
      return new A.Utf8();
    case 'timestamp':
      return new A.TimestampMillisecond();
  }
}

export function arrowSchema(schema: FeatureSchema): arrow.Schema {
  return new A.Schema(
    schema.map((f) => {
      const meta = new Map<string, string>();
      if (f.kind === 'tensor') {
        meta.set('floe.shape', JSON.stringify(f.shape));
        if (f.unit) meta.set('floe.unit', f.unit);
      }
      return new A.Field(f.name, arrowType(f), f.nullable, meta);
    }),
  );
}

/** How a record is named in errors: its index and, when known, its primary key. */
export type RecordNamer = (index: number, row: unknown) => string;

export const defaultRecordNamer: RecordNamer = (index) => `record ${index}`;

export function primaryKeyNamer(primaryKey: readonly string[], offset = 0): RecordNamer {
  return (index, row) => {
    const key =
      row && typeof row === 'object'
        ? primaryKey.map((k) => `${k}=${JSON.stringify(String((row as Record<string, unknown>)[k]))}`).join(', ')
        : '';
    return `record ${index + offset}${key ? ` (${key})` : ''}`;
  };
}

function describe(v: unknown): string {
  if (v === null) return 'null';
  if (v instanceof Float32Array) return `Float32Array(${v.length})`;
  if (Array.isArray(v)) return `array(${v.length})`;
  if (v instanceof Date) return 'Date';
  return typeof v;
}

function checkScalar(f: ScalarFeature, v: unknown, fail: (msg: string) => never): FeatureValue {
  switch (f.dtype) {
    case 'float32':
    case 'float64':
      // NaN and ±Infinity are values here; whether they are acceptable is the rule set's call.
      if (typeof v === 'number') return v;
      return fail(`expected a number (${f.dtype}), got ${describe(v)}`);
    case 'int32':
      if (typeof v === 'number' && Number.isInteger(v) && v >= -2147483648 && v <= 2147483647) return v;
      return fail(`expected an int32, got ${typeof v === 'number' ? v : describe(v)}`);
    case 'int64':
      if (typeof v === 'bigint') return v;
      if (typeof v === 'number' && Number.isSafeInteger(v)) return BigInt(v);
      return fail(`expected an int64 (integer or bigint), got ${typeof v === 'number' ? v : describe(v)}`);
    case 'bool':
      if (typeof v === 'boolean') return v;
      return fail(`expected a boolean, got ${describe(v)}`);
    case 'string':
      if (typeof v === 'string') return v;
      return fail(`expected a string, got ${describe(v)}`);
    case 'timestamp': {
      const d = v instanceof Date ? v : typeof v === 'string' || typeof v === 'number' ? new Date(v) : null;
      if (d && !Number.isNaN(d.getTime())) return d;
      return fail(`expected a timestamp (Date, ISO-8601 text or epoch ms), got ${describe(v)}`);
    }
  }
}

function checkTensor(f: TensorFeature, v: unknown, fail: (msg: string) => never): Float32Array {
  const n = tensorLength(f);
  let arr: Float32Array;
  if (v instanceof Float32Array) arr = v;
  else if (Array.isArray(v) || v instanceof Float64Array) {
    for (let i = 0; i < v.length; i++) {
      if (typeof v[i] !== 'number') fail(`element ${i} is ${describe(v[i])}, expected a number`);
    }
    arr = Float32Array.from(v as ArrayLike<number>);
  } else return fail(`expected a tensor of ${n} float32 values (shape [${f.shape.join(', ')}]), got ${describe(v)}`);
  if (arr.length !== n) {
    fail(`tensor has ${arr.length} values; shape [${f.shape.join(', ')}] needs ${n}`);
  }
  return arr;
}

/**
 * Checks each row against the schema and returns the rows normalised (tensors as Float32Array,
 * int64 as bigint, timestamps as Date, missing nullable values as null). Throws on the first bad one.
 */
export function conformRows(
  rows: readonly unknown[],
  schema: FeatureSchema,
  name: RecordNamer = defaultRecordNamer,
): FeatureRow[] {
  const known = new Set(schema.map((f) => f.name));
  const out: FeatureRow[] = new Array(rows.length);
  for (let i = 0; i < rows.length; i++) {
    const row = rows[i];
    if (row === null || typeof row !== 'object' || Array.isArray(row)) {
      throw new FeatureRowError(`${name(i, row)}: expected an object of features, got ${describe(row)}`, i, undefined);
    }
    const r = row as Record<string, unknown>;
    for (const key of Object.keys(r)) {
      if (!known.has(key)) {
        throw new FeatureRowError(
          `${name(i, row)}: unknown field '${key}' (the feature group has ${[...known].join(', ')})`,
          i,
          key,
        );
      }
    }
    const norm: FeatureRow = {};
    for (const f of schema) {
      const fail = (msg: string): never => {
        throw new FeatureRowError(`${name(i, row)}, field '${f.name}': ${msg}`, i, f.name);
      };
      const v = r[f.name];
      if (v === undefined || v === null) {
        if (!f.nullable)
          fail(v === undefined ? 'missing (the feature is not nullable)' : 'null (the feature is not nullable)');
        norm[f.name] = null;
        continue;
      }
      norm[f.name] = f.kind === 'tensor' ? checkTensor(f, v, fail) : checkScalar(f, v, fail);
    }
    out[i] = norm;
  }
  return out;
}

function validityBitmap(rows: readonly FeatureRow[], name: string): { bitmap: Uint8Array | undefined; nulls: number } {
  let nulls = 0;
  const bitmap = new Uint8Array((rows.length + 7) >> 3);
  for (let i = 0; i < rows.length; i++) {
    if (rows[i]![name] === null) nulls++;
    else bitmap[i >> 3]! |= 1 << (i & 7);
  }
  return { bitmap: nulls > 0 ? bitmap : undefined, nulls };
}

function column(f: Feature, rows: readonly FeatureRow[]): arrow.Data {
  const type = arrowType(f);
  const n = rows.length;
  const { bitmap, nulls } = validityBitmap(rows, f.name);
  if (f.kind === 'tensor') {
    const size = tensorLength(f);
    const values = new Float32Array(n * size);
    for (let i = 0; i < n; i++) {
      const t = rows[i]![f.name] as Float32Array | null;
      if (t) values.set(t, i * size);
    }
    const child = A.makeData({ type: new A.Float32(), length: n * size, data: values });
    return A.makeData({ type: type as arrow.FixedSizeList, length: n, nullCount: nulls, nullBitmap: bitmap, child });
  }
  switch (f.dtype) {
    case 'float32':
    case 'float64':
    case 'int32': {
      const Ctor = f.dtype === 'float32' ? Float32Array : f.dtype === 'float64' ? Float64Array : Int32Array;
      const data = new Ctor(n);
      for (let i = 0; i < n; i++) data[i] = (rows[i]![f.name] as number | null) ?? 0;
      return A.makeData({ type: type as arrow.Float32, length: n, nullCount: nulls, nullBitmap: bitmap, data });
    }
    case 'int64': {
      const data = new BigInt64Array(n);
      for (let i = 0; i < n; i++) data[i] = (rows[i]![f.name] as bigint | null) ?? 0n;
      return A.makeData({ type: type as arrow.Int64, length: n, nullCount: nulls, nullBitmap: bitmap, data });
    }
    case 'timestamp': {
      const data = new BigInt64Array(n);
      for (let i = 0; i < n; i++) data[i] = BigInt((rows[i]![f.name] as Date | null)?.getTime() ?? 0);
      return A.makeData({
        type: type as arrow.TimestampMillisecond,
        length: n,
        nullCount: nulls,
        nullBitmap: bitmap,
        data,
      });
    }
    default:
      return A.vectorFromArray(
        rows.map((r) => r[f.name] as string | boolean | null),
        type as arrow.Utf8 | arrow.Bool,
      ).data[0]!;
  }
}

/** Conformed rows as one Arrow record batch with the group's schema. */
export function rowsToArrow(rows: readonly FeatureRow[], schema: FeatureSchema): arrow.Table {
  const aschema = arrowSchema(schema);
  const children = schema.map((f) => column(f, rows));
  const struct = A.makeData({ type: new A.Struct(aschema.fields), length: rows.length, nullCount: 0, children });
  return new A.Table(aschema, [new A.RecordBatch(aschema, struct)]);
}

/** The float32 values of row `row` of a FixedSizeList<float32> column chunk (a view, not a copy). */
export function tensorView(data: arrow.Data, row: number): Float32Array | null {
  if (!data.getValid(row)) return null;
  const size = (data.type as arrow.FixedSizeList).listSize;
  const child = data.children[0]!;
  const values = child.values as Float32Array;
  const start = (data.offset + row) * size + child.offset;
  return values.subarray(start, start + size);
}

function cell(data: arrow.Data, i: number, vector: arrow.Vector): FeatureValue {
  const t = data.type;
  if (A.DataType.isFixedSizeList(t)) {
    const v = tensorView(data, i);
    return v ? v.slice() : null;
  }
  if (!data.getValid(i)) return null;
  if (A.DataType.isTimestamp(t)) {
    const v = vector.get(i) as number | bigint | Date;
    return v instanceof Date ? v : new Date(Number(v));
  }
  return vector.get(i) as FeatureValue;
}

/** Arrow rows back as FeatureRows (tensors copied to Float32Array, timestamps as Date). */
export function arrowToRows(table: arrow.Table | arrow.RecordBatch): FeatureRow[] {
  const rows: FeatureRow[] = [];
  const batches = table instanceof A.Table ? table.batches : [table];
  for (const batch of batches) {
    const cols = batch.schema.fields.map((f, j) => ({
      name: f.name,
      data: batch.data.children[j]!,
      vector: batch.getChildAt(j)!,
    }));
    for (let i = 0; i < batch.numRows; i++) {
      const r: FeatureRow = {};
      for (const c of cols) r[c.name] = cell(c.data, i, c.vector);
      rows.push(r);
    }
  }
  return rows;
}
