/**
 * What the Models panel reads about deployments: the latest start recorded under each deployment
 * name (serving/deployment.ts), latency percentiles and throughput of its logged requests over
 * trailing windows and per-minute buckets, and the drift reports and alerts of the versions it serves.
 * Plain library code over the store: the hub's routes call it, tests call it directly.
 */
import type {
  DeploymentConfig,
  DeploymentDetailResponse,
  DeploymentDriftAlert,
  DeploymentDriftStatus,
  DeploymentStatus,
  DeploymentSummary,
  DriftMetric,
  DriftStatus,
  ServedVersion,
  ServingBucket,
  ServingWindowStats,
} from '@floe/schema';
import type { Selectable } from 'kysely';
import type { ProjectStore } from '../store';
import type { DeploymentTableRow } from '../store/migrations/006_deployments';
import { readJson, storedTime } from '../store/portable';
import { NotInStoreError } from './read-models';

/** Trailing windows of the detail view, seconds. */
export const WINDOW_SECONDS = [60, 300, 900] as const;
/** The per-minute series covers this many minutes. */
export const SERIES_MINUTES = 30;
/** Most request rows one detail read looks at (newest first); more and the answer says `sampled`. */
export const MAX_REQUEST_ROWS = 100_000;
/** A running record whose heartbeat is older than this many periods is a lost server. */
const LOST_AFTER_BEATS = 3;

type DeploymentRow = Selectable<DeploymentTableRow>;

interface LoggedLatency {
  at: string;
  latencyMs: number;
  instances: number;
  batchSize: number;
  model: string;
  version: number;
}

/** Nearest-rank percentile of ascending `sorted` (null when empty). */
export function percentile(sorted: readonly number[], p: number): number | null {
  if (!sorted.length) return null;
  const rank = Math.min(sorted.length, Math.max(1, Math.ceil(p * sorted.length)));
  return sorted[rank - 1]!;
}

const round = (v: number | null, digits = 3): number | null => (v === null ? null : Number(v.toFixed(digits)));

export function deploymentStatus(row: DeploymentRow, now: Date): DeploymentStatus {
  if (row.status === 'stopped') return 'stopped';
  const beat = readJson<DeploymentConfig>(row.config).heartbeatMs;
  return now.getTime() - new Date(row.heartbeat_at).getTime() > LOST_AFTER_BEATS * beat ? 'lost' : 'running';
}

function windowStats(rows: readonly LoggedLatency[], seconds: number, coveredSeconds: number): ServingWindowStats {
  const latencies = rows.map((r) => r.latencyMs).sort((a, b) => a - b);
  const instances = rows.reduce((s, r) => s + r.instances, 0);
  // Rates over the part of the window the deployment existed, so a server started a minute ago
  // does not read as a fifteenth of its real throughput in the 15-minute window.
  const span = Math.max(1, Math.min(seconds, coveredSeconds));
  return {
    seconds,
    requests: rows.length,
    instances,
    requestsPerSecond: round(rows.length / span)!,
    instancesPerSecond: round(instances / span)!,
    latencyP50: round(percentile(latencies, 0.5)),
    latencyP95: round(percentile(latencies, 0.95)),
    latencyP99: round(percentile(latencies, 0.99)),
    meanBatchSize: rows.length ? round(rows.reduce((s, r) => s + r.batchSize, 0) / rows.length) : null,
  };
}

/** The counter `/v1/events` adds as `serving`: moves with logged requests, drift alerts and heartbeats. */
export async function servingChangeCounter(store: ProjectStore): Promise<string> {
  const db = store.db;
  const [requests, alerts, beats] = await Promise.all([
    db
      .selectFrom('serving_request')
      .select((eb) => eb.fn.max<number | null>('id').as('v'))
      .executeTakeFirst(),
    db
      .selectFrom('drift_alert')
      .select((eb) => eb.fn.max<number | null>('id').as('v'))
      .executeTakeFirst(),
    db
      .selectFrom('deployment')
      .select((eb) => eb.fn.max<string | null>('heartbeat_at').as('v'))
      .executeTakeFirst(),
  ]);
  return `${requests?.v ?? 0}:${alerts?.v ?? 0}:${beats?.v ?? ''}`;
}

export class DeploymentReads {
  constructor(readonly store: ProjectStore) {}

