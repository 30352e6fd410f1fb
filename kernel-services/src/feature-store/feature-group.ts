/**
 * A feature group version: its definition, its numbered commits and its data.
 *
 * An insert is one commit, all or nothing. Order of work: conform rows to the schema, check primary
 * keys, validate, append to Lance (one or more Lance versions), then record the commit — with the Lance
 * version it produced — in one metadata transaction. Readers only check out Lance versions recorded in
 * a commit, so a crash before the metadata transaction leaves the previous commit as the visible
 * state; the next insert sees Lance ahead of the last recorded version and restores that version first
 * (Lance `restore` writes a new version equal to the old one, so the orphaned appends are ignored).
 */
import { randomUUID } from 'node:crypto';
import type * as arrow from 'apache-arrow';
import type { FeatureRow, FeatureSchema, FeatureValue } from '@floe/schema';
import type { Table } from '@lancedb/lancedb';
import type { ProjectStore } from '../store';
import { readJson, readTime, storedJson, storedTime } from '../store/portable';
import { A } from './arrow-lib';
import { arrowSchema, arrowToRows, conformRows, FeatureRowError, primaryKeyNamer, rowsToArrow } from './arrow';
import { ConcurrentCommitError, DuplicatePrimaryKeyError, FeatureStoreError, ValidationRejectedError } from './errors';
import type { FeatureData } from './lance';
import { mergeStatistics, StatisticsBuilder, type CommitStatistics, type StatisticsSet } from './statistics';
import { InsertValidation, type StoredRuleSet } from './validation-adapter';

export interface FeatureGroupLineage {
  source: { name: string; version: number; commit: number };
  derived: { name: string; function: string; inputs: string[] }[];
  kept: string[];
}

export interface FeatureGroupInfo {
  id: number;
  name: string;
  version: number;
  description: string;
  schema: FeatureSchema;
  primaryKey: string[];
  eventTime: string | null;
  ruleSet: StoredRuleSet | null;
  lineage: FeatureGroupLineage | null;
  createdAt: Date;
  /** Lance table name within the store's feature data. */
  datasetTable: string;
  baseLanceVersion: number;
}

export interface CommitInfo {
  featureGroup: { name: string; version: number };
  number: number;
  lanceVersion: number;
  rowsInserted: number;
  rowsRejected: number;
  totalRows: number;
  committedAt: Date;
  statistics: CommitStatistics;
  validation: unknown;
  rejectedBlob: string | null;
}

/** A row kept aside by validation (policy `always`), with why. */
export interface RejectedRow {
  record: number;
  reasons: string[];
  row: FeatureRow;
}

/** A commit number, or a time: the last commit at or before it. */
export type AsOf = number | Date;

export interface ReadOptions {
  asOf?: AsOf;
  columns?: string[];
  /** A Lance SQL predicate, e.g. `is_iceberg = 1 AND inc_angle > 35`. */
  filter?: string;
  limit?: number;
}

export interface InsertOptions {
  /** Rows per Lance append (memory bound of a streamed insert). Default 2048. */
  chunkRows?: number;
  /** Called after each appended chunk with rows done so far. */
  progress?: (rowsDone: number) => void;
}

/**
 * Rows: one array, or a stream of arrays (chunks) for inserts larger than memory. Validation applies
 * to the whole insert either way (row rules chunk by chunk with state carried across chunks,
 * dataset-level rules once over every row before the commit is recorded; see validation-adapter.ts).
 */
export type RowSource = readonly unknown[] | AsyncIterable<readonly unknown[]> | Iterable<readonly unknown[]>;

function keyString(values: FeatureValue[]): string {
  return values.length === 1 && typeof values[0] === 'string'
    ? values[0]
    : JSON.stringify(
        values.map((v) => (v instanceof Date ? v.toISOString() : typeof v === 'bigint' ? v.toString() : v)),
      );
}

function encodeForJson(row: Record<string, unknown>): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  const num = (x: number): number | string => (Number.isFinite(x) ? x : String(x));
  for (const [k, v] of Object.entries(row)) {
    if (v instanceof Float32Array || v instanceof Float64Array || Array.isArray(v))
      out[k] = Array.from(v as ArrayLike<unknown>, (x) => (typeof x === 'number' ? num(x) : x));
    else if (typeof v === 'number') out[k] = num(v);
    else if (typeof v === 'bigint') out[k] = v.toString();
    else if (v instanceof Date) out[k] = v.toISOString();
    else out[k] = v;
  }
  return out;
}

