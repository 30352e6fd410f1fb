/**
 * Core tables every project has: `meta` (project identity and schema version) and `audit_log`
 * (who did what to the store, for reviewers and operators).
 */
import { randomUUID } from 'node:crypto';
import type { Generated } from 'kysely';
import { addAutoIdColumn, storedTime } from '../portable';
import type { Migration } from './types';

/** Key/value facts about the project: `project_id`, `created_at`, `schema_version`. */
export interface MetaTable {
  key: string;
  value: string;
}

export interface AuditLogTable {
  id: Generated<number>;
  /** ISO-8601 UTC (portable.storedTime). */
  at: string;
  /** user@host:pid of the process that acted. */
  actor: string;
  /** A verb in the domain, e.g. `feature_group.create`. */
  action: string;
  /** What was acted on, e.g. `feature_group:iceberg_patches/1`. */
  subject: string;
  /** JSON text (portable.storedJson) or null. */
  details: string | null;
}

declare module '../database' {
  interface FloeDatabase {
    meta: MetaTable;
    audit_log: AuditLogTable;
  }
}

export const coreMigration: Migration = {
  name: '001_core',
  async up(db, ctx) {
    await db.schema
      .createTable('meta')
      .addColumn('key', ctx.types.text, (c) => c.primaryKey())
      .addColumn('value', ctx.types.text, (c) => c.notNull())
      .execute();
    await addAutoIdColumn(db.schema.createTable('audit_log'), ctx.dialect)
      .addColumn('at', ctx.types.timestamp, (c) => c.notNull())
      .addColumn('actor', ctx.types.text, (c) => c.notNull())
      .addColumn('action', ctx.types.text, (c) => c.notNull())
      .addColumn('subject', ctx.types.text, (c) => c.notNull())
      .addColumn('details', ctx.types.json)
      .execute();
    await db.schema.createIndex('audit_log_at').on('audit_log').column('at').execute();
    await db
      .insertInto('meta')
      .values([
        { key: 'project_id', value: randomUUID() },
        { key: 'created_at', value: storedTime() },
      ])
      .execute();
  },
};
