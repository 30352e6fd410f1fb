/**
 * Training datasets: a feature selection + filter + seeded (optionally stratified) splits, frozen to
 * one commit of one feature group. Freezing stores the exact Lance row ids of each split, so the
 * dataset reads the same rows forever, whatever is committed later; lineage names the group, its
 * version, the commit and the Lance version.
 */
import type { Feature, FeatureSchema } from '@floe/schema';
import type { Table } from '@lancedb/lancedb';
import type * as arrow from 'apache-arrow';
import { nextVersion, readJson, readTime, storedJson, storedTime } from '../store/portable';
import { arrowToRows } from './arrow';
import { FeatureStoreError } from './errors';
import type { AsOf, FeatureGroup } from './feature-group';
import type { FeatureStore } from './feature-store';

export interface TrainingDatasetDefinition {
  name: string;
  /** Default: one more than the latest version of this name. */
  version?: number;
  description?: string;
  featureGroup: FeatureGroup | { name: string; version?: number };
  /** The commit (number or time) to freeze to. Default: the latest. */
  commit?: AsOf;
  /** Features to include (tensors and scalars), in order. */
  features: string[];
  /** The label feature (included in exports and loader `ys`). */
  label?: string;
  /** A Lance SQL predicate selecting rows, e.g. `inc_angle IS NOT NULL`. */
  filter?: string;
  /** Split name → fraction; fractions must sum to 1. Default train 0.8 / validation 0.1 / test 0.1. */
  splits?: Record<string, number>;
  seed?: number;
  /** Keep each label's share equal across splits. Default true when there is a label. */
  stratify?: boolean;
}

export interface TrainingDatasetSpec {
  features: string[];
  label: string | null;
  filter: string | null;
  splits: Record<string, number>;
  seed: number;
  stratify: boolean;
  lineage: { featureGroup: { name: string; version: number; commit: number; lanceVersion: number } };
}

export interface TrainingDatasetInfo {
  id: number;
  name: string;
  version: number;
  description: string;
  spec: TrainingDatasetSpec;
  splitCounts: Record<string, number>;
  createdAt: Date;
  splitsBlob: string;
}

const NAME = /^[A-Za-z][A-Za-z0-9_-]{0,62}$/;