function decodeFromJson(row: Record<string, unknown>, schema: FeatureSchema): FeatureRow {
  const out: FeatureRow = {};
  const num = (x: unknown): number => (typeof x === 'string' ? Number(x) : (x as number));
  for (const [k, v] of Object.entries(row)) {
    const f = schema.find((s) => s.name === k);
    if (v === null || v === undefined) out[k] = null;
    else if (f?.kind === 'tensor' && Array.isArray(v)) out[k] = Float32Array.from(v, num);
    else if (f?.kind === 'scalar' && (f.dtype === 'float32' || f.dtype === 'float64')) out[k] = num(v);
    else if (f?.kind === 'scalar' && f.dtype === 'int64') out[k] = BigInt(v as string);
    else if (f?.kind === 'scalar' && f.dtype === 'timestamp') out[k] = new Date(v as string);
    else out[k] = v as FeatureValue;
  }
  return out;
}

async function* chunksOf(source: RowSource): AsyncIterable<readonly unknown[]> {
  if (Array.isArray(source)) {
    // A plain array is one chunk for validation (dataset-level rules see all of it); Lance appends split it.
    yield source;
    return;
  }
  for await (const chunk of source as AsyncIterable<readonly unknown[]>) {
    if (!Array.isArray(chunk)) throw new FeatureStoreError('a streamed insert yields arrays of rows');
    yield chunk;
  }
}

export class FeatureGroup {
  constructor(
    private readonly store: ProjectStore,
    private readonly data: FeatureData,
    readonly info: FeatureGroupInfo,
  ) {}

  get name(): string {
    return this.info.name;
  }
  get version(): number {
    return this.info.version;
  }
  get schema(): FeatureSchema {
    return this.info.schema;
  }
  private get label(): string {
    return `feature group '${this.info.name}' v${this.info.version}`;
  }

  // ---- commits ----

  async commits(): Promise<CommitInfo[]> {
    const rows = await this.store.db
      .selectFrom('feature_group_commit')
      .selectAll()
      .where('feature_group_id', '=', this.info.id)
      .orderBy('number')
      .execute();
    return rows.map((r) => this.commitFromRow(r));
  }

  /** The commit visible as of `asOf` (default: the latest); undefined when the group has none yet. */
  async commit(asOf?: AsOf): Promise<CommitInfo | undefined> {
    let q = this.store.db.selectFrom('feature_group_commit').selectAll().where('feature_group_id', '=', this.info.id);
    if (typeof asOf === 'number') {
      if (!Number.isInteger(asOf) || asOf < 1)
        throw new FeatureStoreError(`${this.label}: commit numbers start at 1, got ${asOf}`);
      const row = await q.where('number', '=', asOf).executeTakeFirst();
      if (!row) throw new FeatureStoreError(`${this.label} has no commit ${asOf}`);
      return this.commitFromRow(row);
    }
    if (asOf instanceof Date) {
      if (Number.isNaN(asOf.getTime())) throw new FeatureStoreError(`${this.label}: asOf is an invalid Date`);
      q = q.where('committed_at', '<=', storedTime(asOf));
    }
    const row = await q.orderBy('number', 'desc').limit(1).executeTakeFirst();
    if (!row && asOf instanceof Date) {
      throw new FeatureStoreError(`${this.label} has no commit at or before ${asOf.toISOString()}`);
    }
    return row ? this.commitFromRow(row) : undefined;
  }

  async statistics(asOf?: AsOf): Promise<CommitStatistics | undefined> {
    return (await this.commit(asOf))?.statistics;
  }

