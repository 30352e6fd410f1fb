/**
 * Deployments: one `deployment` row per start of a model server, under a deployment name, with its
 * configuration, the versions it serves (refreshed by its heartbeat) and when it stopped; and the
 * deployment each logged request was served by, so the hub can tell deployments' traffic apart.
 */
import type { Generated } from 'kysely';
import { addAutoIdColumn } from '../portable';
import type { Migration } from './types';

export interface DeploymentTableRow {
  id: Generated<number>;
  name: string;
  /** running | stopped (a row left `running` with an old heartbeat is a lost server). */
  status: string;
  /** Where the server listens, e.g. `http://127.0.0.1:8501`. */
  url: string;
  host: string;
  pid: number;
  /** JSON: DeploymentConfig (schema/src/deployments.ts). */
  config: string;
  /** JSON: ServedVersion[] as of the last heartbeat. */
  served: string;
  started_at: string;
  heartbeat_at: string;
  stopped_at: string | null;
}

declare module '../database' {
  interface FloeDatabase {
    deployment: DeploymentTableRow;
  }
}

export const deploymentsMigration: Migration = {
  name: '006_deployments',
  async up(db, ctx) {
    const t = ctx.types;
    await addAutoIdColumn(db.schema.createTable('deployment'), ctx.dialect)
      .addColumn('name', t.text, (c) => c.notNull())
      .addColumn('status', t.text, (c) => c.notNull())
      .addColumn('url', t.text, (c) => c.notNull())
      .addColumn('host', t.text, (c) => c.notNull())
      .addColumn('pid', t.integer, (c) => c.notNull())
      .addColumn('config', t.json, (c) => c.notNull())
      .addColumn('served', t.json, (c) => c.notNull())
      .addColumn('started_at', t.timestamp, (c) => c.notNull())
      .addColumn('heartbeat_at', t.timestamp, (c) => c.notNull())
      .addColumn('stopped_at', t.timestamp)
      .execute();
    await db.schema.createIndex('deployment_name').on('deployment').columns(['name', 'started_at']).execute();
    // Null for requests logged before this migration or by a server started with deployment records off.
    await db.schema.alterTable('serving_request').addColumn('deployment_id', t.integer).execute();
    await db.schema
      .createIndex('serving_request_deployment_at')
      .on('serving_request')
      .columns(['deployment_id', 'at'])
      .execute();
  },
};
