import { FeatureSchema, type FeatureRow } from '@floe/schema';
import type { StatoilRecord } from './statoil';

/** Side of a Statoil/C-CORE patch in pixels. */
export const ICEBERG_PATCH_SIZE = 75;

/**
 * The feature schema of the iceberg data: one row per patch, keyed by `id`. `is_iceberg` is
 * nullable so that unlabelled (test) patches fit the same schema.
 */
export const ICEBERG_SCHEMA: FeatureSchema = FeatureSchema.parse([
  { name: 'id', kind: 'scalar', dtype: 'string', description: 'patch id from the source file' },
  {
    name: 'band_1',
    kind: 'tensor',
    dtype: 'float32',
    shape: [ICEBERG_PATCH_SIZE, ICEBERG_PATCH_SIZE],
    unit: 'dB',
    description: 'HH backscatter (sigma0), row-major 75x75',
  },
  {
    name: 'band_2',
    kind: 'tensor',
    dtype: 'float32',
    shape: [ICEBERG_PATCH_SIZE, ICEBERG_PATCH_SIZE],
    unit: 'dB',
    description: 'HV backscatter (sigma0), row-major 75x75',
  },
  {
    name: 'inc_angle',
    kind: 'scalar',
    dtype: 'float32',
    nullable: true,
    description: 'incidence angle in degrees; null where the source says "na"',
  },
  {
    name: 'is_iceberg',
    kind: 'scalar',
    dtype: 'int32',
    nullable: true,
    description: '1 = iceberg, 0 = ship; null for unlabelled (test) patches',
  },
]);

/** A Statoil record as a feature row (the bands are shared, not copied). */
export function recordToRow(rec: StatoilRecord): FeatureRow {
  return {
    id: rec.id,
    band_1: rec.band_1,
    band_2: rec.band_2,
    inc_angle: rec.inc_angle,
    is_iceberg: rec.is_iceberg ?? null,
  };
}

/** A feature row of ICEBERG_SCHEMA as a Statoil record; says which field is wrong otherwise. */
export function rowToRecord(row: FeatureRow, index?: number): StatoilRecord {
  const where = `row${index === undefined ? '' : ` ${index}`}${typeof row.id === 'string' ? ` (id ${JSON.stringify(row.id)})` : ''}`;
  const size = ICEBERG_PATCH_SIZE * ICEBERG_PATCH_SIZE;
  if (typeof row.id !== 'string' || row.id.length === 0) throw new TypeError(`${where}: id must be a non-empty string`);
  for (const band of ['band_1', 'band_2'] as const) {
    const v = row[band];
    if (!(v instanceof Float32Array)) throw new TypeError(`${where}: ${band} must be a Float32Array`);
    if (v.length !== size) throw new TypeError(`${where}: ${band} has ${v.length} values, expected ${size}`);
  }
  const angle = row.inc_angle;
  if (angle !== null && angle !== undefined && (typeof angle !== 'number' || !Number.isFinite(angle))) {
    throw new TypeError(`${where}: inc_angle must be a finite number or null`);
  }
  const label = row.is_iceberg;
  if (label !== null && label !== undefined && label !== 0 && label !== 1)
    throw new TypeError(`${where}: is_iceberg must be 0, 1 or null`);
  const rec: StatoilRecord = {
    id: row.id,
    band_1: row.band_1 as Float32Array,
    band_2: row.band_2 as Float32Array,
    inc_angle: angle === undefined ? null : (angle as number | null),
  };
  if (label === 0 || label === 1) rec.is_iceberg = label;
  return rec;
}

/** Feature rows of a Statoil file or stream, in batches (for streamed inserts into a feature group). */
export async function* rowBatches(
  records: AsyncIterable<StatoilRecord> | Iterable<StatoilRecord>,
  batchSize = 512,
): AsyncGenerator<FeatureRow[]> {
  if (!Number.isInteger(batchSize) || batchSize < 1)
    throw new RangeError(`batchSize must be a positive integer, got ${batchSize}`);
  let batch: FeatureRow[] = [];
  for await (const rec of records) {
    batch.push(recordToRow(rec));
    if (batch.length >= batchSize) {
      yield batch;
      batch = [];
    }
  }
  if (batch.length > 0) yield batch;
}
