/**
 * Search state in the project store (tables of migrations/004_search.ts). The driver writes through
 * here; notebooks, the CLI and the hub read through here.
 */
import * as os from 'node:os';
import type { Kysely } from 'kysely';
import type { SearchStatus, TrialParams, TrialStatus } from '@floe/schema';
import { readJson, storedJson, storedTime, type FloeDatabase, type ProjectStore } from '../store';
import type { SearchConfig } from './config';

export class SearchNotFoundError extends Error {
  override name = 'SearchNotFoundError';
}

export interface SearchRecord {
  id: number;
  name: string;
  kind: 'search' | 'ablation';
  config: SearchConfig;
  status: SearchStatus;
  createdAt: string;
  updatedAt: string;
  finishedAt: string | null;
  driver: string | null;
  driverHeartbeatAt: string | null;
  stopRequested: boolean;
  runId: number | null;
  error: string | null;
}

export interface TrialRecord {
  id: number;
  number: number;
  params: TrialParams;
  budget: number | null;
  rung: number | null;
  promotedFrom: number | null;
  status: TrialStatus;
  attempt: number;
  failures: number;
  seed: number;
  worker: string | null;
  startedAt: string | null;
  finishedAt: string | null;
  durationMs: number | null;
  metric: number | null;
  bestMetric: number | null;
  steps: number;
  stopReason: string | null;
  error: string | null;
  runId: number | null;
  /** Metric per report of the current attempt. */
  curve: number[];
}

export function driverIdentity(): string {
  let user = 'unknown';
  try {
    user = os.userInfo().username;
  } catch {
    // no passwd entry
  }
  return `${user}@${os.hostname()}:${process.pid}`;
}

/** True when `driver` (user@host:pid) names a process on this host that no longer exists. */
function deadLocalProcess(driver: string | null): boolean {
  const m = driver ? /@(.+):(\d+)$/.exec(driver) : null;
  if (!m || m[1] !== os.hostname()) return false;
  try {
    process.kill(Number(m[2]), 0);
    return false;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'ESRCH';
  }
}

export class SearchRepository {
  constructor(
    readonly store: ProjectStore,
    /** A transaction to work in (the driver's batched writes); default: the store's connection. */
    private readonly trx?: Kysely<FloeDatabase>,
  ) {}

  private get db(): Kysely<FloeDatabase> {
    return this.trx ?? this.store.db;
  }

