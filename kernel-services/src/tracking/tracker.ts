import { createHash } from 'node:crypto';
import * as os from 'node:os';
import type {
  ArtifactKind,
  CheckpointRef,
  CodeSnapshot,
  DatasetLineage,
  Experiment,
  MetricPoint,
  MetricScope,
  Run,
  RunArtifact,
  RunEnvironment,
  RunStatus,
} from '@floe/schema';
import type { Kysely, Selectable } from 'kysely';
import type { FloeDatabase, ProjectStore } from '../store';
import { readJson, storedJson, storedTime } from '../store/portable';
import type { RunTableRow } from '../store/migrations/003_experiments';

/**
 * Experiment tracking on the project store: experiments, runs (params, metrics per step and epoch,
 * environment, dataset lineage, code snapshot, artifacts on the blob store), queries over them, and the
 * clean-up of runs whose process is gone.
 */

export class RunNotFoundError extends Error {
  override name = 'RunNotFoundError';
  constructor(readonly runId: number) {
    super(`no run ${runId} in this project`);
  }
}

/** Runs this process is driving: a `running` row with this host and pid but not in this set is stale. */
const liveRunsInThisProcess = new Set<number>();

function toRun(row: Selectable<RunTableRow> & { experiment: string }): Run {
  return {
    id: row.id,
    experimentId: row.experiment_id,
    experiment: row.experiment,
    name: row.name,
    status: row.status as RunStatus,
    params: readJson(row.params),
    summary: readJson(row.summary),
    environment: readJson(row.environment),
    dataset: readJson(row.dataset),
    code: readJson(row.code),
    checkpoint: readJson(row.checkpoint),
    parentRunId: row.parent_run_id,
    tags: readJson(row.tags),
    error: row.error,
    epochsCompleted: row.epochs_completed,
    startedAt: row.started_at,
    endedAt: row.ended_at,
    heartbeatAt: row.heartbeat_at,
    host: row.host,
    pid: row.pid,
  };
}

export interface StartRunOptions {
  experiment: string;
  name?: string;
  params?: Record<string, unknown>;
  parentRunId?: number | null;
  tags?: Record<string, string>;
  dataset?: DatasetLineage | null;
  environment?: RunEnvironment | null;
}

/** A run recorded after the fact (`recordEndedRun`). */
export interface EndedRunOptions {
  experiment: string;
  name: string;
  params?: Record<string, unknown>;
  parentRunId?: number | null;
  tags?: Record<string, string>;
  status: Exclude<RunStatus, 'running'>;
  error?: string | null;
  /** Metrics after each epoch (index 0 = epoch 1). */
  epochs: Record<string, number>[];
  final?: Record<string, number>;
  startedAt?: string | null;
  endedAt?: string | null;
}

export interface RunFilter {
  experiment?: string;
  status?: RunStatus | RunStatus[];
  parentRunId?: number | null;
  trainingDatasetId?: number;
  /** Every given tag must match. */
  tags?: Record<string, string>;
  /** Every given param must equal (JSON equality) the run's param; dotted names reach into objects. */
  params?: Record<string, unknown>;
  /** Summary-metric conditions, e.g. `{ name: 'val_accuracy', op: '>=', value: 0.8 }`. */
  metrics?: { name: string; op: '<' | '<=' | '>' | '>=' | '='; value: number }[];
  /** Sort by a summary metric (runs without it last) or by start time (default, newest first). */
  orderBy?: { metric: string; direction?: 'asc' | 'desc' } | 'started';
  limit?: number;
}

export interface RunComparison {
  runs: Run[];
  /** Params whose values differ between the runs (dotted names), with each run's value. */
  differingParams: Record<string, unknown[]>;
  /** Every summary metric of any run, with each run's value (null where absent). */
  metrics: Record<string, (number | null)[]>;
}

function paramAt(params: Record<string, unknown>, dotted: string): unknown {
  let v: unknown = params;
  for (const part of dotted.split('.')) {
    if (v === null || typeof v !== 'object') return undefined;
    v = (v as Record<string, unknown>)[part];
  }
  return v;
}