  /** The latest start of every deployment name, by name. */
  async list(now = new Date()): Promise<DeploymentSummary[]> {
    const db = this.store.db;
    const latest = await db
      .selectFrom('deployment')
      .selectAll()
      .where(
        'id',
        'in',
        db
          .selectFrom('deployment')
          .select((eb) => eb.fn.max<number>('id').as('id'))
          .groupBy('name'),
      )
      .orderBy('name')
      .execute();
    if (!latest.length) return [];
    const since = storedTime(now.getTime() - 5 * 60_000);
    const counts = await db
      .selectFrom('serving_request')
      .innerJoin('deployment', 'deployment.id', 'serving_request.deployment_id')
      .select((eb) => ['deployment.name as name', eb.fn.countAll<number>().as('n')])
      .where('serving_request.at', '>=', since)
      .groupBy('deployment.name')
      .execute();
    const recent = new Map(counts.map((c) => [c.name, Number(c.n)]));
    const alertCounts = await this.alertCountsSince(new Date(now.getTime() - 24 * 3600_000));
    return latest.map((row) => {
      const served = readJson<ServedVersion[]>(row.served);
      const alerts = served.reduce((s, v) => s + (alertCounts.get(`${v.model}\u0000${v.version}`) ?? 0), 0);
      return summary(row, now, recent.get(row.name) ?? 0, alerts);
    });
  }

  private async alertCountsSince(since: Date): Promise<Map<string, number>> {
    const rows = await this.store.db
      .selectFrom('drift_alert')
      .select((eb) => ['model', 'version', eb.fn.countAll<number>().as('n')])
      .where('created_at', '>=', storedTime(since))
      .groupBy(['model', 'version'])
      .execute();
    return new Map(rows.map((r) => [`${r.model}\u0000${r.version}`, Number(r.n)]));
  }

  /** One deployment: its latest start, earlier starts, traffic windows and series, drift. */
  async detail(name: string, now = new Date()): Promise<DeploymentDetailResponse> {
    const db = this.store.db;
    const starts = await db
      .selectFrom('deployment')
      .selectAll()
      .where('name', '=', name)
      .orderBy('id', 'desc')
      .limit(21)
      .execute();
    const row = starts[0];
    if (!row) throw new NotInStoreError(`no deployment '${name}' in this project`);
    const status = deploymentStatus(row, now);
    const asOf = status === 'running' ? now : new Date(row.stopped_at ?? row.heartbeat_at);
    const seriesStart = asOf.getTime() - SERIES_MINUTES * 60_000;
    const logged = await db
      .selectFrom('serving_request')
      .select(['at', 'latency_ms', 'instances', 'batch_size', 'model', 'version'])
      .where('deployment_id', 'in', db.selectFrom('deployment').select('id').where('name', '=', name))
      .where('at', '>=', storedTime(seriesStart))
      .where('at', '<=', storedTime(asOf))
      .orderBy('at', 'desc')
      .limit(MAX_REQUEST_ROWS)
      .execute();
    const rows: LoggedLatency[] = logged.map((r) => ({
      at: r.at,
      latencyMs: Number(r.latency_ms),
      instances: Number(r.instances),
      batchSize: Number(r.batch_size),
      model: r.model,
      version: Number(r.version),
    }));
    // The oldest start still in `starts` bounds how long the name has been serving (rates over that).
    const firstStart = new Date(starts[starts.length - 1]!.started_at).getTime();
    const covered = (asOf.getTime() - firstStart) / 1000;
    const windows = WINDOW_SECONDS.map((seconds) => {
      const from = storedTime(asOf.getTime() - seconds * 1000);
      return windowStats(
        rows.filter((r) => r.at >= from),
        seconds,
        covered,
      );
    });

    const buckets: LoggedLatency[][] = Array.from({ length: SERIES_MINUTES }, () => []);
    for (const r of rows) {
      const i = Math.floor((new Date(r.at).getTime() - seriesStart) / 60_000);
      buckets[Math.min(SERIES_MINUTES - 1, Math.max(0, i))]!.push(r);
    }
    const series: ServingBucket[] = buckets.map((b, i) => {
      const latencies = b.map((r) => r.latencyMs).sort((x, y) => x - y);
      return {
        start: storedTime(seriesStart + i * 60_000),
        requests: b.length,
        requestsPerSecond: round(b.length / 60)!,
        latencyP50: round(percentile(latencies, 0.5)),
        latencyP95: round(percentile(latencies, 0.95)),
      };
    });

    const from15 = storedTime(asOf.getTime() - 900_000);
    const perVersion = new Map<string, { model: string; version: number; requests: number }>();
    for (const r of rows) {
      if (r.at < from15) continue;
      const key = `${r.model}\u0000${r.version}`;
      const entry = perVersion.get(key) ?? { model: r.model, version: r.version, requests: 0 };
      entry.requests++;
      perVersion.set(key, entry);
    }
    const byVersion = [...perVersion.values()].sort((a, b) => a.model.localeCompare(b.model) || a.version - b.version);

    const served = readJson<ServedVersion[]>(row.served);
    const pairs = new Map<string, { model: string; version: number }>();
    for (const v of [...served.map((s) => ({ model: s.model, version: s.version })), ...byVersion])
      pairs.set(`${v.model}\u0000${v.version}`, { model: v.model, version: v.version });
    const [drift, alerts, alertCounts] = await Promise.all([
      this.latestDrift([...pairs.values()]),
      this.alertsOf([...pairs.values()]),
      this.alertCountsSince(new Date(now.getTime() - 24 * 3600_000)),
    ]);
    const recentFrom = storedTime(asOf.getTime() - 300_000);
    return {
      deployment: summary(
        row,
        now,
        rows.filter((r) => r.at >= recentFrom).length,
        served.reduce((s, v) => s + (alertCounts.get(`${v.model}\u0000${v.version}`) ?? 0), 0),
      ),
      config: readJson<DeploymentConfig>(row.config),
      history: starts.slice(1).map((s) => ({
        id: s.id,
        status: deploymentStatus(s, now),
        startedAt: s.started_at,
        stoppedAt: s.stopped_at,
      })),
      asOf: storedTime(asOf),
      windows,
      series,
      byVersion,
      sampled: logged.length >= MAX_REQUEST_ROWS,
      drift,
      alerts,
    };
  }