  private commitFromRow(r: {
    number: number;
    lance_version: number;
    rows_inserted: number;
    rows_rejected: number;
    total_rows: number;
    committed_at: string;
    statistics: string;
    validation: string | null;
    rejected_blob: string | null;
  }): CommitInfo {
    return {
      featureGroup: { name: this.info.name, version: this.info.version },
      number: Number(r.number),
      lanceVersion: Number(r.lance_version),
      rowsInserted: Number(r.rows_inserted),
      rowsRejected: Number(r.rows_rejected),
      totalRows: Number(r.total_rows),
      committedAt: readTime(r.committed_at),
      statistics: readJson<CommitStatistics>(r.statistics),
      validation: readJson(r.validation),
      rejectedBlob: r.rejected_blob,
    };
  }

  async rejectedRows(commitNumber: number): Promise<RejectedRow[]> {
    const c = await this.commit(commitNumber);
    if (!c?.rejectedBlob) return [];
    const text = Buffer.from(await this.store.blobs.get(c.rejectedBlob)).toString('utf8');
    return text
      .split('\n')
      .filter((l) => l.length > 0)
      .map((l) => {
        const r = JSON.parse(l) as { record: number; reasons: string[]; row: Record<string, unknown> };
        return { record: r.record, reasons: r.reasons, row: decodeFromJson(r.row, this.info.schema) };
      });
  }

  // ---- reading ----

  /** Lance version visible at `asOf` (the empty table's version before the first commit). */
  async lanceVersion(asOf?: AsOf): Promise<{ lanceVersion: number; commit: CommitInfo | undefined }> {
    const commit = await this.commit(asOf);
    return { lanceVersion: commit?.lanceVersion ?? this.info.baseLanceVersion, commit };
  }

  /** A Lance table handle checked out at the state visible `asOf`. Close it when done. */
  async openTable(asOf?: AsOf): Promise<Table> {
    const { lanceVersion } = await this.lanceVersion(asOf);
    return this.data.openAt(this.info.datasetTable, lanceVersion);
  }

  private checkColumns(columns: string[] | undefined): void {
    if (!columns) return;
    const known = new Set(this.info.schema.map((f) => f.name));
    for (const c of columns) {
      if (!known.has(c))
        throw new FeatureStoreError(`${this.label} has no feature '${c}' (it has ${[...known].join(', ')})`);
    }
  }

  /** Batches of the visible data, streamed (memory stays bounded for large groups). */
  async *scan(opts: ReadOptions = {}): AsyncIterable<arrow.RecordBatch> {
    this.checkColumns(opts.columns);
    const table = await this.openTable(opts.asOf);
    try {
      let q = table.query();
      if (opts.columns) q = q.select(opts.columns);
      if (opts.filter) q = q.where(opts.filter);
      if (opts.limit !== undefined) q = q.limit(opts.limit);
      for await (const batch of q) yield batch;
    } catch (err) {
      if (opts.filter && err instanceof Error && !(err instanceof FeatureStoreError)) {
        throw new FeatureStoreError(
          `${this.label}: cannot read with filter ${JSON.stringify(opts.filter)}: ${err.message}`,
        );
      }
      throw err;
    } finally {
      table.close();
    }
  }

  async readArrow(opts: ReadOptions = {}): Promise<arrow.Table> {
    const batches: arrow.RecordBatch[] = [];
    for await (const b of this.scan(opts)) batches.push(b);
    if (batches.length === 0) {
      const schema = arrowSchema(this.info.schema.filter((f) => !opts.columns || opts.columns.includes(f.name)));
      return new A.Table(schema);
    }
    return new A.Table(batches);
  }

  /** Rows as of a commit or time: tensors as Float32Array, timestamps as Date, int64 as bigint. */
  async read(opts: ReadOptions = {}): Promise<FeatureRow[]> {
    return arrowToRows(await this.readArrow(opts));
  }

  // ---- writing ----

  private async existingKeys(lanceVersion: number): Promise<Set<string>> {
    const keys = new Set<string>();
    const table = await this.data.openAt(this.info.datasetTable, lanceVersion);
    try {
      for await (const batch of table.query().select(this.info.primaryKey)) {
        for (const row of arrowToRows(batch)) keys.add(keyString(this.info.primaryKey.map((k) => row[k]!)));
      }
    } finally {
      table.close();
    }
    return keys;
  }

