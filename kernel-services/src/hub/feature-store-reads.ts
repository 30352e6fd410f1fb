/**
 * What the feature store browser reads beyond the feature group list and detail (read-models.ts):
 * pages of SAR patches of one feature group commit for the patch gallery. Plain library code over the
 * feature store; the hub's route validates the query and the answer.
 */
import type { Feature, PatchBand, PatchPageQuery, PatchPageResponse, TensorFeature } from '@floe/schema';
import { PATCH_PIXELS_MAX } from '@floe/schema';
import { arrowToRows } from '../feature-store/arrow';
import { FeatureStore } from '../feature-store/feature-store';
import type { ProjectStore } from '../store';
import { NotInStoreError } from './read-models';

/** A gallery request the store cannot answer as asked (unknown band, label of the wrong kind…): a 400. */
export class PatchQueryError extends RangeError {
  override name = 'PatchQueryError';
}

/** Label features the gallery shows by default, in order of preference. */
const DEFAULT_LABELS = ['is_iceberg', 'label'];
const PREDICTION_NAME = /^(prediction|.+_prediction|.+_probability)$/;
const MAX_BANDS = 4;

const isImageBand = (f: Feature): f is TensorFeature => f.kind === 'tensor' && f.shape.length === 2;
const isFloatScalar = (f: Feature): boolean => f.kind === 'scalar' && (f.dtype === 'float32' || f.dtype === 'float64');

/** Float32 values as base64 of their little-endian bytes (x86 and ARM are little-endian; checked anyway). */
function float32Base64(values: Float32Array): string {
  const bytes = Buffer.from(values.buffer, values.byteOffset, values.byteLength);
  if (!LITTLE_ENDIAN) {
    const copy = Buffer.from(bytes);
    copy.swap32();
    return copy.toString('base64');
  }
  return bytes.toString('base64');
}
const LITTLE_ENDIAN = new Uint8Array(new Uint32Array([1]).buffer)[0] === 1;

function labelValue(v: unknown): number | string | boolean | null {
  if (v === null || v === undefined) return null;
  if (typeof v === 'bigint') return Number(v);
  if (v instanceof Date) return v.toISOString();
  if (typeof v === 'number' || typeof v === 'string' || typeof v === 'boolean') return v;
  return String(v);
}

export class FeatureStoreReads {
  private readonly features: FeatureStore;

  constructor(store: ProjectStore) {
    this.features = new FeatureStore(store);
  }

  close(): Promise<void> {
    return this.features.close();
  }

