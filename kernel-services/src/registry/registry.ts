import { randomBytes } from 'node:crypto';
import type { ModelVersion } from '@floe/schema';
import { ModelAliasName } from '@floe/schema';
import type { LayersModel } from '@tensorflow/tfjs-node';
import type { Selectable } from 'kysely';
import { openProjectStore, type ProjectStore } from '../store';
import type { ModelVersionTableRow } from '../store/migrations/003_experiments';
import { nextVersion, readJson, storedJson, storedTime } from '../store/portable';
import { copyModelBlobs, loadModelFromBlobs } from '../tracking/model-io';
import { ExperimentTracker } from '../tracking/tracker';

/**
 * The model registry: a finished run's model registered as `<name>` version 1, 2, 3, … with its
 * metrics, its signature (what inputs it takes) and lineage (run → training dataset → feature group
 * commit); aliases such as `production` point at one version and move atomically. Each version's
 * files are a copy of the run's TF.js model on the blob store, so deleting runs never breaks it.
 */

export class ModelNotFoundError extends Error {
  override name = 'ModelNotFoundError';
}

const MODEL_NAME = /^[A-Za-z][A-Za-z0-9_.-]{0,127}$/;

/** `name`, `name:3` (or `name/3`, `name@3`) for a version, `name@production` for an alias. */
export interface ModelRef {
  name: string;
  version?: number;
  alias?: string;
}

export function parseModelRef(ref: string | ModelRef): ModelRef {
  if (typeof ref !== 'string') return ref;
  const m = /^([^:@/]+)(?:[:/@](.+))?$/.exec(ref.trim());
  if (!m) throw new RangeError(`model reference '${ref}': expected name, name:version or name@alias`);
  const [, name, rest] = m;
  if (rest === undefined) return { name: name! };
  if (/^\d+$/.test(rest)) return { name: name!, version: Number(rest) };
  if (rest === 'latest') return { name: name! };
  return { name: name!, alias: rest };
}

export function formatModelRef(ref: ModelRef): string {
  return ref.alias ? `${ref.name}@${ref.alias}` : ref.version !== undefined ? `${ref.name}:${ref.version}` : ref.name;
}

export interface RegisterOptions {
  runId: number;
  name: string;
  description?: string;
  /** Aliases to point at the new version (moved from older versions). */
  aliases?: string[];
}

/** The full chain behind a model version, with the feature store rows when they exist. */
export interface ModelLineageChain {
  model: ModelVersion;
  run: {
    id: number;
    name: string;
    experiment: string;
    status: string;
    startedAt: string;
    params: Record<string, unknown>;
  };
  trainingDataset: {
    id: number;
    name: string;
    version: number;
    commit: number;
    splitCounts: Record<string, number>;
  } | null;
  featureGroupCommit: {
    featureGroup: string;
    version: number;
    commit: number;
    committedAt: string;
    rows: number;
  } | null;
}

export class ModelRegistry {
  private readonly tracker: ExperimentTracker;

  constructor(readonly store: ProjectStore) {
    this.tracker = new ExperimentTracker(store);
  }

  private async aliasesOf(name: string): Promise<Map<number, string[]>> {
    const rows = await this.store.db
      .selectFrom('model_alias')
      .select(['alias', 'version'])
      .where('name', '=', name)
      .orderBy('alias')
      .execute();
    const map = new Map<number, string[]>();
    for (const r of rows) map.set(r.version, [...(map.get(r.version) ?? []), r.alias]);
    return map;
  }

  private toVersion(row: Selectable<ModelVersionTableRow>, aliases: string[]): ModelVersion {
    return {
      name: row.name,
      version: row.version,
      description: row.description,
      metrics: readJson(row.metrics),
      lineage: readJson(row.lineage),
      blobPrefix: row.blob_prefix,
      aliases,
      signature: readJson(row.signature),
      createdAt: row.created_at,
    };
  }