  /**
   * Lance refuses NaN inside float tensor columns (it treats them as vectors), so a NaN pixel that no
   * rule set kept aside is a clear error here rather than an opaque one from Lance.
   */
  private refuseNaNTensors(
    keep: readonly FeatureRow[],
    all: readonly FeatureRow[],
    name: (i: number, row: unknown) => string,
  ): void {
    const tensors = this.info.schema.filter((f) => f.kind === 'tensor').map((f) => f.name);
    if (tensors.length === 0) return;
    for (const row of keep) {
      for (const t of tensors) {
        const v = row[t] as Float32Array | null;
        if (!v) continue;
        for (let p = 0; p < v.length; p++) {
          if (v[p] !== v[p]) {
            const i = all.indexOf(row);
            throw new FeatureRowError(
              `${name(i, row)}, field '${t}': element ${p} is NaN; tensors are stored without NaN ` +
                `(give the group a rule set with a finite-values rule to keep such rows aside, or fill them)`,
              i,
              t,
            );
          }
        }
      }
    }
  }

  /**
   * Inserts rows as one commit. Bad rows (schema mismatch, unknown field, wrong tensor length,
   * duplicate primary key) throw before anything is recorded; validation with policy `strict` rejects
   * the whole commit (a dataset-level rule is decided over every row of the insert, after the last
   * chunk and before the commit is recorded), with `always` keeps rows failing row rules aside (see
   * `rejectedRows`). Lance appends run while the next chunk is read and prepared: parsing a file,
   * schema checks and statistics overlap the Lance writer's threads.
   */
  async insert(source: RowSource, opts: InsertOptions = {}): Promise<CommitInfo> {
    const chunkRows = opts.chunkRows ?? 2048;
    const base = await this.commit();
    const baseLance = base?.lanceVersion ?? this.info.baseLanceVersion;
    const baseStats: StatisticsSet | undefined = base?.statistics.group;
    const seen = await this.existingKeys(baseLance);
    const inserted = new Map<string, number>();
    const stats = new StatisticsBuilder(this.info.schema, baseStats);
    const rejectedLines: string[] = [];
    const validation = this.info.ruleSet
      ? new InsertValidation(this.info.schema, this.info.ruleSet, Array.isArray(source))
      : undefined;
    let table: Table | undefined;
    /** The Lance append in flight (appends are sequential: each must produce the next version). */
    let appending: Promise<void> | undefined;
    let expectedVersion = 0;
    let offset = 0;
    let accepted = 0;

    const openForWrite = async (): Promise<Table> => {
      const t = await this.data.openLatest(this.info.datasetTable);
      const latest = await t.version();
      if (latest !== baseLance) {
        // Lance is ahead of the last recorded commit: an interrupted insert. Make the recorded
        // state the latest again before appending.
        await t.checkout(baseLance);
        await t.restore();
      }
      expectedVersion = await t.version();
      return t;
    };

    try {
      for await (const chunk of chunksOf(source)) {
        const name = primaryKeyNamer(this.info.primaryKey, offset);
        const rows = conformRows(chunk, this.info.schema, name);
        rows.forEach((row, i) => {
          const key = keyString(this.info.primaryKey.map((k) => row[k]!));
          const display = this.info.primaryKey.map((k) => `${k}=${JSON.stringify(String(row[k]))}`).join(', ');
          if (seen.has(key)) {
            throw new DuplicatePrimaryKeyError(
              `${name(i, row)}: duplicate primary key ${display}: it already exists in ${this.label}` +
                (base ? ` (as of commit ${base.number})` : ''),
              offset + i,
              key,
            );
          }
          const first = inserted.get(key);
          if (first !== undefined) {
            throw new DuplicatePrimaryKeyError(
              `${name(i, row)}: duplicate primary key ${display}: record ${first} of this insert has it too`,
              offset + i,
              key,
            );
          }
          inserted.set(key, offset + i);
        });

        let keep = rows;
        if (validation) {
          const outcome = validation.addChunk(rows);
          if (outcome.rejectNow) {
            const final = validation.finish(true);
            throw new ValidationRejectedError(
              `${this.label}: validation (policy strict) rejected the commit: ${final.summary}`,
              final.report,
            );
          }
          if (outcome.rejected.size > 0) {
            keep = rows.filter((_, i) => !outcome.rejected.has(i));
            for (const [i, reasons] of outcome.rejected) {
              rejectedLines.push(JSON.stringify({ record: offset + i, reasons, row: encodeForJson(rows[i]!) }));
            }
          }
        }

        for (let s = 0; s < keep.length; s += chunkRows) {
          const slice = keep.slice(s, s + chunkRows);
          const part = rowsToArrow(slice, this.info.schema);
          stats.addBatch(part);
          // The statistics pass counts NaN pixels; only then look for the row to name it.
          if (Object.keys(stats.tensorNaNs()).length > 0) this.refuseNaNTensors(slice, rows, name);
          table ??= await openForWrite();
          await appending; // the previous append (its failure surfaces here)
          const writer = table;
          const done = offset + s + part.numRows;
          appending = (async () => {
            const { version } = await writer.add(part);
            if (version !== expectedVersion + 1) {
              throw new ConcurrentCommitError(
                `${this.label}: another writer appended to the data during this insert (Lance version ${version}, expected ${expectedVersion + 1}); nothing was committed, retry`,
              );
            }
            expectedVersion = version;
            accepted += part.numRows;
            opts.progress?.(done);
          })();
          appending.catch(() => undefined); // awaited above or below; never an unhandled rejection
        }
        offset += rows.length;
      }
      await appending;

      let validationReport: unknown = null;
      if (validation) {
        // Dataset-level rules over the whole insert, before anything is recorded.
        const final = validation.finish();
        if (final.rejectCommit) {
          throw new ValidationRejectedError(
            `${this.label}: validation (policy strict) rejected the commit: ${final.summary}`,
            final.report,
          );
        }
        validationReport = final.report;
      }

      const rejectedBlob =
        rejectedLines.length > 0
          ? `feature-groups/${this.info.name}/v${this.info.version}/rejected/commit-${(base?.number ?? 0) + 1}-${randomUUID()}.jsonl`
          : null;
      if (rejectedBlob) await this.store.blobs.put(rejectedBlob, rejectedLines.join('\n') + '\n');

      const commitStats = stats.finish();
      const statistics: CommitStatistics = { commit: commitStats, group: mergeStatistics(baseStats, commitStats) };
      const lanceVersion = table ? expectedVersion : baseLance;
      const number = (base?.number ?? 0) + 1;
      const committedAt = storedTime();

      await this.store.writeTransaction(
        async (trx) => {
          const latest = await trx
            .selectFrom('feature_group_commit')
            .select('number')
            .where('feature_group_id', '=', this.info.id)
            .orderBy('number', 'desc')
            .limit(1)
            .executeTakeFirst();
          if ((latest ? Number(latest.number) : 0) !== number - 1) {
            throw new ConcurrentCommitError(
              `${this.label}: commit ${latest?.number} was recorded by another writer during this insert; nothing was committed, retry`,
            );
          }
          await trx
            .insertInto('feature_group_commit')
            .values({
              feature_group_id: this.info.id,
              number,
              lance_version: lanceVersion,
              rows_inserted: accepted,
              rows_rejected: rejectedLines.length,
              total_rows: (base?.totalRows ?? 0) + accepted,
              committed_at: committedAt,
              statistics: storedJson(statistics),
              validation: validationReport === null ? null : storedJson(validationReport),
              rejected_blob: rejectedBlob,
            })
            .execute();
          await this.store.audit(
            'feature_group.commit',
            `feature_group:${this.info.name}/${this.info.version}`,
            { commit: number, lanceVersion, rowsInserted: accepted, rowsRejected: rejectedLines.length },
            trx,
          );
        },
        { lockKey: `feature_group:${this.info.id}` },
      );
      return (await this.commit(number))!;
    } catch (err) {
      await appending?.catch(() => undefined); // let an append in flight finish before undoing it
      // Nothing recorded: put Lance back to the recorded state now rather than at the next insert.
      if (table && expectedVersion !== baseLance) {
        await table
          .checkout(baseLance)
          .then(() => table!.restore())
          .catch(() => undefined);
      }
      if (err instanceof FeatureRowError || err instanceof FeatureStoreError) throw err;
      throw new FeatureStoreError(`${this.label}: insert failed, nothing committed: ${(err as Error).message}`, {
        cause: err,
      });
    } finally {
      table?.close();
    }
  }
}