  /** One page of patches of a feature group commit (default: its latest version and commit). */
  async patchPage(name: string, query: PatchPageQuery): Promise<PatchPageResponse> {
    const group = await this.features.getFeatureGroup(name, query.version);
    const schema = group.schema;
    const label = `feature group '${group.name}' v${group.version}`;
    const byName = new Map(schema.map((f) => [f.name, f]));

    let bands: TensorFeature[];
    if (query.bands) {
      bands = query.bands.split(',').map((b) => {
        const f = byName.get(b);
        if (!f) throw new PatchQueryError(`${label} has no feature '${b}' (bands: ${imageBandNames(schema)})`);
        if (!isImageBand(f))
          throw new PatchQueryError(
            `${label}: feature '${b}' is not a 2-D tensor band (bands: ${imageBandNames(schema)})`,
          );
        return f;
      });
    } else {
      bands = schema.filter(isImageBand).slice(0, MAX_BANDS);
    }
    if (!bands.length) throw new PatchQueryError(`${label} has no 2-D tensor features to show as patches`);
    const [height, width] = bands[0]!.shape as [number, number];
    for (const b of bands) {
      if (b.shape[0] !== height || b.shape[1] !== width)
        throw new PatchQueryError(
          `${label}: bands ${bands[0]!.name} (${height}×${width}) and ${b.name} (${b.shape.join('×')}) differ in shape`,
        );
    }
    if (height * width > PATCH_PIXELS_MAX)
      throw new PatchQueryError(
        `${label}: patches of ${height}×${width} pixels are larger than the gallery shows (${PATCH_PIXELS_MAX} pixels)`,
      );

    const labelFeature =
      this.pickScalar(schema, query.label, 'label', label) ??
      DEFAULT_LABELS.find((n) => byName.get(n)?.kind === 'scalar') ??
      null;
    const predictionFeature =
      this.pickScalar(schema, query.prediction, 'prediction', label, true) ??
      schema.find((f) => isFloatScalar(f) && PREDICTION_NAME.test(f.name))?.name ??
      null;

    const latest = await group.commit();
    if (query.commit !== undefined && (!latest || query.commit > latest.number))
      throw new NotInStoreError(
        `${label} has no commit ${query.commit} (${latest ? `its commits are 1 to ${latest.number}` : 'it has no commits yet'})`,
      );
    const commit = query.commit === undefined ? latest : await group.commit(query.commit);
    const base = {
      featureGroup: group.name,
      version: group.version,
      offset: query.offset,
      limit: query.limit,
      height,
      width,
      bands: bands.map((b): PatchBand => ({ name: b.name, unit: b.unit, description: b.description })),
      label: labelFeature,
      prediction: predictionFeature,
    };
    if (!commit) return { ...base, commit: null, committedAt: null, total: 0, patches: [] };

    const key = group.info.primaryKey;
    const columns = [...new Set([...key, ...bands.map((b) => b.name), labelFeature, predictionFeature])].filter(
      (c): c is string => c !== null,
    );
    const patches: PatchPageResponse['patches'] = [];
    if (query.offset < commit.totalRows) {
      const table = await group.openTable(commit.number);
      try {
        // A plain scan of one Lance version returns rows in the same (fragment) order every time.
        const q = table.query().select(columns).offset(query.offset).limit(query.limit);
        for await (const batch of q) {
          for (const row of arrowToRows(batch)) {
            const encoded: Record<string, string> = {};
            for (const b of bands) {
              const v = row[b.name];
              if (v instanceof Float32Array) encoded[b.name] = float32Base64(v);
            }
            const pred = predictionFeature ? row[predictionFeature] : null;
            patches.push({
              row: query.offset + patches.length,
              id: key.map((k) => String(labelValue(row[k]))).join(' / '),
              label: labelFeature ? labelValue(row[labelFeature]) : null,
              prediction: typeof pred === 'number' && Number.isFinite(pred) ? pred : null,
              bands: encoded,
            });
          }
        }
      } finally {
        table.close();
      }
    }
    return {
      ...base,
      commit: commit.number,
      committedAt: commit.committedAt.toISOString(),
      total: commit.totalRows,
      patches: patches.slice(0, query.limit),
    };
  }

  /** The scalar feature a query names for `role`, checked; undefined when the query names none. */
  private pickScalar(
    schema: readonly Feature[],
    name: string | undefined,
    role: 'label' | 'prediction',
    label: string,
    float = false,
  ): string | undefined {
    if (name === undefined) return undefined;
    const f = schema.find((s) => s.name === name);
    if (!f) throw new PatchQueryError(`${label} has no feature '${name}' to use as the ${role}`);
    if (f.kind !== 'scalar' || (float && !isFloatScalar(f)))
      throw new PatchQueryError(
        `${label}: feature '${name}' cannot be the ${role}: it must be a ${float ? 'float ' : ''}scalar feature`,
      );
    return name;
  }
}

function imageBandNames(schema: readonly Feature[]): string {
  const names = schema.filter(isImageBand).map((f) => f.name);
  return names.length ? names.join(', ') : 'none';
}

/** One FeatureStoreReads per project store the hub serves, opened on first use. */
const opened = new WeakMap<ProjectStore, FeatureStoreReads>();

export function featureStoreReads(store: ProjectStore): FeatureStoreReads {
  let reads = opened.get(store);
  if (!reads) opened.set(store, (reads = new FeatureStoreReads(store)));
  return reads;
}

export async function closeFeatureStoreReads(store: ProjectStore): Promise<void> {
  const reads = opened.get(store);
  opened.delete(store);
  await reads?.close();
}
