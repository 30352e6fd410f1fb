import {
  DriftThresholds,
  type DriftReport,
  type DriftStatus,
  type DriftThresholdsInput,
  type DriftWindow,
  type RequestInputSummary,
} from '@floe/schema';
import { ModelRegistry, type ModelRef } from '../registry/registry';
import { openProjectStore, type ProjectStore } from '../store';
import { readJson, storedJson, storedTime } from '../store/portable';
import { showBundle } from '../training/display';
import { driftBundle } from './display';
import { evaluateWindow, type LoggedRequest } from './drift';
import { loadReferenceStatistics } from './reference';

/**
 * A monitoring pass: the logged requests of one model version between `since` and `until`, cut
 * into windows, each compared with the training statistics; the report and its alerts are recorded
 * in the store (drift_report, drift_alert) unless `record` is false.
 */

export interface MonitorOptions {
  /** `name` (latest version), `name:3` or `name@production`. */
  model: string | ModelRef;
  store?: ProjectStore;
  /** Start of the requests looked at (default: the first logged one). */
  since?: Date | string;
  /** End, exclusive (default: now). */
  until?: Date | string;
  /** Window length in ms; default: one window over the whole range. */
  windowMs?: number;
  thresholds?: DriftThresholdsInput;
  /** Record the report and alerts in the store (default true). */
  record?: boolean;
  /** Show the report in the notebook (default: when running in tslab). */
  display?: boolean;
}

const STATUS_ORDER: DriftStatus[] = ['insufficient-data', 'no-reference', 'ok', 'drift'];

function worst(windows: readonly DriftWindow[]): DriftStatus {
  let s: DriftStatus = 'insufficient-data';
  for (const w of windows) if (STATUS_ORDER.indexOf(w.status) > STATUS_ORDER.indexOf(s)) s = w.status;
  return s;
}

function toDate(v: Date | string, what: string): Date {
  const d = v instanceof Date ? v : new Date(v);
  if (Number.isNaN(d.getTime())) throw new RangeError(`monitor: ${what} '${String(v)}' is not a valid time`);
  return d;
}

export async function monitorDrift(opts: MonitorOptions): Promise<DriftReport> {
  const store = opts.store ?? (await openProjectStore());
  try {
    const thresholds = DriftThresholds.parse(opts.thresholds ?? {});
    const version = await new ModelRegistry(store).get(opts.model);
    const sig = version.signature as { channels?: string[]; angleFeature?: string | null };
    const channels = sig.channels ?? [];
    // The signature names an angle feature only for models that take the angle (and are sent one).
    const angleFeature = sig.angleFeature ?? null;
    const reference = await loadReferenceStatistics(store, version, channels, angleFeature);

    let q = store.db
      .selectFrom('serving_request')
      .select(['at', 'instances', 'input_summary', 'outputs'])
      .where('model', '=', version.name)
      .where('version', '=', version.version);
    const until = opts.until !== undefined ? toDate(opts.until, 'until') : new Date();
    q = q.where('at', '<', storedTime(until));
    if (opts.since !== undefined) q = q.where('at', '>=', storedTime(toDate(opts.since, 'since')));
    const rows = await q.orderBy('at').orderBy('id').execute();
    const requests: LoggedRequest[] = rows.map((r) => ({
      at: r.at,
      instances: Number(r.instances),
      inputs: readJson<RequestInputSummary>(r.input_summary),
      outputs: readJson<(number | null)[]>(r.outputs),
    }));

    const start =
      opts.since !== undefined ? toDate(opts.since, 'since') : requests.length ? new Date(requests[0]!.at) : until;
    const windows: DriftWindow[] = [];
    const span = until.getTime() - start.getTime();
    const windowMs = opts.windowMs ?? Math.max(span, 1);
    if (!(windowMs > 0)) throw new RangeError(`monitor: the window must be a positive duration, got ${windowMs} ms`);
    const count = Math.max(1, Math.ceil(span / windowMs));
    if (count > 1000)
      throw new RangeError(`monitor: ${count} windows of ${windowMs} ms; use a longer window or a shorter range`);
    let at = 0;
    for (let i = 0; i < count; i++) {
      const ws = new Date(start.getTime() + i * windowMs);
      const we = i === count - 1 ? until : new Date(start.getTime() + (i + 1) * windowMs);
      const inWindow: LoggedRequest[] = [];
      const end = storedTime(we);
      while (at < requests.length && requests[at]!.at < end) inWindow.push(requests[at++]!);
      windows.push(
        evaluateWindow(reference, inWindow, thresholds, { start: storedTime(ws), end }, channels, angleFeature),
      );
    }

    const report: DriftReport = {
      id: null,
      model: version.name,
      version: version.version,
      createdAt: storedTime(),
      reference: reference
        ? {
            source: reference.source,
            trainingDataset: reference.trainingDataset,
            featureGroup: reference.featureGroup,
            commit: reference.commit,
            rows: reference.rows,
          }
        : null,
      thresholds,
      windows,
    };
    if (opts.record ?? true) {
      report.id = await store.writeTransaction(async (trx) => {
        const alerts = windows.flatMap((w) => w.alerts.map((a) => ({ w, a })));
        const row = await trx
          .insertInto('drift_report')
          .values({
            created_at: report.createdAt,
            model: report.model,
            version: report.version,
            window_start: windows[0]!.start,
            window_end: windows[windows.length - 1]!.end,
            status: worst(windows),
            alerts: alerts.length,
            report: storedJson({ ...report, id: undefined }),
          })
          .returning('id')
          .executeTakeFirstOrThrow();
        if (alerts.length > 0) {
          await trx
            .insertInto('drift_alert')
            .values(
              alerts.map(({ w, a }) => ({
                report_id: row.id,
                created_at: report.createdAt,
                model: report.model,
                version: report.version,
                window_start: w.start,
                window_end: w.end,
                feature: a.feature,
                metric: a.metric,
                value: a.value,
                threshold: a.threshold,
                message: a.message,
              })),
            )
            .execute();
        }
        return row.id;
      });
    }
    if (opts.display ?? true) showBundle(driftBundle(report));
    return report;
  } finally {
    if (!opts.store) await store.close();
  }
}

/** Alerts recorded for a model (newest first). */
export async function driftAlerts(
  store: ProjectStore,
  model: string,
  opts: { since?: Date; limit?: number } = {},
): Promise<
  {
    reportId: number;
    createdAt: string;
    version: number;
    windowStart: string;
    windowEnd: string;
    feature: string;
    metric: string;
    value: number;
    threshold: number;
    message: string;
  }[]
> {
  let q = store.db.selectFrom('drift_alert').selectAll().where('model', '=', model);
  if (opts.since) q = q.where('created_at', '>=', storedTime(opts.since));
  const rows = await q
    .orderBy('created_at', 'desc')
    .orderBy('id', 'desc')
    .limit(opts.limit ?? 100)
    .execute();
  return rows.map((r) => ({
    reportId: r.report_id,
    createdAt: r.created_at,
    version: r.version,
    windowStart: r.window_start,
    windowEnd: r.window_end,
    feature: r.feature,
    metric: r.metric,
    value: r.value,
    threshold: r.threshold,
    message: r.message,
  }));
}
