/**
 * Model serving and drift monitoring: one `serving_request` row per successfully served predict
 * request (written in batches by the request logger, never on the serving path), and the drift
 * reports and alerts that monitoring passes record against the training statistics.
 */
import type { Generated } from 'kysely';
import { addAutoIdColumn } from '../portable';
import type { Migration } from './types';

export interface ServingRequestTableRow {
  id: Generated<number>;
  /** When the response was sent (ISO-8601 UTC). */
  at: string;
  model: string;
  version: number;
  /** How the client named the version: `latest`, `version` or `label:<name>`. */
  selector: string;
  /** Instances in the request. */
  instances: number;
  /** Instances in the batch the request ran in (its own when batching is off). */
  batch_size: number;
  /** Time from the whole body received to the response written, milliseconds. */
  latency_ms: number;
  /** JSON: RequestInputSummary (schema/src/serving.ts): per band moments and histogram, angles. */
  input_summary: string;
  /** JSON: the first output per instance (the probability of "iceberg"). */
  outputs: string;
  /** The deployment (server start) that served it; added by 006_deployments, null before. */
  deployment_id: number | null;
}

export interface DriftReportTableRow {
  id: Generated<number>;
  created_at: string;
  model: string;
  version: number;
  window_start: string;
  window_end: string;
  /** ok | drift | insufficient-data | no-reference, the worst over the report's windows. */
  status: string;
  alerts: number;
  /** JSON: DriftReport (schema/src/serving.ts) without its id. */
  report: string;
}

export interface DriftAlertTableRow {
  id: Generated<number>;
  report_id: number;
  created_at: string;
  model: string;
  version: number;
  window_start: string;
  window_end: string;
  /** A band, the angle feature or `prediction`. */
  feature: string;
  /** psi | ks | mean_shift | missing_rate | positive_rate. */
  metric: string;
  value: number;
  threshold: number;
  message: string;
}

declare module '../database' {
  interface FloeDatabase {
    serving_request: ServingRequestTableRow;
    drift_report: DriftReportTableRow;
    drift_alert: DriftAlertTableRow;
  }
}

export const servingMigration: Migration = {
  name: '005_serving',
  async up(db, ctx) {
    const t = ctx.types;
    await addAutoIdColumn(db.schema.createTable('serving_request'), ctx.dialect)
      .addColumn('at', t.timestamp, (c) => c.notNull())
      .addColumn('model', t.text, (c) => c.notNull())
      .addColumn('version', t.integer, (c) => c.notNull())
      .addColumn('selector', t.text, (c) => c.notNull())
      .addColumn('instances', t.integer, (c) => c.notNull())
      .addColumn('batch_size', t.integer, (c) => c.notNull())
      .addColumn('latency_ms', t.double, (c) => c.notNull())
      .addColumn('input_summary', t.json, (c) => c.notNull())
      .addColumn('outputs', t.json, (c) => c.notNull())
      .execute();
    // Monitoring reads one model version's requests in a time window.
    await db.schema
      .createIndex('serving_request_model_at')
      .on('serving_request')
      .columns(['model', 'version', 'at'])
      .execute();

    await addAutoIdColumn(db.schema.createTable('drift_report'), ctx.dialect)
      .addColumn('created_at', t.timestamp, (c) => c.notNull())
      .addColumn('model', t.text, (c) => c.notNull())
      .addColumn('version', t.integer, (c) => c.notNull())
      .addColumn('window_start', t.timestamp, (c) => c.notNull())
      .addColumn('window_end', t.timestamp, (c) => c.notNull())
      .addColumn('status', t.text, (c) => c.notNull())
      .addColumn('alerts', t.integer, (c) => c.notNull())
      .addColumn('report', t.json, (c) => c.notNull())
      .execute();
    await db.schema
      .createIndex('drift_report_model')
      .on('drift_report')
      .columns(['model', 'version', 'created_at'])
      .execute();

    await addAutoIdColumn(db.schema.createTable('drift_alert'), ctx.dialect)
      .addColumn('report_id', t.integer, (c) => c.notNull().references('drift_report.id').onDelete('cascade'))
      .addColumn('created_at', t.timestamp, (c) => c.notNull())
      .addColumn('model', t.text, (c) => c.notNull())
      .addColumn('version', t.integer, (c) => c.notNull())
      .addColumn('window_start', t.timestamp, (c) => c.notNull())
      .addColumn('window_end', t.timestamp, (c) => c.notNull())
      .addColumn('feature', t.text, (c) => c.notNull())
      .addColumn('metric', t.text, (c) => c.notNull())
      .addColumn('value', t.double, (c) => c.notNull())
      .addColumn('threshold', t.double, (c) => c.notNull())
      .addColumn('message', t.text, (c) => c.notNull())
      .execute();
    await db.schema.createIndex('drift_alert_model').on('drift_alert').columns(['model', 'created_at']).execute();
  },
};
