/**
 * The feature store of one project: feature groups (name + version) and training datasets, with
 * metadata in the project store's database and feature data in Lance.
 */
import { FeatureSchema as FeatureSchemaContract, type FeatureSchema } from '@floe/schema';
import { openProjectStore, type ProjectStore, type StoreOptions } from '../store';
import { nextVersion, readJson, readTime, storedJson, storedTime } from '../store/portable';
import { arrowSchema } from './arrow';
import { FeatureGroupNotFoundError, FeatureStoreError } from './errors';
import { FeatureGroup, type FeatureGroupInfo, type FeatureGroupLineage } from './feature-group';
import { FeatureData } from './lance';
import { storableRuleSet, type StoredRuleSet } from './validation-adapter';
import { deriveFeatureGroup, type DeriveOptions } from './derived';
import {
  createTrainingDataset,
  getTrainingDataset,
  listTrainingDatasets,
  type TrainingDataset,
  type TrainingDatasetDefinition,
  type TrainingDatasetInfo,
} from './training-dataset';

export interface FeatureGroupDefinition {
  name: string;
  /** Default: one more than the latest version of this name (1 for a new name). */
  version?: number;
  description?: string;
  schema: FeatureSchema | unknown;
  primaryKey: string | string[];
  eventTime?: string;
  /** A validation rule set (JSON-serialisable), stored with the group and applied on every insert. */
  ruleSet?: unknown;
  /** Set by derived feature groups. */
  lineage?: FeatureGroupLineage;
}

const NAME = /^[A-Za-z][A-Za-z0-9_-]{0,62}$/;

type FeatureGroupRow = {
  id: number;
  name: string;
  version: number;
  description: string;
  schema: string;
  primary_key: string;
  event_time: string | null;
  rule_set: string | null;
  lineage: string | null;
  dataset_table: string;
  base_lance_version: number;
  created_at: string;
};

function infoFromRow(r: FeatureGroupRow): FeatureGroupInfo {
  return {
    id: Number(r.id),
    name: r.name,
    version: Number(r.version),
    description: r.description,
    schema: readJson<FeatureSchema>(r.schema),
    primaryKey: readJson<string[]>(r.primary_key),
    eventTime: r.event_time,
    ruleSet: readJson<StoredRuleSet | null>(r.rule_set),
    lineage: readJson<FeatureGroupLineage | null>(r.lineage),
    createdAt: readTime(r.created_at),
    datasetTable: r.dataset_table,
    baseLanceVersion: Number(r.base_lance_version),
  };
}

export class FeatureStore {
  readonly data: FeatureData;

  constructor(
    readonly store: ProjectStore,
    private readonly ownsStore = false,
  ) {
    this.data = new FeatureData(store);
  }

  /** Opens the project store (see store/index.ts for defaults) and its feature store. */
  static async open(opts: StoreOptions = {}): Promise<FeatureStore> {
    return new FeatureStore(await openProjectStore(opts), true);
  }

  async close(): Promise<void> {
    this.data.close();
    if (this.ownsStore) await this.store.close();
  }

  async createFeatureGroup(def: FeatureGroupDefinition): Promise<FeatureGroup> {
    if (typeof def.name !== 'string' || !NAME.test(def.name)) {
      throw new FeatureStoreError(
        `feature group name ${JSON.stringify(def.name)} is not valid: a letter, then up to 62 letters, digits, _ or -`,
      );
    }
    const parsed = FeatureSchemaContract.safeParse(def.schema);
    if (!parsed.success) {
      const issue = parsed.error.issues[0]!;
      throw new FeatureStoreError(
        `feature group '${def.name}': schema is not valid at ${issue.path.join('.') || '(root)'}: ${issue.message}`,
      );
    }
    const schema = parsed.data;
    const primaryKey = Array.isArray(def.primaryKey) ? def.primaryKey : [def.primaryKey];
    if (primaryKey.length === 0)
      throw new FeatureStoreError(`feature group '${def.name}': the primary key names at least one feature`);
    for (const k of primaryKey) {
      const f = schema.find((s) => s.name === k);
      if (!f)
        throw new FeatureStoreError(`feature group '${def.name}': primary key feature '${k}' is not in the schema`);
      if (f.kind !== 'scalar' || f.nullable) {
        throw new FeatureStoreError(
          `feature group '${def.name}': primary key feature '${k}' must be a non-nullable scalar`,
        );
      }
    }
    if (def.eventTime !== undefined) {
      const f = schema.find((s) => s.name === def.eventTime);
      if (!f || f.kind !== 'scalar' || !['timestamp', 'int64'].includes(f.dtype)) {
        throw new FeatureStoreError(
          `feature group '${def.name}': event time feature '${def.eventTime}' must be a timestamp or int64 feature of the schema`,
        );
      }
    }
    const ruleSet = def.ruleSet === undefined ? null : storableRuleSet(def.ruleSet, def.name);

    const version = def.version ?? (await nextVersion(this.store.db, 'feature_group', def.name));
    if (!Number.isInteger(version) || version < 1)
      throw new FeatureStoreError(`feature group '${def.name}': version must be a positive integer`);
    const exists = await this.store.db
      .selectFrom('feature_group')
      .select('id')
      .where('name', '=', def.name)
      .where('version', '=', version)
      .executeTakeFirst();
    if (exists) throw new FeatureStoreError(`feature group '${def.name}' v${version} already exists`);

    // A fresh table name per creation attempt: a crash after creating the table but before recording
    // the group leaves an unreferenced table, never one a later attempt would collide with.
    const datasetTable = `${def.name}__v${version}__${Date.now().toString(36)}`;
    const baseLanceVersion = await this.data.create(datasetTable, arrowSchema(schema));
    try {
      await this.store.writeTransaction(async (trx) => {
        await trx
          .insertInto('feature_group')
          .values({
            name: def.name,
            version,
            description: def.description ?? '',
            schema: storedJson(schema),
            primary_key: storedJson(primaryKey),
            event_time: def.eventTime ?? null,
            rule_set: ruleSet === null ? null : storedJson(ruleSet),
            lineage: def.lineage ? storedJson(def.lineage) : null,
            dataset_table: datasetTable,
            base_lance_version: baseLanceVersion,
            created_at: storedTime(),
          })
          .execute();
        await this.store.audit(
          'feature_group.create',
          `feature_group:${def.name}/${version}`,
          { schema: schema.length },
          trx,
        );
      });
    } catch (err) {
      await this.data.drop(datasetTable).catch(() => undefined);
      if (/unique|duplicate/i.test((err as Error).message)) {
        throw new FeatureStoreError(`feature group '${def.name}' v${version} already exists`);
      }
      throw err;
    }
    return this.getFeatureGroup(def.name, version);
  }