  async createSearch(config: SearchConfig): Promise<number> {
    const now = storedTime();
    const row = await this.db
      .insertInto('search')
      .values({
        name: config.name,
        kind: config.kind ?? 'search',
        config: storedJson(config),
        status: 'running',
        created_at: now,
        updated_at: now,
        finished_at: null,
        driver: driverIdentity(),
        driver_heartbeat_at: now,
        stop_requested: 0,
        run_id: null,
        error: null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    await this.store.audit(
      'search.create',
      `search:${row.id}`,
      { name: config.name, kind: config.kind ?? 'search' },
      this.trx,
    );
    return row.id;
  }

  async getSearch(id: number): Promise<SearchRecord> {
    const r = await this.db.selectFrom('search').selectAll().where('id', '=', id).executeTakeFirst();
    if (!r) throw new SearchNotFoundError(`no search with id ${id} in the project store ${this.store.home}`);
    return {
      id: r.id,
      name: r.name,
      kind: r.kind as SearchRecord['kind'],
      config: readJson<SearchConfig>(r.config),
      status: r.status as SearchStatus,
      createdAt: r.created_at,
      updatedAt: r.updated_at,
      finishedAt: r.finished_at,
      driver: r.driver,
      driverHeartbeatAt: r.driver_heartbeat_at,
      stopRequested: Number(r.stop_requested) !== 0,
      runId: r.run_id,
      error: r.error,
    };
  }

  async listSearches(kind?: 'search' | 'ablation'): Promise<SearchRecord[]> {
    let q = this.db.selectFrom('search').select('id').orderBy('id', 'desc');
    if (kind) q = q.where('kind', '=', kind);
    const ids = await q.execute();
    return Promise.all(ids.map((r) => this.getSearch(r.id)));
  }

  /**
   * Makes this process the search's driver unless another driver said it was alive within `staleMs`.
   * Returns the previous driver when it refuses.
   */
  async claimDriver(
    id: number,
    staleMs: number,
    force = false,
  ): Promise<{ ok: true } | { ok: false; driver: string; lastSeen: string }> {
    return this.store.writeTransaction(async (trx) => {
      const r = await trx
        .selectFrom('search')
        .select(['driver', 'driver_heartbeat_at', 'status'])
        .where('id', '=', id)
        .executeTakeFirst();
      if (!r) throw new SearchNotFoundError(`no search with id ${id}`);
      const me = driverIdentity();
      const fresh =
        r.driver_heartbeat_at !== null &&
        Date.now() - new Date(r.driver_heartbeat_at).getTime() < staleMs &&
        !deadLocalProcess(r.driver);
      if (!force && r.driver && r.driver !== me && fresh && (r.status === 'running' || r.status === 'stopping')) {
        return { ok: false as const, driver: r.driver, lastSeen: r.driver_heartbeat_at! };
      }
      const now = storedTime();
      await trx
        .updateTable('search')
        .set({ driver: me, driver_heartbeat_at: now, updated_at: now })
        .where('id', '=', id)
        .execute();
      return { ok: true as const };
    });
  }

  async heartbeat(id: number): Promise<{ stopRequested: boolean }> {
    const now = storedTime();
    await this.db.updateTable('search').set({ driver_heartbeat_at: now }).where('id', '=', id).execute();
    const r = await this.db.selectFrom('search').select('stop_requested').where('id', '=', id).executeTakeFirst();
    return { stopRequested: Number(r?.stop_requested ?? 0) !== 0 };
  }

  async setStatus(id: number, status: SearchStatus, error: string | null = null): Promise<void> {
    const now = storedTime();
    const done = status === 'completed' || status === 'stopped' || status === 'failed';
    await this.db
      .updateTable('search')
      .set({ status, updated_at: now, error, ...(done ? { finished_at: now } : {}) })
      .where('id', '=', id)
      .execute();
  }

  async setRunId(id: number, runId: number): Promise<void> {
    await this.db.updateTable('search').set({ run_id: runId }).where('id', '=', id).execute();
  }

  /** Asks the search to stop; its driver ends it cleanly (running trials are told to stop). */
  async requestStop(id: number): Promise<void> {
    await this.getSearch(id);
    await this.db
      .updateTable('search')
      .set({ stop_requested: 1, updated_at: storedTime() })
      .where('id', '=', id)
      .execute();
    await this.store.audit('search.stop', `search:${id}`, undefined, this.trx);
  }

  /** Clears a stop request (a resumed search should run again). */
  async clearStop(id: number): Promise<void> {
    await this.db
      .updateTable('search')
      .set({ stop_requested: 0, status: 'running', finished_at: null })
      .where('id', '=', id)
      .execute();
  }

  async createTrial(
    searchId: number,
    t: {
      number: number;
      params: TrialParams;
      budget: number | null;
      rung: number | null;
      promotedFrom: number | null;
      seed: number;
    },
  ): Promise<number> {
    const row = await this.db
      .insertInto('search_trial')
      .values({
        search_id: searchId,
        number: t.number,
        params: storedJson(t.params),
        budget: t.budget,
        rung: t.rung,
        promoted_from: t.promotedFrom,
        status: 'pending',
        attempt: 0,
        failures: 0,
        seed: t.seed,
        worker: null,
        started_at: null,
        finished_at: null,
        duration_ms: null,
        metric: null,
        best_metric: null,
        steps: 0,
        stop_reason: null,
        error: null,
        run_id: null,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    return row.id;
  }

  async updateTrial(
    trialId: number,
    set: Partial<{
      status: TrialStatus;
      attempt: number;
      failures: number;
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
    }>,
  ): Promise<void> {
    await this.db.updateTable('search_trial').set(set).where('id', '=', trialId).execute();
  }

  async appendMetrics(
    rows: { trialId: number; attempt: number; idx: number; step: number; value: number; at: string }[],
  ): Promise<void> {
    for (let i = 0; i < rows.length; i += 400) {
      const chunk = rows.slice(i, i + 400);
      await this.db
        .insertInto('search_metric')
        .values(
          chunk.map((r) => ({
            trial_id: r.trialId,
            attempt: r.attempt,
            idx: r.idx,
            step: r.step,
            value: r.value,
            at: r.at,
          })),
        )
        .onConflict((oc) => oc.columns(['trial_id', 'attempt', 'idx']).doNothing())
        .execute();
    }
  }

  /** Every trial of a search, in number order, each with the curve of its current attempt. */
  async listTrials(searchId: number): Promise<TrialRecord[]> {
    const rows = await this.db
      .selectFrom('search_trial')
      .selectAll()
      .where('search_id', '=', searchId)
      .orderBy('number')
      .execute();
    const metrics = rows.length
      ? await this.db
          .selectFrom('search_metric')
          .innerJoin('search_trial', 'search_trial.id', 'search_metric.trial_id')
          .select(['search_metric.trial_id', 'search_metric.attempt', 'search_metric.idx', 'search_metric.value'])
          .where('search_trial.search_id', '=', searchId)
          .orderBy('search_metric.trial_id')
          .orderBy('search_metric.idx')
          .execute()
      : [];
    const byTrial = new Map<number, { attempt: number; idx: number; value: number }[]>();
    for (const m of metrics) {
      const list = byTrial.get(m.trial_id) ?? [];
      list.push(m);
      byTrial.set(m.trial_id, list);
    }
    return rows.map((r) => ({
      id: r.id,
      number: r.number,
      params: readJson<TrialParams>(r.params),
      budget: r.budget,
      rung: r.rung,
      promotedFrom: r.promoted_from,
      status: r.status as TrialStatus,
      attempt: r.attempt,
      failures: r.failures,
      seed: Number(r.seed),
      worker: r.worker,
      startedAt: r.started_at,
      finishedAt: r.finished_at,
      durationMs: r.duration_ms,
      metric: r.metric,
      bestMetric: r.best_metric,
      steps: r.steps,
      stopReason: r.stop_reason,
      error: r.error,
      runId: r.run_id,
      curve: (byTrial.get(r.id) ?? []).filter((m) => m.attempt === r.attempt).map((m) => m.value),
    }));
  }
}