/** mulberry32: small, fast, and good enough to shuffle; the same sequence on every platform. */
export function seededRandom(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function shuffleInPlace<T>(items: T[], random: () => number): T[] {
  for (let i = items.length - 1; i > 0; i--) {
    const j = Math.floor(random() * (i + 1));
    [items[i], items[j]] = [items[j]!, items[i]!];
  }
  return items;
}

/** Largest-remainder allocation of n items to fractions (sums exactly to n). */
function allocate(n: number, fractions: number[]): number[] {
  const exact = fractions.map((f) => f * n);
  const counts = exact.map(Math.floor);
  let left = n - counts.reduce((a, b) => a + b, 0);
  const order = exact.map((e, i) => [e - Math.floor(e), i] as const).sort((a, b) => b[0] - a[0] || a[1] - b[1]);
  for (const [, i] of order) {
    if (left-- <= 0) break;
    counts[i]!++;
  }
  return counts;
}

/** Assigns row ids to splits: shuffled with `seed`, per label group when stratified. */
export function assignSplits(
  rows: { rowId: number; label: unknown }[],
  splits: Record<string, number>,
  seed: number,
  stratify: boolean,
): Record<string, number[]> {
  const names = Object.keys(splits);
  const fractions = names.map((n) => splits[n]!);
  const groups = new Map<string, number[]>();
  for (const r of [...rows].sort((a, b) => a.rowId - b.rowId)) {
    const key = stratify ? JSON.stringify(typeof r.label === 'bigint' ? r.label.toString() : r.label) : '';
    const g = groups.get(key) ?? [];
    g.push(r.rowId);
    groups.set(key, g);
  }
  const random = seededRandom(seed);
  const out: Record<string, number[]> = Object.fromEntries(names.map((n) => [n, [] as number[]]));
  for (const key of [...groups.keys()].sort()) {
    const ids = shuffleInPlace(groups.get(key)!, random);
    const counts = allocate(ids.length, fractions);
    let at = 0;
    names.forEach((n, i) => {
      out[n]!.push(...ids.slice(at, at + counts[i]!));
      at += counts[i]!;
    });
  }
  for (const n of names) out[n]!.sort((a, b) => a - b);
  return out;
}

export class TrainingDataset {
  private splitIds: Promise<Record<string, number[]>> | undefined;

  constructor(
    readonly featureStore: FeatureStore,
    readonly info: TrainingDatasetInfo,
    readonly featureGroup: FeatureGroup,
  ) {}

  get name(): string {
    return this.info.name;
  }
  get version(): number {
    return this.info.version;
  }
  get spec(): TrainingDatasetSpec {
    return this.info.spec;
  }
  get label(): string {
    return `training dataset '${this.info.name}' v${this.info.version}`;
  }

  /** The features this dataset exports: primary key, selected features, label (each once). */
  columns(): Feature[] {
    const names = [
      ...this.featureGroup.info.primaryKey,
      ...this.spec.features,
      ...(this.spec.label ? [this.spec.label] : []),
    ];
    const unique = [...new Set(names)];
    return unique.map((n) => this.featureGroup.schema.find((f) => f.name === n)!);
  }

  /** Row ids of each split, as frozen. */
  async splits(): Promise<Record<string, number[]>> {
    this.splitIds ??= this.featureStore.store.blobs
      .get(this.info.splitsBlob)
      .then((b) => readJson<Record<string, number[]>>(Buffer.from(b).toString('utf8')));
    return this.splitIds;
  }

  async splitRowIds(split: string): Promise<number[]> {
    const all = await this.splits();
    const ids = all[split];
    if (!ids)
      throw new FeatureStoreError(`${this.label} has no split '${split}' (it has ${Object.keys(all).join(', ')})`);
    return ids;
  }

  /** A table handle at the frozen Lance version. Close it when done. */
  async openTable(): Promise<Table> {
    return this.featureStore.data.openAt(
      this.featureGroup.info.datasetTable,
      this.spec.lineage.featureGroup.lanceVersion,
    );
  }

  /** Rows by row id, with their `_rowid` (Lance returns them in storage order, not the order asked). */
  static async take(table: Table, rowIds: readonly number[], columns: string[]): Promise<arrow.RecordBatch[]> {
    const result = await table.takeRowIds(rowIds).select(columns).withRowId().toArrow();
    return result.batches;
  }

  /** Batches of one split in frozen order, `chunkRows` at a time (for exports). */
  async *readSplit(
    split: string,
    chunkRows = 512,
    columns = this.columns().map((f) => f.name),
  ): AsyncIterable<arrow.RecordBatch> {
    const ids = await this.splitRowIds(split);
    const table = await this.openTable();
    try {
      for (let i = 0; i < ids.length; i += chunkRows) {
        const chunk = ids.slice(i, i + chunkRows);
        const batches = await TrainingDataset.take(table, chunk, columns);
        for (const b of batches) yield b;
      }
    } finally {
      table.close();
    }
  }

  /** Writes each split to TFRecord or Parquet (see export.ts). */
  async export(opts: import('./export').ExportOptions): Promise<import('./export').ExportResult> {
    return (await import('./export')).exportTrainingDataset(this, opts);
  }

  /** A shuffled, batched, prefetching loader of one split for tfjs (see loader.ts). */
  async loader(opts: import('./loader').LoaderOptions = {}): Promise<import('./loader').TrainingDataLoader> {
    return (await import('./loader')).TrainingDataLoader.create(this, opts);
  }

  /** The rows of one split as FeatureRows (small datasets; use `readSplit` or a loader for large ones). */
  async readRows(split: string): Promise<Record<string, unknown>[]> {
    const rows: Record<string, unknown>[] = [];
    for await (const b of this.readSplit(split)) rows.push(...arrowToRows(b));
    return rows.map((r) => {
      delete r._rowid;
      return r;
    });
  }
}

type TrainingDatasetRow = {
  id: number;
  name: string;
  version: number;
  description: string;
  feature_group_id: number;
  commit_number: number;
  spec: string;
  split_counts: string;
  splits_blob: string;
  created_at: string;
};

export function trainingDatasetInfo(r: TrainingDatasetRow): TrainingDatasetInfo {
  return {
    id: Number(r.id),
    name: r.name,
    version: Number(r.version),
    description: r.description,
    spec: readJson<TrainingDatasetSpec>(r.spec),
    splitCounts: readJson<Record<string, number>>(r.split_counts),
    createdAt: readTime(r.created_at),
    splitsBlob: r.splits_blob,
  };
}

function checkSelection(schema: FeatureSchema, def: TrainingDatasetDefinition): void {
  const known = new Map(schema.map((f) => [f.name, f]));
  if (!Array.isArray(def.features) || def.features.length === 0)
    throw new FeatureStoreError(`training dataset '${def.name}': select at least one feature`);
  for (const n of [...def.features, ...(def.label ? [def.label] : [])]) {
    if (!known.has(n))
      throw new FeatureStoreError(
        `training dataset '${def.name}': the feature group has no feature '${n}' (it has ${[...known.keys()].join(', ')})`,
      );
  }
  if (def.label) {
    const l = known.get(def.label)!;
    if (l.kind !== 'scalar')
      throw new FeatureStoreError(`training dataset '${def.name}': label '${def.label}' must be a scalar feature`);
  }
}

export async function createTrainingDataset(
  fs: FeatureStore,
  def: TrainingDatasetDefinition,
): Promise<TrainingDataset> {
  if (typeof def.name !== 'string' || !NAME.test(def.name)) {
    throw new FeatureStoreError(
      `training dataset name ${JSON.stringify(def.name)} is not valid: a letter, then up to 62 letters, digits, _ or -`,
    );
  }
  const group =
    'info' in def.featureGroup
      ? def.featureGroup
      : await fs.getFeatureGroup(def.featureGroup.name, def.featureGroup.version);
  checkSelection(group.schema, def);
  const splits = def.splits ?? { train: 0.8, validation: 0.1, test: 0.1 };
  const entries = Object.entries(splits);
  if (entries.length === 0) throw new FeatureStoreError(`training dataset '${def.name}': give at least one split`);
  for (const [n, f] of entries) {
    if (!NAME.test(n))
      throw new FeatureStoreError(`training dataset '${def.name}': split name ${JSON.stringify(n)} is not valid`);
    if (typeof f !== 'number' || !(f >= 0 && f <= 1))
      throw new FeatureStoreError(`training dataset '${def.name}': split '${n}' fraction must be in [0, 1], got ${f}`);
  }
  const total = entries.reduce((a, [, f]) => a + f, 0);
  if (Math.abs(total - 1) > 1e-9)
    throw new FeatureStoreError(`training dataset '${def.name}': split fractions sum to ${total}, not 1`);
  const seed = def.seed ?? 0;
  if (!Number.isInteger(seed)) throw new FeatureStoreError(`training dataset '${def.name}': seed must be an integer`);
  const stratify = def.stratify ?? def.label !== undefined;
  if (stratify && !def.label)
    throw new FeatureStoreError(`training dataset '${def.name}': stratification needs a label`);

  const commit = await group.commit(def.commit);
  if (!commit)
    throw new FeatureStoreError(`training dataset '${def.name}': ${group.name} v${group.version} has no commit yet`);

  const table = await group.openTable(commit.number);
  const rows: { rowId: number; label: unknown }[] = [];
  try {
    let q = table
      .query()
      .select(def.label ? [def.label] : [group.info.primaryKey[0]!])
      .withRowId();
    if (def.filter) q = q.where(def.filter);
    for await (const batch of q) {
      const ids = batch.getChild('_rowid')!;
      const labels = def.label ? batch.getChild(def.label)! : undefined;
      for (let i = 0; i < batch.numRows; i++)
        rows.push({ rowId: Number(ids.get(i) as bigint), label: labels?.get(i) ?? null });
    }
  } catch (err) {
    if (def.filter)
      throw new FeatureStoreError(
        `training dataset '${def.name}': cannot apply filter ${JSON.stringify(def.filter)}: ${(err as Error).message}`,
      );
    throw err;
  } finally {
    table.close();
  }
  const assigned = assignSplits(rows, splits, seed, stratify);

  const version = def.version ?? (await nextVersion(fs.store.db, 'training_dataset', def.name));
  const splitsBlob = `training-datasets/${def.name}/v${version}/splits-${Date.now().toString(36)}.json`;
  await fs.store.blobs.put(splitsBlob, JSON.stringify(assigned));
  const spec: TrainingDatasetSpec = {
    features: def.features,
    label: def.label ?? null,
    filter: def.filter ?? null,
    splits,
    seed,
    stratify,
    lineage: {
      featureGroup: {
        name: group.name,
        version: group.version,
        commit: commit.number,
        lanceVersion: commit.lanceVersion,
      },
    },
  };
  const splitCounts = Object.fromEntries(Object.entries(assigned).map(([n, ids]) => [n, ids.length]));
  try {
    await fs.store.writeTransaction(async (trx) => {
      await trx
        .insertInto('training_dataset')
        .values({
          name: def.name,
          version,
          description: def.description ?? '',
          feature_group_id: group.info.id,
          commit_number: commit.number,
          spec: storedJson(spec),
          split_counts: storedJson(splitCounts),
          splits_blob: splitsBlob,
          created_at: storedTime(),
        })
        .execute();
      await fs.store.audit('training_dataset.create', `training_dataset:${def.name}/${version}`, spec.lineage, trx);
    });
  } catch (err) {
    await fs.store.blobs.delete(splitsBlob).catch(() => undefined);
    if (/unique|duplicate/i.test((err as Error).message))
      throw new FeatureStoreError(`training dataset '${def.name}' v${version} already exists`);
    throw err;
  }
  return getTrainingDataset(fs, def.name, version);
}

export async function getTrainingDataset(fs: FeatureStore, name: string, version?: number): Promise<TrainingDataset> {
  let q = fs.store.db.selectFrom('training_dataset').selectAll().where('name', '=', name);
  if (version !== undefined) q = q.where('version', '=', version);
  const row = await q.orderBy('version', 'desc').limit(1).executeTakeFirst();
  if (!row) throw new FeatureStoreError(`no training dataset '${name}'${version !== undefined ? ` v${version}` : ''}`);
  const info = trainingDatasetInfo(row as TrainingDatasetRow);
  const group = await fs.featureGroupById(Number(row.feature_group_id));
  return new TrainingDataset(fs, info, group);
}

export async function listTrainingDatasets(fs: FeatureStore): Promise<TrainingDatasetInfo[]> {
  const rows = await fs.store.db
    .selectFrom('training_dataset')
    .selectAll()
    .orderBy('name')
    .orderBy('version')
    .execute();
  return rows.map((r) => trainingDatasetInfo(r as TrainingDatasetRow));
}