function flatten(value: unknown, prefix = '', out: Record<string, unknown> = {}): Record<string, unknown> {
  if (value !== null && typeof value === 'object' && !Array.isArray(value)) {
    for (const [k, v] of Object.entries(value)) flatten(v, prefix ? `${prefix}.${k}` : k, out);
  } else if (prefix) {
    out[prefix] = value;
  }
  return out;
}

function pidAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

export class ExperimentTracker {
  /** Experiment ids by name, for `recordEndedRun` (experiments are never renamed or deleted). */
  private readonly experimentIds = new Map<string, number>();

  constructor(readonly store: ProjectStore) {}

  /** The experiment of that name, created on first use. */
  async experiment(name: string, description = ''): Promise<Experiment> {
    if (!name.trim()) throw new RangeError('an experiment needs a name');
    const db = this.store.db;
    const found = await db.selectFrom('experiment').selectAll().where('name', '=', name).executeTakeFirst();
    if (found) return { id: found.id, name: found.name, description: found.description, createdAt: found.created_at };
    await db
      .insertInto('experiment')
      .values({ name, description, created_at: storedTime() })
      .onConflict((oc) => oc.column('name').doNothing())
      .execute();
    const row = await db.selectFrom('experiment').selectAll().where('name', '=', name).executeTakeFirstOrThrow();
    return { id: row.id, name: row.name, description: row.description, createdAt: row.created_at };
  }

  async listExperiments(): Promise<(Experiment & { runs: number })[]> {
    const rows = await this.store.db
      .selectFrom('experiment')
      .leftJoin('run', 'run.experiment_id', 'experiment.id')
      .select((eb) => [
        'experiment.id',
        'experiment.name',
        'experiment.description',
        'experiment.created_at',
        eb.fn.count<number>('run.id').as('runs'),
      ])
      .groupBy(['experiment.id', 'experiment.name', 'experiment.description', 'experiment.created_at'])
      .orderBy('experiment.name')
      .execute();
    return rows.map((r) => ({
      id: r.id,
      name: r.name,
      description: r.description,
      createdAt: r.created_at,
      runs: Number(r.runs),
    }));
  }

  /** Starts a run (status `running`) owned by this process. */
  async startRun(opts: StartRunOptions): Promise<ActiveRun> {
    const exp = await this.experiment(opts.experiment);
    if (opts.parentRunId != null) await this.getRun(opts.parentRunId);
    const now = storedTime();
    const inserted = await this.store.db
      .insertInto('run')
      .values({
        experiment_id: exp.id,
        name: opts.name ?? '',
        status: 'running',
        params: storedJson(opts.params ?? {}),
        summary: '{}',
        environment: opts.environment ? storedJson(opts.environment) : null,
        dataset: opts.dataset ? storedJson(opts.dataset) : null,
        training_dataset_id: opts.dataset?.trainingDatasetId ?? null,
        code: null,
        checkpoint: null,
        parent_run_id: opts.parentRunId ?? null,
        tags: storedJson(opts.tags ?? {}),
        error: null,
        epochs_completed: 0,
        started_at: now,
        ended_at: null,
        heartbeat_at: now,
        host: os.hostname(),
        pid: process.pid,
      })
      .returning('id')
      .executeTakeFirstOrThrow();
    const id = inserted.id;
    if (!opts.name)
      await this.store.db
        .updateTable('run')
        .set({ name: `run-${id}` })
        .where('id', '=', id)
        .execute();
    await this.store.audit('run.start', `run:${id}`, { experiment: exp.name });
    return new ActiveRun(this, id, {}, 0);
  }