  /** Registers a finished run's model as the next version of `name`. */
  async register(opts: RegisterOptions): Promise<ModelVersion> {
    if (!MODEL_NAME.test(opts.name))
      throw new RangeError(`model name '${opts.name}': a letter, then up to 127 letters, digits, '_', '.' or '-'`);
    for (const a of opts.aliases ?? []) this.checkAlias(a);
    const run = await this.tracker.getRun(opts.runId);
    if (run.status !== 'finished')
      throw new RangeError(
        `run ${run.id} is ${run.status}, not finished: only a finished run's model can be registered`,
      );
    const artifact = (await this.tracker.artifacts(run.id)).find((a) => a.kind === 'model');
    if (!artifact) throw new RangeError(`run ${run.id} has no saved model to register`);

    // Copy first under a fresh prefix; the row that makes the version visible comes after.
    const prefix = `models/${opts.name}/run-${run.id}-${randomBytes(4).toString('hex')}/`;
    await copyModelBlobs(this.store.blobs, artifact.blobKey, prefix);
    const metrics = Object.fromEntries(Object.entries(run.summary).filter(([, v]) => Number.isFinite(v)));
    const lineage = { runId: run.id, experiment: run.experiment, dataset: run.dataset };
    const signature = (artifact.meta.signature as Record<string, unknown> | undefined) ?? {};
    const version = await this.store.writeTransaction(
      async (trx) => {
        const next = await nextVersion(trx, 'model_version', opts.name);
        await trx
          .insertInto('model_version')
          .values({
            name: opts.name,
            version: next,
            description: opts.description ?? '',
            run_id: run.id,
            metrics: storedJson(metrics),
            lineage: storedJson(lineage),
            signature: storedJson(signature),
            blob_prefix: prefix,
            created_at: storedTime(),
          })
          .execute();
        for (const alias of opts.aliases ?? []) await this.upsertAlias(trx, opts.name, alias, next);
        await this.store.audit(
          'model.register',
          `model:${opts.name}/${next}`,
          { runId: run.id, aliases: opts.aliases ?? [] },
          trx,
        );
        return next;
      },
      { lockKey: `model:${opts.name}` },
    );
    return this.get({ name: opts.name, version });
  }

  private checkAlias(alias: string): void {
    const ok = ModelAliasName.safeParse(alias);
    if (!ok.success) throw new RangeError(`alias '${alias}': ${ok.error.issues[0]?.message ?? 'invalid'}`);
    if (/^\d+$/.test(alias) || alias === 'latest') throw new RangeError(`alias '${alias}' would read as a version`);
  }

  private async upsertAlias(trx: ProjectStore['db'], name: string, alias: string, version: number): Promise<void> {
    await trx
      .insertInto('model_alias')
      .values({ name, alias, version, updated_at: storedTime() })
      .onConflict((oc) => oc.columns(['name', 'alias']).doUpdateSet({ version, updated_at: storedTime() }))
      .execute();
  }

  /** Points `alias` at `version` of `name` (moving it from wherever it was) in one transaction. */
  async setAlias(name: string, alias: string, version: number): Promise<ModelVersion> {
    this.checkAlias(alias);
    await this.store.writeTransaction(
      async (trx) => {
        const exists = await trx
          .selectFrom('model_version')
          .select('id')
          .where('name', '=', name)
          .where('version', '=', version)
          .executeTakeFirst();
        if (!exists) throw new ModelNotFoundError(`no model ${name} version ${version}`);
        const before = await trx
          .selectFrom('model_alias')
          .select('version')
          .where('name', '=', name)
          .where('alias', '=', alias)
          .executeTakeFirst();
        await this.upsertAlias(trx, name, alias, version);
        await this.store.audit(
          'model.alias',
          `model:${name}@${alias}`,
          { from: before?.version ?? null, to: version },
          trx,
        );
      },
      { lockKey: `model:${name}` },
    );
    return this.get({ name, version });
  }

  async removeAlias(name: string, alias: string): Promise<void> {
    await this.store.db.deleteFrom('model_alias').where('name', '=', name).where('alias', '=', alias).execute();
    await this.store.audit('model.alias.remove', `model:${name}@${alias}`);
  }

  /** A version by number, alias, or (neither) the latest. */
  async get(ref: string | ModelRef): Promise<ModelVersion> {
    const r = parseModelRef(ref);
    let version = r.version;
    if (r.alias) {
      const a = await this.store.db
        .selectFrom('model_alias')
        .select('version')
        .where('name', '=', r.name)
        .where('alias', '=', r.alias)
        .executeTakeFirst();
      if (!a) {
        const known = [...(await this.aliasesOf(r.name)).values()].flat();
        throw new ModelNotFoundError(
          `model '${r.name}' has no alias '${r.alias}'${known.length ? ` (aliases: ${known.join(', ')})` : ''}`,
        );
      }
      version = a.version;
    }
    let q = this.store.db.selectFrom('model_version').selectAll().where('name', '=', r.name);
    q = version !== undefined ? q.where('version', '=', version) : q.orderBy('version', 'desc').limit(1);
    const row = await q.executeTakeFirst();
    if (!row) {
      const names = await this.names();
      throw new ModelNotFoundError(
        version !== undefined && names.some((n) => n.name === r.name)
          ? `model '${r.name}' has no version ${version} (latest is ${names.find((n) => n.name === r.name)!.latestVersion})`
          : `no model named '${r.name}' in the registry${names.length ? ` (models: ${names.map((n) => n.name).join(', ')})` : ''}`,
      );
    }
    return this.toVersion(row, (await this.aliasesOf(r.name)).get(row.version) ?? []);
  }

  /** Every version of `name`, newest first. */
  async versions(name: string): Promise<ModelVersion[]> {
    const rows = await this.store.db
      .selectFrom('model_version')
      .selectAll()
      .where('name', '=', name)
      .orderBy('version', 'desc')
      .execute();
    const aliases = await this.aliasesOf(name);
    return rows.map((r) => this.toVersion(r, aliases.get(r.version) ?? []));
  }

