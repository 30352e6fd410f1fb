/**
 * Hyperparameter search and ablation state: one `search` row per search or ablation study, its
 * trials, and each trial's metric per reported step. The driver is the only writer; a restarted
 * driver rebuilds everything it needs from these rows (see search/repository.ts).
 */
import type { Generated } from 'kysely';
import { addAutoIdColumn } from '../portable';
import type { Migration } from './types';

export interface SearchTableRow {
  id: Generated<number>;
  name: string;
  /** `search` or `ablation`. */
  kind: string;
  /** JSON: the full SearchConfig (space, optimizer, stopping rule, trial function, workers, seed). */
  config: string;
  /** running | stopping | completed | stopped | failed (schema/src/search.ts SearchStatus). */
  status: string;
  created_at: string;
  updated_at: string;
  finished_at: string | null;
  /** user@host:pid of the driver that owns the search, and when it last said it was alive. */
  driver: string | null;
  driver_heartbeat_at: string | null;
  /** 0/1: someone asked the search to stop; the driver notices and ends it cleanly. */
  stop_requested: number;
  /** Run id of the search (parent) run in the experiment tracker, when recorded there. */
  run_id: number | null;
  error: string | null;
}

export interface SearchTrialTableRow {
  id: Generated<number>;
  search_id: number;
  /** 1, 2, 3, ... within the search. */
  number: number;
  /** JSON: the trial's parameters. */
  params: string;
  budget: number | null;
  rung: number | null;
  promoted_from: number | null;
  /** pending | running | completed | stopped | error | cancelled. */
  status: string;
  /** Attempts started (requeues after a driver restart and retries after a crash both count). */
  attempt: number;
  /** Attempts that failed (the trial is retried once, then marked error). */
  failures: number;
  seed: number;
  worker: string | null;
  started_at: string | null;
  finished_at: string | null;
  duration_ms: number | null;
  metric: number | null;
  best_metric: number | null;
  steps: number;
  stop_reason: string | null;
  error: string | null;
  run_id: number | null;
}

export interface SearchMetricTableRow {
  trial_id: number;
  attempt: number;
  /** 0-based index of the report within the attempt. */
  idx: number;
  /** The step number the trial reported. */
  step: number;
  value: number;
  at: string;
}

declare module '../database' {
  interface FloeDatabase {
    search: SearchTableRow;
    search_trial: SearchTrialTableRow;
    search_metric: SearchMetricTableRow;
  }
}

export const searchMigration: Migration = {
  name: '004_search',
  async up(db, ctx) {
    const t = ctx.types;
    await addAutoIdColumn(db.schema.createTable('search'), ctx.dialect)
      .addColumn('name', t.text, (c) => c.notNull())
      .addColumn('kind', t.text, (c) => c.notNull())
      .addColumn('config', t.json, (c) => c.notNull())
      .addColumn('status', t.text, (c) => c.notNull())
      .addColumn('created_at', t.timestamp, (c) => c.notNull())
      .addColumn('updated_at', t.timestamp, (c) => c.notNull())
      .addColumn('finished_at', t.timestamp)
      .addColumn('driver', t.text)
      .addColumn('driver_heartbeat_at', t.timestamp)
      .addColumn('stop_requested', t.boolean, (c) => c.notNull().defaultTo(0))
      .addColumn('run_id', t.integer)
      .addColumn('error', t.text)
      .execute();
    await addAutoIdColumn(db.schema.createTable('search_trial'), ctx.dialect)
      .addColumn('search_id', t.integer, (c) => c.notNull().references('search.id'))
      .addColumn('number', t.integer, (c) => c.notNull())
      .addColumn('params', t.json, (c) => c.notNull())
      .addColumn('budget', t.double)
      .addColumn('rung', t.integer)
      .addColumn('promoted_from', t.integer)
      .addColumn('status', t.text, (c) => c.notNull())
      .addColumn('attempt', t.integer, (c) => c.notNull().defaultTo(0))
      .addColumn('failures', t.integer, (c) => c.notNull().defaultTo(0))
      .addColumn('seed', t.bigint, (c) => c.notNull())
      .addColumn('worker', t.text)
      .addColumn('started_at', t.timestamp)
      .addColumn('finished_at', t.timestamp)
      .addColumn('duration_ms', t.double)
      .addColumn('metric', t.double)
      .addColumn('best_metric', t.double)
      .addColumn('steps', t.integer, (c) => c.notNull().defaultTo(0))
      .addColumn('stop_reason', t.text)
      .addColumn('error', t.text)
      .addColumn('run_id', t.integer)
      .addUniqueConstraint('search_trial_number', ['search_id', 'number'])
      .execute();
    await db.schema
      .createTable('search_metric')
      .addColumn('trial_id', t.integer, (c) => c.notNull().references('search_trial.id'))
      .addColumn('attempt', t.integer, (c) => c.notNull())
      .addColumn('idx', t.integer, (c) => c.notNull())
      .addColumn('step', t.integer, (c) => c.notNull())
      .addColumn('value', t.double, (c) => c.notNull())
      .addColumn('at', t.timestamp, (c) => c.notNull())
      .addPrimaryKeyConstraint('search_metric_pk', ['trial_id', 'attempt', 'idx'])
      .execute();
  },
};