  /**
   * Records a run that already ended (a search trial) in one write transaction: the row, its epoch
   * curve and final metrics as one multi-row insert, summary and status. `link` runs in the same
   * transaction (a search stores the run id on its trial there, so a crash leaves both or neither).
   * The experiment's id is looked up once per tracker.
   */
  async recordEndedRun(
    opts: EndedRunOptions,
    link?: (trx: Kysely<FloeDatabase>, runId: number) => Promise<void>,
  ): Promise<number> {
    let experimentId = this.experimentIds.get(opts.experiment);
    if (experimentId === undefined) {
      experimentId = (await this.experiment(opts.experiment)).id;
      this.experimentIds.set(opts.experiment, experimentId);
    }
    const expId = experimentId;
    const now = storedTime();
    const summary: Record<string, number> = {};
    const metricRows: { name: string; scope: 'epoch' | 'final'; step: number; value: number }[] = [];
    opts.epochs.forEach((values, i) => {
      for (const [name, value] of Object.entries(values)) {
        if (!Number.isFinite(value)) continue;
        metricRows.push({ name, scope: 'epoch', step: i + 1, value });
        summary[name] = value;
      }
    });
    for (const [name, value] of Object.entries(opts.final ?? {})) {
      if (!Number.isFinite(value)) continue;
      metricRows.push({ name, scope: 'final', step: 0, value });
      summary[name] = value;
    }
    return this.store.writeTransaction(async (trx) => {
      const { id } = await trx
        .insertInto('run')
        .values({
          experiment_id: expId,
          name: opts.name,
          status: opts.status,
          params: storedJson(opts.params ?? {}),
          summary: storedJson(summary),
          environment: null,
          dataset: null,
          training_dataset_id: null,
          code: null,
          checkpoint: null,
          parent_run_id: opts.parentRunId ?? null,
          tags: storedJson(opts.tags ?? {}),
          error: opts.error ?? null,
          epochs_completed: opts.epochs.length,
          started_at: opts.startedAt ?? now,
          ended_at: opts.endedAt ?? now,
          heartbeat_at: opts.endedAt ?? now,
          host: os.hostname(),
          pid: process.pid,
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      // SQLite binds at most 32,766 variables: 6 per row, so 2,000 rows per insert.
      for (let i = 0; i < metricRows.length; i += 2000) {
        await trx
          .insertInto('run_metric')
          .values(metricRows.slice(i, i + 2000).map((m) => ({ run_id: id, ...m, at: now })))
          .execute();
      }
      await this.store.audit(`run.${opts.status}`, `run:${id}`, { experiment: opts.experiment }, trx);
      if (link) await link(trx, id);
      return id;
    });
  }

  /**
   * Takes over an existing run again (to resume it from its checkpoint): status back to `running`,
   * this process as its owner, and its metrics after `keepUpToEpoch` dropped (they are re-done).
   */
  async resumeRun(runId: number, keepUpToEpoch: number, keepUpToStep: number): Promise<ActiveRun> {
    const run = await this.getRun(runId);
    if (run.status === 'running' && liveRunsInThisProcess.has(runId))
      throw new Error(`run ${runId} is still running in this process`);
    if (run.status === 'running' && !(await this.isStale(run))) {
      throw new Error(`run ${runId} is still running (host ${run.host}, pid ${run.pid}); cannot resume it twice`);
    }
    const db = this.store.db;
    await this.store.writeTransaction(async (trx) => {
      await trx
        .deleteFrom('run_metric')
        .where('run_id', '=', runId)
        .where('scope', '=', 'epoch')
        .where('step', '>', keepUpToEpoch)
        .execute();
      await trx
        .deleteFrom('run_metric')
        .where('run_id', '=', runId)
        .where('scope', '=', 'step')
        .where('step', '>', keepUpToStep)
        .execute();
      await trx.deleteFrom('run_metric').where('run_id', '=', runId).where('scope', '=', 'final').execute();
      await trx
        .updateTable('run')
        .set({
          status: 'running',
          error: null,
          ended_at: null,
          heartbeat_at: storedTime(),
          host: os.hostname(),
          pid: process.pid,
          epochs_completed: keepUpToEpoch,
        })
        .where('id', '=', runId)
        .execute();
    });
    // Rebuild the summary from the epoch metrics that remain.
    const kept = await db
      .selectFrom('run_metric')
      .select(['name', 'step', 'value'])
      .where('run_id', '=', runId)
      .where('scope', '=', 'epoch')
      .orderBy('step')
      .execute();
    const summary: Record<string, number> = {};
    for (const m of kept) summary[m.name] = m.value;
    await db
      .updateTable('run')
      .set({ summary: storedJson(summary) })
      .where('id', '=', runId)
      .execute();
    await this.store.audit('run.resume', `run:${runId}`, { fromEpoch: keepUpToEpoch });
    return new ActiveRun(this, runId, summary, keepUpToEpoch);
  }

  async getRun(id: number): Promise<Run> {
    const row = await this.runQuery().where('run.id', '=', id).executeTakeFirst();
    if (!row) throw new RunNotFoundError(id);
    return toRun(row);
  }

  private runQuery() {
    return this.store.db
      .selectFrom('run')
      .innerJoin('experiment', 'experiment.id', 'run.experiment_id')
      .selectAll('run')
      .select('experiment.name as experiment');
  }

  /** Runs matching every condition of `filter`. Stale `running` runs are marked interrupted first. */
  async listRuns(filter: RunFilter = {}): Promise<Run[]> {
    await this.reapStaleRuns();
    let q = this.runQuery();
    if (filter.experiment !== undefined) q = q.where('experiment.name', '=', filter.experiment);
    if (filter.status !== undefined)
      q = q.where('run.status', 'in', Array.isArray(filter.status) ? filter.status : [filter.status]);
    if (filter.parentRunId === null) q = q.where('run.parent_run_id', 'is', null);
    else if (filter.parentRunId !== undefined) q = q.where('run.parent_run_id', '=', filter.parentRunId);
    if (filter.trainingDatasetId !== undefined) q = q.where('run.training_dataset_id', '=', filter.trainingDatasetId);
    let runs = (await q.orderBy('run.started_at', 'desc').orderBy('run.id', 'desc').execute()).map(toRun);
    // Params, tags and metrics are JSON text: filtered here, the same on both engines.
    if (filter.tags) runs = runs.filter((r) => Object.entries(filter.tags!).every(([k, v]) => r.tags[k] === v));
    if (filter.params) {
      runs = runs.filter((r) =>
        Object.entries(filter.params!).every(([k, v]) => JSON.stringify(paramAt(r.params, k)) === JSON.stringify(v)),
      );
    }
    for (const m of filter.metrics ?? []) {
      runs = runs.filter((r) => {
        const v = r.summary[m.name];
        if (v === undefined) return false;
        switch (m.op) {
          case '<':
            return v < m.value;
          case '<=':
            return v <= m.value;
          case '>':
            return v > m.value;
          case '>=':
            return v >= m.value;
          case '=':
            return v === m.value;
        }
      });
    }
    const order = filter.orderBy;
    if (order && order !== 'started') {
      const sign = (order.direction ?? 'desc') === 'desc' ? -1 : 1;
      runs.sort((a, b) => {
        const va = a.summary[order.metric];
        const vb = b.summary[order.metric];
        if (va === undefined) return vb === undefined ? 0 : 1;
        if (vb === undefined) return -1;
        return sign * (va - vb);
      });
    }
    return filter.limit !== undefined ? runs.slice(0, filter.limit) : runs;
  }

  /** Side-by-side view: params that differ and every summary metric. */
  async compareRuns(ids: number[]): Promise<RunComparison> {
    const runs = await Promise.all(ids.map((id) => this.getRun(id)));
    const flat = runs.map((r) => flatten(r.params));
    const names = new Set(flat.flatMap((f) => Object.keys(f)));
    const differingParams: Record<string, unknown[]> = {};
    for (const n of [...names].sort()) {
      const values = flat.map((f) => f[n]);
      if (new Set(values.map((v) => JSON.stringify(v))).size > 1) differingParams[n] = values;
    }
    const metricNames = [...new Set(runs.flatMap((r) => Object.keys(r.summary)))].sort();
    const metrics: Record<string, (number | null)[]> = {};
    for (const n of metricNames) metrics[n] = runs.map((r) => r.summary[n] ?? null);
    return { runs, differingParams, metrics };
  }

  async metrics(runId: number, opts: { name?: string; scope?: MetricScope } = {}): Promise<MetricPoint[]> {
    let q = this.store.db.selectFrom('run_metric').selectAll().where('run_id', '=', runId);
    if (opts.name) q = q.where('name', '=', opts.name);
    if (opts.scope) q = q.where('scope', '=', opts.scope);
    const rows = await q.orderBy('scope').orderBy('name').orderBy('step').execute();
    return rows.map((r) => ({ name: r.name, scope: r.scope as MetricScope, step: r.step, value: r.value, at: r.at }));
  }

  /** The epoch table: one row per epoch with every epoch-scope metric. */
  async epochHistory(runId: number): Promise<({ epoch: number } & Record<string, number>)[]> {
    const points = await this.metrics(runId, { scope: 'epoch' });
    const rows = new Map<number, { epoch: number } & Record<string, number>>();
    for (const p of points) {
      const row = rows.get(p.step) ?? ({ epoch: p.step } as { epoch: number } & Record<string, number>);
      (row as Record<string, number>)[p.name] = p.value;
      rows.set(p.step, row);
    }
    return [...rows.values()].sort((a, b) => a.epoch - b.epoch);
  }

  async artifacts(runId: number): Promise<RunArtifact[]> {
    const rows = await this.store.db
      .selectFrom('run_artifact')
      .selectAll()
      .where('run_id', '=', runId)
      .orderBy('name')
      .execute();
    return rows.map((r) => ({
      runId: r.run_id,
      name: r.name,
      kind: r.kind as ArtifactKind,
      blobKey: r.blob_key,
      meta: readJson(r.meta),
      createdAt: r.created_at,
    }));
  }

  async artifact(runId: number, name: string): Promise<RunArtifact> {
    const found = (await this.artifacts(runId)).find((a) => a.name === name);
    if (!found) throw new RangeError(`run ${runId} has no artifact '${name}'`);
    return found;
  }

  /** Reads a JSON artifact (evaluation, plot spec). */
  async readJsonArtifact<T = unknown>(runId: number, name: string): Promise<T> {
    const a = await this.artifact(runId, name);
    return JSON.parse(Buffer.from(await this.store.blobs.get(a.blobKey)).toString('utf8')) as T;
  }

  /** A `running` run whose process is gone (same host, pid dead or not driving it) or silent too long. */
  async isStale(run: Run, staleAfterMs = 10 * 60_000): Promise<boolean> {
    if (run.status !== 'running') return false;
    if (run.host === os.hostname()) {
      if (run.pid === process.pid) return !liveRunsInThisProcess.has(run.id);
      if (!pidAlive(run.pid)) return true;
    }
    return Date.now() - new Date(run.heartbeatAt).getTime() > staleAfterMs;
  }

  /**
   * Marks `running` runs whose process is gone as `interrupted` (a killed kernel or worker cannot mark
   * its own run). Returns the ids it marked.
   */
  async reapStaleRuns(opts: { staleAfterMs?: number } = {}): Promise<number[]> {
    const running = (await this.runQuery().where('run.status', '=', 'running').execute()).map(toRun);
    const marked: number[] = [];
    for (const run of running) {
      if (!(await this.isStale(run, opts.staleAfterMs))) continue;
      const reason =
        run.host === os.hostname() && !pidAlive(run.pid)
          ? `process ${run.pid} on ${run.host} ended without finishing the run`
          : `no heartbeat since ${run.heartbeatAt} from ${run.host} (pid ${run.pid})`;
      const updated = await this.store.db
        .updateTable('run')
        .set({ status: 'interrupted', error: `interrupted: ${reason}`, ended_at: storedTime() })
        .where('id', '=', run.id)
        .where('status', '=', 'running')
        .where('heartbeat_at', '=', run.heartbeatAt)
        .executeTakeFirst();
      if (Number(updated.numUpdatedRows) > 0) {
        marked.push(run.id);
        await this.store.audit('run.interrupted', `run:${run.id}`, { reason });
      }
    }
    return marked;
  }
}

/** Step metrics are buffered and written in batches (every epoch, or every this many points). */
const STEP_FLUSH_POINTS = 500;
/** Heartbeats between epochs are written at most this often. */
const HEARTBEAT_MS = 15_000;

/** The handle of a run this process is driving. */
export class ActiveRun {
  private pendingSteps: { name: string; step: number; value: number; at: string }[] = [];
  private lastHeartbeat = Date.now();
  private ended = false;

  constructor(
    readonly tracker: ExperimentTracker,
    readonly id: number,
    private readonly summary: Record<string, number>,
    private epochsCompleted: number,
  ) {
    liveRunsInThisProcess.add(id);
  }

  private get store(): ProjectStore {
    return this.tracker.store;
  }

  /** Blob key prefix of this run's files. */
  get blobPrefix(): string {
    return `runs/${this.id}/`;
  }

  async setParams(params: Record<string, unknown>): Promise<void> {
    await this.store.db
      .updateTable('run')
      .set({ params: storedJson(params) })
      .where('id', '=', this.id)
      .execute();
  }

  async setName(name: string): Promise<void> {
    await this.store.db.updateTable('run').set({ name }).where('id', '=', this.id).execute();
  }

  async setEnvironment(env: RunEnvironment): Promise<void> {
    await this.store.db
      .updateTable('run')
      .set({ environment: storedJson(env) })
      .where('id', '=', this.id)
      .execute();
  }

  async setDataset(dataset: DatasetLineage | null): Promise<void> {
    await this.store.db
      .updateTable('run')
      .set({ dataset: dataset ? storedJson(dataset) : null, training_dataset_id: dataset?.trainingDatasetId ?? null })
      .where('id', '=', this.id)
      .execute();
  }

  /** Buffers per-batch metrics (step = global batch number); written on `flush`. */
  logStep(step: number, values: Record<string, number>): void {
    const at = storedTime();
    for (const [name, value] of Object.entries(values)) {
      if (Number.isFinite(value)) this.pendingSteps.push({ name, step, value, at });
    }
  }

  async flush(): Promise<void> {
    while (this.pendingSteps.length) {
      const chunk = this.pendingSteps.splice(0, STEP_FLUSH_POINTS);
      await this.store.db
        .insertInto('run_metric')
        .values(
          chunk.map((p) => ({ run_id: this.id, name: p.name, scope: 'step', step: p.step, value: p.value, at: p.at })),
        )
        .onConflict((oc) =>
          oc
            .columns(['run_id', 'name', 'scope', 'step'])
            .doUpdateSet((eb) => ({ value: eb.ref('excluded.value'), at: eb.ref('excluded.at') })),
        )
        .execute();
    }
  }

  /** Epoch metrics (step = epoch, 1-based) or the final evaluation; also updates the run's summary. */
  async log(scope: 'epoch' | 'final', step: number, values: Record<string, number>): Promise<void> {
    const at = storedTime();
    const rows = Object.entries(values)
      .filter(([, v]) => Number.isFinite(v))
      .map(([name, value]) => ({ run_id: this.id, name, scope, step, value, at }));
    if (rows.length) {
      await this.store.db
        .insertInto('run_metric')
        .values(rows)
        .onConflict((oc) =>
          oc
            .columns(['run_id', 'name', 'scope', 'step'])
            .doUpdateSet((eb) => ({ value: eb.ref('excluded.value'), at: eb.ref('excluded.at') })),
        )
        .execute();
    }
    for (const r of rows) this.summary[r.name] = r.value;
    const set: { summary: string; heartbeat_at: string; epochs_completed?: number } = {
      summary: storedJson(this.summary),
      heartbeat_at: at,
    };
    if (scope === 'epoch') {
      this.epochsCompleted = Math.max(this.epochsCompleted, step);
      set.epochs_completed = this.epochsCompleted;
    }
    await this.store.db.updateTable('run').set(set).where('id', '=', this.id).execute();
    this.lastHeartbeat = Date.now();
  }

  /** Tells readers the run is alive; cheap to call often (writes at most every 15 s unless forced). */
  async heartbeat(force = false): Promise<void> {
    if (!force && Date.now() - this.lastHeartbeat < HEARTBEAT_MS) return;
    this.lastHeartbeat = Date.now();
    await this.store.db.updateTable('run').set({ heartbeat_at: storedTime() }).where('id', '=', this.id).execute();
  }

  async setCheckpoint(ref: CheckpointRef): Promise<void> {
    await this.store.db
      .updateTable('run')
      .set({ checkpoint: storedJson(ref) })
      .where('id', '=', this.id)
      .execute();
    await this.recordArtifact('checkpoint', 'checkpoint', ref.prefix, { epoch: ref.epoch, step: ref.step });
  }

  /** Records (or replaces) an artifact row for blobs already written. */
  async recordArtifact(
    name: string,
    kind: ArtifactKind,
    blobKey: string,
    meta: Record<string, unknown> = {},
  ): Promise<void> {
    await this.store.db
      .insertInto('run_artifact')
      .values({ run_id: this.id, name, kind, blob_key: blobKey, meta: storedJson(meta), created_at: storedTime() })
      .onConflict((oc) =>
        oc.columns(['run_id', 'name']).doUpdateSet((eb) => ({
          kind: eb.ref('excluded.kind'),
          blob_key: eb.ref('excluded.blob_key'),
          meta: eb.ref('excluded.meta'),
          created_at: eb.ref('excluded.created_at'),
        })),
      )
      .execute();
  }

  /** Writes a JSON artifact (`runs/<id>/<name>.json`) and records it. */
  async saveJsonArtifact(
    name: string,
    kind: ArtifactKind,
    value: unknown,
    meta: Record<string, unknown> = {},
  ): Promise<string> {
    const key = `${this.blobPrefix}${name}.json`;
    await this.store.blobs.put(key, storedJson(value));
    await this.recordArtifact(name, kind, key, meta);
    return key;
  }

  /** Stores the notebook or script that ran this run. */
  async snapshotCode(
    source: CodeSnapshot['source'],
    path: string,
    content: string | Uint8Array,
  ): Promise<CodeSnapshot> {
    const bytes = typeof content === 'string' ? Buffer.from(content, 'utf8') : Buffer.from(content);
    const base = path.split(/[\\/]/).pop() || 'code';
    const blobKey = `${this.blobPrefix}code/${base.replace(/[^A-Za-z0-9._-]/g, '_')}`;
    await this.store.blobs.put(blobKey, bytes);
    const snapshot: CodeSnapshot = {
      source,
      path,
      sha256: createHash('sha256').update(bytes).digest('hex'),
      bytes: bytes.length,
      blobKey,
    };
    await this.store.db
      .updateTable('run')
      .set({ code: storedJson(snapshot) })
      .where('id', '=', this.id)
      .execute();
    await this.recordArtifact('code', 'code', blobKey, { path, source });
    return snapshot;
  }

  private async end(status: Exclude<RunStatus, 'running'>, error: string | null): Promise<void> {
    if (this.ended) return;
    this.ended = true;
    try {
      await this.flush();
    } finally {
      await this.store.db
        .updateTable('run')
        .set({ status, error, ended_at: storedTime(), heartbeat_at: storedTime(), summary: storedJson(this.summary) })
        .where('id', '=', this.id)
        .execute();
      liveRunsInThisProcess.delete(this.id);
      await this.store.audit(`run.${status}`, `run:${this.id}`, error ? { error } : undefined);
    }
  }

  finish(): Promise<void> {
    return this.end('finished', null);
  }

  fail(error: unknown): Promise<void> {
    return this.end('failed', error instanceof Error ? error.message : String(error));
  }

  interrupt(reason: string): Promise<void> {
    return this.end('interrupted', reason);
  }

  /** Drops this process's claim without ending the run (tests simulating a vanished process). */
  abandon(): void {
    this.ended = true;
    liveRunsInThisProcess.delete(this.id);
  }
}