  private async latestDrift(pairs: { model: string; version: number }[]): Promise<DeploymentDriftStatus[]> {
    if (!pairs.length) return [];
    const out: DeploymentDriftStatus[] = [];
    for (const p of pairs) {
      const r = await this.store.db
        .selectFrom('drift_report')
        .select(['id', 'created_at', 'status', 'alerts'])
        .where('model', '=', p.model)
        .where('version', '=', p.version)
        .orderBy('created_at', 'desc')
        .orderBy('id', 'desc')
        .limit(1)
        .executeTakeFirst();
      if (r)
        out.push({
          model: p.model,
          version: p.version,
          reportId: r.id,
          createdAt: r.created_at,
          status: r.status as DriftStatus,
          alerts: Number(r.alerts),
        });
    }
    return out;
  }

  private async alertsOf(pairs: { model: string; version: number }[]): Promise<DeploymentDriftAlert[]> {
    if (!pairs.length) return [];
    const rows = await this.store.db
      .selectFrom('drift_alert')
      .selectAll()
      .where((eb) => eb.or(pairs.map((p) => eb.and([eb('model', '=', p.model), eb('version', '=', p.version)]))))
      .orderBy('created_at', 'desc')
      .orderBy('id', 'desc')
      .limit(50)
      .execute();
    return rows.map((r) => ({
      id: r.id,
      reportId: r.report_id,
      createdAt: r.created_at,
      model: r.model,
      version: Number(r.version),
      windowStart: r.window_start,
      windowEnd: r.window_end,
      feature: r.feature,
      metric: r.metric as DriftMetric,
      value: Number(r.value),
      threshold: Number(r.threshold),
      message: r.message,
    }));
  }
}

function summary(row: DeploymentRow, now: Date, recentRequests: number, recentAlerts: number): DeploymentSummary {
  return {
    id: row.id,
    name: row.name,
    status: deploymentStatus(row, now),
    url: row.url,
    host: row.host,
    pid: Number(row.pid),
    startedAt: row.started_at,
    heartbeatAt: row.heartbeat_at,
    stoppedAt: row.stopped_at,
    served: readJson<ServedVersion[]>(row.served),
    recentRequests,
    recentAlerts,
  };
}