  /** The group `name` at `version` (default: its latest version). */
  async getFeatureGroup(name: string, version?: number): Promise<FeatureGroup> {
    let q = this.store.db.selectFrom('feature_group').selectAll().where('name', '=', name);
    if (version !== undefined) q = q.where('version', '=', version);
    const row = await q.orderBy('version', 'desc').limit(1).executeTakeFirst();
    if (!row) {
      const known = (await this.listFeatureGroups()).map((g) => `${g.name} v${g.version}`);
      throw new FeatureGroupNotFoundError(
        `no feature group '${name}'${version !== undefined ? ` v${version}` : ''} (the store has ${known.length ? known.join(', ') : 'none'})`,
      );
    }
    return new FeatureGroup(this.store, this.data, infoFromRow(row as FeatureGroupRow));
  }

  async listFeatureGroups(): Promise<
    (FeatureGroupInfo & { commits: number; rows: number; lastCommitAt: Date | null })[]
  > {
    const groups = await this.store.db
      .selectFrom('feature_group')
      .selectAll()
      .orderBy('name')
      .orderBy('version')
      .execute();
    const latest = await this.store.db
      .selectFrom('feature_group_commit')
      .select(['feature_group_id', 'number', 'total_rows', 'committed_at'])
      .execute();
    const byGroup = new Map<number, { number: number; total_rows: number; committed_at: string }>();
    for (const c of latest) {
      const prev = byGroup.get(Number(c.feature_group_id));
      if (!prev || Number(c.number) > prev.number) {
        byGroup.set(Number(c.feature_group_id), {
          number: Number(c.number),
          total_rows: Number(c.total_rows),
          committed_at: c.committed_at,
        });
      }
    }
    return groups.map((g) => {
      const c = byGroup.get(Number(g.id));
      return {
        ...infoFromRow(g as FeatureGroupRow),
        commits: c?.number ?? 0,
        rows: c?.total_rows ?? 0,
        lastCommitAt: c ? readTime(c.committed_at) : null,
      };
    });
  }

  async createTrainingDataset(def: TrainingDatasetDefinition): Promise<TrainingDataset> {
    return createTrainingDataset(this, def);
  }

  async getTrainingDataset(name: string, version?: number): Promise<TrainingDataset> {
    return getTrainingDataset(this, name, version);
  }

  async listTrainingDatasets(): Promise<TrainingDatasetInfo[]> {
    return listTrainingDatasets(this);
  }

  /** Materialises derived features (band average, band ratio, custom) into a new group version. */
  async deriveFeatureGroup(opts: DeriveOptions): Promise<FeatureGroup> {
    return deriveFeatureGroup(this, opts);
  }

  /** Used by training datasets to resolve their feature group by id. */
  async featureGroupById(id: number): Promise<FeatureGroup> {
    const row = await this.store.db.selectFrom('feature_group').selectAll().where('id', '=', id).executeTakeFirst();
    if (!row) throw new FeatureGroupNotFoundError(`no feature group with id ${id}`);
    return new FeatureGroup(this.store, this.data, infoFromRow(row as FeatureGroupRow));
  }
}
