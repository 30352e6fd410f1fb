/**
 * Experiment tracking and model registry tables: experiments, runs with their metrics and artifacts,
 * and registered model versions with aliases. Run and model-version files live on the blob store;
 * these rows say where.
 */
import type { Generated } from 'kysely';
import { addAutoIdColumn } from '../portable';
import type { Migration } from './types';

export interface ExperimentTableRow {
  id: Generated<number>;
  name: string;
  description: string;
  created_at: string;
}

export interface RunTableRow {
  id: Generated<number>;
  experiment_id: number;
  name: string;
  /** running | finished | failed | interrupted */
  status: string;
  /** JSON: the training configuration as run. */
  params: string;
  /** JSON: latest value of every epoch/final metric (for listing and comparing without the metric table). */
  summary: string;
  /** JSON: RunEnvironment, or null before it is known. */
  environment: string | null;
  /** JSON: DatasetLineage, or null. */
  dataset: string | null;
  /** Training dataset id, repeated from `dataset` so runs can be filtered by it in SQL. */
  training_dataset_id: number | null;
  /** JSON: CodeSnapshot, or null. */
  code: string | null;
  /** JSON: CheckpointRef of the latest checkpoint, or null. */
  checkpoint: string | null;
  parent_run_id: number | null;
  /** JSON: string → string. */
  tags: string;
  error: string | null;
  epochs_completed: number;
  started_at: string;
  ended_at: string | null;
  heartbeat_at: string;
  host: string;
  pid: number;
}

export interface RunMetricTableRow {
  run_id: number;
  name: string;
  /** step | epoch | final */
  scope: string;
  step: number;
  value: number;
  at: string;
}

export interface RunArtifactTableRow {
  run_id: number;
  name: string;
  kind: string;
  blob_key: string;
  /** JSON object. */
  meta: string;
  created_at: string;
}

export interface ModelVersionTableRow {
  id: Generated<number>;
  name: string;
  /** 1, 2, 3, ... per model name; unique with the name. */
  version: number;
  description: string;
  run_id: number;
  /** JSON: metric name → value. */
  metrics: string;
  /** JSON: ModelLineage. */
  lineage: string;
  /** JSON: inputs the model takes. */
  signature: string;
  blob_prefix: string;
  created_at: string;
}

export interface ModelAliasTableRow {
  name: string;
  alias: string;
  version: number;
  updated_at: string;
}

declare module '../database' {
  interface FloeDatabase {
    experiment: ExperimentTableRow;
    run: RunTableRow;
    run_metric: RunMetricTableRow;
    run_artifact: RunArtifactTableRow;
    model_version: ModelVersionTableRow;
    model_alias: ModelAliasTableRow;
  }
}

export const experimentsMigration: Migration = {
  name: '003_experiments',
  async up(db, ctx) {
    const t = ctx.types;
    await addAutoIdColumn(db.schema.createTable('experiment'), ctx.dialect)
      .addColumn('name', t.text, (c) => c.notNull().unique())
      .addColumn('description', t.text, (c) => c.notNull())
      .addColumn('created_at', t.timestamp, (c) => c.notNull())
      .execute();

    await addAutoIdColumn(db.schema.createTable('run'), ctx.dialect)
      .addColumn('experiment_id', t.integer, (c) => c.notNull().references('experiment.id'))
      .addColumn('name', t.text, (c) => c.notNull())
      .addColumn('status', t.text, (c) => c.notNull())
      .addColumn('params', t.json, (c) => c.notNull())
      .addColumn('summary', t.json, (c) => c.notNull())
      .addColumn('environment', t.json)
      .addColumn('dataset', t.json)
      .addColumn('training_dataset_id', t.integer)
      .addColumn('code', t.json)
      .addColumn('checkpoint', t.json)
      .addColumn('parent_run_id', t.integer, (c) => c.references('run.id'))
      .addColumn('tags', t.json, (c) => c.notNull())
      .addColumn('error', t.text)
      .addColumn('epochs_completed', t.integer, (c) => c.notNull())
      .addColumn('started_at', t.timestamp, (c) => c.notNull())
      .addColumn('ended_at', t.timestamp)
      .addColumn('heartbeat_at', t.timestamp, (c) => c.notNull())
      .addColumn('host', t.text, (c) => c.notNull())
      .addColumn('pid', t.integer, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('run_experiment_started').on('run').columns(['experiment_id', 'started_at']).execute();
    await db.schema.createIndex('run_status').on('run').column('status').execute();
    await db.schema.createIndex('run_parent').on('run').column('parent_run_id').execute();

    await db.schema
      .createTable('run_metric')
      .addColumn('run_id', t.integer, (c) => c.notNull().references('run.id'))
      .addColumn('name', t.text, (c) => c.notNull())
      .addColumn('scope', t.text, (c) => c.notNull())
      .addColumn('step', t.integer, (c) => c.notNull())
      .addColumn('value', t.double, (c) => c.notNull())
      .addColumn('at', t.timestamp, (c) => c.notNull())
      .addPrimaryKeyConstraint('run_metric_pk', ['run_id', 'name', 'scope', 'step'])
      .execute();

    await db.schema
      .createTable('run_artifact')
      .addColumn('run_id', t.integer, (c) => c.notNull().references('run.id'))
      .addColumn('name', t.text, (c) => c.notNull())
      .addColumn('kind', t.text, (c) => c.notNull())
      .addColumn('blob_key', t.text, (c) => c.notNull())
      .addColumn('meta', t.json, (c) => c.notNull())
      .addColumn('created_at', t.timestamp, (c) => c.notNull())
      .addPrimaryKeyConstraint('run_artifact_pk', ['run_id', 'name'])
      .execute();

    await addAutoIdColumn(db.schema.createTable('model_version'), ctx.dialect)
      .addColumn('name', t.text, (c) => c.notNull())
      .addColumn('version', t.integer, (c) => c.notNull())
      .addColumn('description', t.text, (c) => c.notNull())
      .addColumn('run_id', t.integer, (c) => c.notNull().references('run.id'))
      .addColumn('metrics', t.json, (c) => c.notNull())
      .addColumn('lineage', t.json, (c) => c.notNull())
      .addColumn('signature', t.json, (c) => c.notNull())
      .addColumn('blob_prefix', t.text, (c) => c.notNull())
      .addColumn('created_at', t.timestamp, (c) => c.notNull())
      .addUniqueConstraint('model_version_name_version', ['name', 'version'])
      .execute();

    await db.schema
      .createTable('model_alias')
      .addColumn('name', t.text, (c) => c.notNull())
      .addColumn('alias', t.text, (c) => c.notNull())
      .addColumn('version', t.integer, (c) => c.notNull())
      .addColumn('updated_at', t.timestamp, (c) => c.notNull())
      .addPrimaryKeyConstraint('model_alias_pk', ['name', 'alias'])
      .execute();
  },
};
