/**
 * Feature store tables: feature groups, their numbered commits, and training datasets frozen to a
 * commit. Feature values live in Lance datasets (one per feature group version); these rows say which
 * Lance version each commit is, so readers only ever see versions recorded here.
 */
import type { Generated } from 'kysely';
import { addAutoIdColumn } from '../portable';
import type { Migration } from './types';

export interface FeatureGroupTableRow {
  id: Generated<number>;
  name: string;
  version: number;
  description: string;
  /** JSON: the FeatureSchema (schema/src/features.ts). */
  schema: string;
  /** JSON: feature names forming the primary key. */
  primary_key: string;
  event_time: string | null;
  /** JSON: the validation rule set stored with the group, or null. */
  rule_set: string | null;
  /** JSON: how derived features were computed (source group/commit, functions), or null. */
  lineage: string | null;
  /** Lance table name inside the store's feature data location. */
  dataset_table: string;
  /** Lance version of the empty table, i.e. the state before the first commit. */
  base_lance_version: number;
  created_at: string;
}

export interface FeatureGroupCommitTableRow {
  id: Generated<number>;
  feature_group_id: number;
  /** 1, 2, 3, ... per feature group; unique with the group, so two writers cannot both commit N. */
  number: number;
  lance_version: number;
  rows_inserted: number;
  rows_rejected: number;
  total_rows: number;
  committed_at: string;
  /** JSON: CommitStatistics (this commit's rows and the whole group at this commit). */
  statistics: string;
  /** JSON: the validation report of this commit's rows, or null when the group has no rule set. */
  validation: string | null;
  /** Blob key of the rows kept aside by validation (policy `always`), or null. */
  rejected_blob: string | null;
}

export interface TrainingDatasetTableRow {
  id: Generated<number>;
  name: string;
  version: number;
  description: string;
  feature_group_id: number;
  commit_number: number;
  /** JSON: features, label, filter, split fractions, seed, stratification. */
  spec: string;
  /** JSON: rows per split. */
  split_counts: string;
  /** Blob key of the frozen row ids per split. */
  splits_blob: string;
  created_at: string;
}

declare module '../database' {
  interface FloeDatabase {
    feature_group: FeatureGroupTableRow;
    feature_group_commit: FeatureGroupCommitTableRow;
    training_dataset: TrainingDatasetTableRow;
  }
}

export const featureStoreMigration: Migration = {
  name: '002_feature_store',
  async up(db, ctx) {
    const t = ctx.types;
    await addAutoIdColumn(db.schema.createTable('feature_group'), ctx.dialect)
      .addColumn('name', t.text, (c) => c.notNull())
      .addColumn('version', t.integer, (c) => c.notNull())
      .addColumn('description', t.text, (c) => c.notNull())
      .addColumn('schema', t.json, (c) => c.notNull())
      .addColumn('primary_key', t.json, (c) => c.notNull())
      .addColumn('event_time', t.text)
      .addColumn('rule_set', t.json)
      .addColumn('lineage', t.json)
      .addColumn('dataset_table', t.text, (c) => c.notNull())
      .addColumn('base_lance_version', t.integer, (c) => c.notNull())
      .addColumn('created_at', t.timestamp, (c) => c.notNull())
      .addUniqueConstraint('feature_group_name_version', ['name', 'version'])
      .execute();
    await addAutoIdColumn(db.schema.createTable('feature_group_commit'), ctx.dialect)
      .addColumn('feature_group_id', t.integer, (c) => c.notNull().references('feature_group.id'))
      .addColumn('number', t.integer, (c) => c.notNull())
      .addColumn('lance_version', t.integer, (c) => c.notNull())
      .addColumn('rows_inserted', t.bigint, (c) => c.notNull())
      .addColumn('rows_rejected', t.bigint, (c) => c.notNull())
      .addColumn('total_rows', t.bigint, (c) => c.notNull())
      .addColumn('committed_at', t.timestamp, (c) => c.notNull())
      .addColumn('statistics', t.json, (c) => c.notNull())
      .addColumn('validation', t.json)
      .addColumn('rejected_blob', t.text)
      .addUniqueConstraint('feature_group_commit_number', ['feature_group_id', 'number'])
      .execute();
    await addAutoIdColumn(db.schema.createTable('training_dataset'), ctx.dialect)
      .addColumn('name', t.text, (c) => c.notNull())
      .addColumn('version', t.integer, (c) => c.notNull())
      .addColumn('description', t.text, (c) => c.notNull())
      .addColumn('feature_group_id', t.integer, (c) => c.notNull().references('feature_group.id'))
      .addColumn('commit_number', t.integer, (c) => c.notNull())
      .addColumn('spec', t.json, (c) => c.notNull())
      .addColumn('split_counts', t.json, (c) => c.notNull())
      .addColumn('splits_blob', t.text, (c) => c.notNull())
      .addColumn('created_at', t.timestamp, (c) => c.notNull())
      .addUniqueConstraint('training_dataset_name_version', ['name', 'version'])
      .execute();
  },
};