  /** Registered model names with their latest version and aliases. */
  async names(): Promise<{ name: string; latestVersion: number; versions: number; aliases: Record<string, number> }[]> {
    const rows = await this.store.db
      .selectFrom('model_version')
      .select((eb) => ['name', eb.fn.max<number>('version').as('latest'), eb.fn.count<number>('id').as('n')])
      .groupBy('name')
      .orderBy('name')
      .execute();
    const aliases = await this.store.db.selectFrom('model_alias').selectAll().execute();
    return rows.map((r) => ({
      name: r.name,
      latestVersion: Number(r.latest),
      versions: Number(r.n),
      aliases: Object.fromEntries(aliases.filter((a) => a.name === r.name).map((a) => [a.alias, a.version])),
    }));
  }

  /**
   * The version of `name` (or of any model, when `name` is omitted) with the best value of `metric`;
   * `direction` defaults to `min` for metrics whose name contains "loss", else `max`.
   */
  async best(
    metric: string,
    opts: { name?: string; direction?: 'min' | 'max' } = {},
  ): Promise<ModelVersion | undefined> {
    const direction = opts.direction ?? (metric.includes('loss') ? 'min' : 'max');
    let q = this.store.db.selectFrom('model_version').selectAll();
    if (opts.name) q = q.where('name', '=', opts.name);
    const rows = await q.orderBy('created_at').orderBy('id').execute();
    let best: Selectable<ModelVersionTableRow> | undefined;
    let bestValue = 0;
    for (const row of rows) {
      const v = readJson<Record<string, number>>(row.metrics)[metric];
      if (typeof v !== 'number' || !Number.isFinite(v)) continue;
      // Rows come oldest first, so on a tie the newer version wins.
      if (!best || (direction === 'max' ? v >= bestValue : v <= bestValue)) {
        best = row;
        bestValue = v;
      }
    }
    if (!best) return undefined;
    return this.toVersion(best, (await this.aliasesOf(best.name)).get(best.version) ?? []);
  }

  /** Loads a version's TF.js model from the blob store. */
  async load(ref: string | ModelRef): Promise<{ model: LayersModel; version: ModelVersion }> {
    const version = await this.get(ref);
    const model = await loadModelFromBlobs(this.store.blobs, version.blobPrefix);
    return { model, version };
  }

  /** Model version → run → training dataset → feature group commit, as stored. */
  async lineage(ref: string | ModelRef): Promise<ModelLineageChain> {
    const model = await this.get(ref);
    const run = await this.tracker.getRun(model.lineage.runId);
    const ds = model.lineage.dataset;
    let trainingDataset: ModelLineageChain['trainingDataset'] = null;
    let featureGroupCommit: ModelLineageChain['featureGroupCommit'] = null;
    if (ds?.trainingDatasetId != null) {
      const td = await this.store.db
        .selectFrom('training_dataset')
        .selectAll()
        .where('id', '=', ds.trainingDatasetId)
        .executeTakeFirst();
      if (td) {
        trainingDataset = {
          id: td.id,
          name: td.name,
          version: td.version,
          commit: td.commit_number,
          splitCounts: readJson(td.split_counts),
        };
        const commit = await this.store.db
          .selectFrom('feature_group_commit')
          .innerJoin('feature_group', 'feature_group.id', 'feature_group_commit.feature_group_id')
          .select([
            'feature_group.name as group',
            'feature_group.version as groupVersion',
            'feature_group_commit.number',
            'feature_group_commit.committed_at',
            'feature_group_commit.total_rows',
          ])
          .where('feature_group_commit.feature_group_id', '=', td.feature_group_id)
          .where('feature_group_commit.number', '=', td.commit_number)
          .executeTakeFirst();
        if (commit)
          featureGroupCommit = {
            featureGroup: commit.group,
            version: commit.groupVersion,
            commit: commit.number,
            committedAt: commit.committed_at,
            rows: commit.total_rows,
          };
      }
    }
    return {
      model,
      run: {
        id: run.id,
        name: run.name,
        experiment: run.experiment,
        status: run.status,
        startedAt: run.startedAt,
        params: run.params,
      },
      trainingDataset,
      featureGroupCommit,
    };
  }
}

/**
 * Loads a registered model by reference — `loadModel('iceberg@production')`, `loadModel('iceberg:3')`,
 * `loadModel('iceberg')` (latest) — from `store` or the project store of the environment.
 */
export async function loadModel(ref: string | ModelRef, opts: { store?: ProjectStore } = {}): Promise<LayersModel> {
  const store = opts.store ?? (await openProjectStore());
  try {
    return (await new ModelRegistry(store).load(ref)).model;
  } finally {
    if (!opts.store) await store.close();
  }
}
