/**
 * What the panels read from the project store, shaped as the hub's contract (`@floe/schema` hub.ts).
 * Plain library code over the store (no HTTP here): the hub's routes call it, tests call it directly.
 * The runs page pushes filtering, sorting and paging into SQL so that 5,000 runs cost one page.
 */
import {
  ABLATION_MIME,
  SaliencyArtifactMeta,
  type AblationBundle,
  type ExperimentSummary,
  type FeatureGroupDetailResponse,
  type FeatureGroupSummary,
  type MetricSeries,
  type RunDetailResponse,
  type RunListQuery,
  type RunListResponse,
  type RunRow,
  type RunStatus,
  type SearchDetailResponse,
  type SearchSummary,
  type StoreChangeCounters,
  type RunImageQuery,
  type TrainingDatasetSummary,
} from '@floe/schema';
import { sql, type Expression, type ExpressionBuilder, type SqlBool } from 'kysely';
import type { FloeDatabase } from '../store/database';
import { FeatureStore } from '../feature-store/feature-store';
import type { ProjectStore } from '../store';
import { readJson } from '../store/portable';
import { ExperimentTracker } from '../tracking/tracker';
import { SearchRepository, type SearchRecord } from '../search/repository';
import { ablationBundle, bestOf, parallelCoordinates, trialSummary } from '../search/display';

/** Largest image the hub serves from a run's artifacts (saliency PNGs are a few KiB to a few hundred). */
export const MAX_RUN_IMAGE_BYTES = 8 * 1024 * 1024;

/** An image read from a run's artifacts, with the content type its magic bytes say. */
export interface RunImage {
  contentType: 'image/png' | 'image/jpeg';
  bytes: Uint8Array;
}

/** A run image that exists but may not be served (too large, or not a PNG/JPEG): the hub answers `status`. */
export class RunImageRefused extends Error {
  override name = 'RunImageRefused';
  constructor(
    readonly status: 413 | 415,
    message: string,
  ) {
    super(message);
  }
}

/** A record the panels asked for that is not in the store (the hub answers 404). */
export class NotInStoreError extends Error {
  override name = 'NotInStoreError';
}

/** Summary-metric names the runs table can sort on in SQL (also used as a JSON path). */
const SORTABLE_METRIC = /^[A-Za-z0-9_./-]{1,200}$/;

/** Escapes LIKE wildcards so that a filter matches its text literally. */
function likePattern(text: string): string {
  return `%${text.toLowerCase().replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
}

/**
 * Downsamples a series to at most `max` points keeping its shape: the first and the last point always,
 * and per bucket its minimum and maximum (so spikes survive), in step order.
 */
export function downsampleSeries(points: readonly [number, number][], max: number): [number, number][] {
  if (points.length <= max) return points.slice();
  const buckets = Math.max(1, Math.floor((max - 2) / 2));
  const inner = points.length - 2;
  const out: [number, number][] = [points[0]!];
  for (let b = 0; b < buckets; b++) {
    const from = 1 + Math.floor((b * inner) / buckets);
    const to = 1 + Math.floor(((b + 1) * inner) / buckets);
    if (to <= from) continue;
    let lo = from;
    let hi = from;
    for (let i = from + 1; i < to; i++) {
      if (points[i]![1] < points[lo]![1]) lo = i;
      if (points[i]![1] > points[hi]![1]) hi = i;
    }
    if (lo === hi) out.push(points[lo]!);
    else for (const i of lo < hi ? [lo, hi] : [hi, lo]) out.push(points[i]!);
  }
  out.push(points[points.length - 1]!);
  return out;
}

export class PanelReads {
  readonly tracker: ExperimentTracker;
  private readonly searches: SearchRepository;
  private readonly features: FeatureStore;
  private lastReap = 0;

  constructor(readonly store: ProjectStore) {
    this.tracker = new ExperimentTracker(store);
    this.searches = new SearchRepository(store);
    this.features = new FeatureStore(store);
  }

  async close(): Promise<void> {
    await this.features.close();
  }

  // ---- experiments and runs ----

  async experiments(): Promise<ExperimentSummary[]> {
    return this.tracker.listExperiments();
  }

  /** One page of an experiment's runs, filtered and sorted in SQL. */
  async runPage(experiment: string, query: RunListQuery): Promise<RunListResponse> {
    const exp = await this.store.db
      .selectFrom('experiment')
      .select('id')
      .where('name', '=', experiment)
      .executeTakeFirst();
    if (!exp) throw new NotInStoreError(`no experiment '${experiment}' in this project`);
    // Runs whose process died still say `running`: mark them, at most every 30 s (it writes).
    if (Date.now() - this.lastReap > 30_000) {
      this.lastReap = Date.now();
      await this.tracker.reapStaleRuns();
    }
    const conditions = (eb: ExpressionBuilder<FloeDatabase, 'run'>) => {
      const all: Expression<SqlBool>[] = [eb('run.experiment_id', '=', exp.id)];
      if (query.status) all.push(eb('run.status', '=', query.status));
      if (query.parent === 'none') all.push(eb('run.parent_run_id', 'is', null));
      else if (query.parent !== undefined) all.push(eb('run.parent_run_id', '=', query.parent));
      if (query.filter) {
        const pattern = likePattern(query.filter);
        all.push(
          eb.or([
            sql<SqlBool>`lower(${sql.ref('run.name')}) like ${pattern} escape '\\'`,
            sql<SqlBool>`lower(${sql.ref('run.params')}) like ${pattern} escape '\\'`,
          ]),
        );
      }
      return eb.and(all);
    };
    const counted = await this.runsOf()
      .where(conditions)
      .select((eb) => eb.fn.countAll<number>().as('n'))
      .executeTakeFirstOrThrow();
    let page = this.runsOf()
      .where(conditions)
      .select([
        'run.id',
        'run.name',
        'run.status',
        'run.params',
        'run.summary',
        'run.parent_run_id',
        'run.epochs_completed',
        'run.started_at',
        'run.ended_at',
        // Trials under a search's run: one indexed count per row of the page (run_parent index).
        (eb) =>
          eb
            .selectFrom('run as child')
            .whereRef('child.parent_run_id', '=', 'run.id')
            .select((c) => c.fn.countAll<number>().as('n'))
            .as('children'),
      ]);
    const dir = query.dir;
    if (query.sort.startsWith('metric:')) {
      const metric = query.sort.slice('metric:'.length);
      if (!SORTABLE_METRIC.test(metric))
        throw new RangeError(`cannot sort on metric '${metric}': names are letters, digits and _ . / -`);
      const value =
        this.store.dialect === 'postgres'
          ? sql`(${sql.ref('run.summary')}::jsonb ->> ${metric})::double precision`
          : sql`json_extract(${sql.ref('run.summary')}, ${`$."${metric}"`})`;
      // Runs without the metric go last in either direction.
      page = page.orderBy(sql`(${value}) is null`).orderBy(value, dir);
    } else {
      const column = {
        id: 'run.id',
        name: 'run.name',
        status: 'run.status',
        started: 'run.started_at',
        epochs: 'run.epochs_completed',
      } as const;
      page = page.orderBy(column[query.sort as keyof typeof column], dir);
    }
    const rows = await page.orderBy('run.id', dir).limit(query.limit).offset(query.offset).execute();
    return {
      total: Number(counted.n),
      offset: query.offset,
      limit: query.limit,
      runs: rows.map((r): RunRow => ({
        id: r.id,
        experiment,
        name: r.name,
        status: r.status as RunStatus,
        params: readJson(r.params),
        summary: readJson(r.summary),
        parentRunId: r.parent_run_id,
        children: Number(r.children ?? 0),
        epochsCompleted: r.epochs_completed,
        startedAt: r.started_at,
        endedAt: r.ended_at,
      })),
    };
  }

  private runsOf() {
    return this.store.db.selectFrom('run');
  }

  /** A run with its params, environment, artifacts and every metric series, each at most `maxPoints` long. */
  async runDetail(runId: number, maxPoints: number): Promise<RunDetailResponse> {
    let run;
    try {
      run = await this.tracker.getRun(runId);
    } catch (err) {
      if ((err as Error).name === 'RunNotFoundError') throw new NotInStoreError((err as Error).message);
      throw err;
    }
    const rows = await this.store.db
      .selectFrom('run_metric')
      .select(['name', 'scope', 'step', 'value'])
      .where('run_id', '=', runId)
      .orderBy('scope')
      .orderBy('name')
      .orderBy('step')
      .execute();
    const series = new Map<string, { name: string; scope: MetricSeries['scope']; points: [number, number][] }>();
    for (const r of rows) {
      const key = `${r.scope}\u0000${r.name}`;
      let s = series.get(key);
      if (!s) series.set(key, (s = { name: r.name, scope: r.scope as MetricSeries['scope'], points: [] }));
      s.points.push([r.step, r.value]);
    }
    return {
      run,
      metrics: [...series.values()].map((s) => ({
        name: s.name,
        scope: s.scope,
        points: downsampleSeries(s.points, maxPoints),
        totalPoints: s.points.length,
      })),
      artifacts: await this.tracker.artifacts(runId),
    };
  }

  // ---- feature store ----

  async featureGroups(): Promise<FeatureGroupSummary[]> {
    return (await this.features.listFeatureGroups()).map((g) => ({
      id: g.id,
      name: g.name,
      version: g.version,
      description: g.description,
      commits: g.commits,
      rows: g.rows,
      lastCommitAt: g.lastCommitAt ? g.lastCommitAt.toISOString() : null,
    }));
  }

  async featureGroup(name: string, version?: number): Promise<FeatureGroupDetailResponse> {
    let group;
    try {
      group = await this.features.getFeatureGroup(name, version);
    } catch (err) {
      if ((err as Error).name === 'FeatureGroupNotFoundError') throw new NotInStoreError((err as Error).message);
      throw err;
    }
    const info = group.info;
    return {
      id: info.id,
      name: info.name,
      version: info.version,
      description: info.description,
      schema: info.schema,
      primaryKey: info.primaryKey,
      eventTime: info.eventTime,
      createdAt: info.createdAt.toISOString(),
      commits: (await group.commits()).map((c) => ({
        number: c.number,
        rowsInserted: c.rowsInserted,
        rowsRejected: c.rowsRejected,
        totalRows: c.totalRows,
        committedAt: c.committedAt.toISOString(),
        statistics: c.statistics,
        validation: c.validation ?? null,
      })),
    };
  }

  async trainingDatasets(): Promise<TrainingDatasetSummary[]> {
    return (await this.features.listTrainingDatasets()).map((d) => ({
      id: d.id,
      name: d.name,
      version: d.version,
      description: d.description,
      spec: d.spec as unknown as Record<string, unknown>,
      splitCounts: d.splitCounts,
      createdAt: d.createdAt.toISOString(),
    }));
  }

  // ---- searches ----

  async searchList(): Promise<SearchSummary[]> {
    return (await this.searches.listSearches()).map(searchSummary);
  }

  async search(id: number): Promise<SearchDetailResponse> {
    let record: SearchRecord;
    try {
      record = await this.searches.getSearch(id);
    } catch (err) {
      if ((err as Error).name === 'SearchNotFoundError') throw new NotInStoreError((err as Error).message);
      throw err;
    }
    const trials = await this.searches.listTrials(id);
    const best = bestOf(record, trials);
    return {
      search: searchSummary(record),
      config: record.config as unknown as Record<string, unknown>,
      trials: trials.map(trialSummary),
      best: best ? { trial: best.number, metric: best.metric!, params: best.params } : null,
      parallelCoordinates: parallelCoordinates(record, trials),
    };
  }

  /** An ablation study's rows (metric and delta per removed component) and its bar chart. */
  async ablation(id: number): Promise<AblationBundle> {
    try {
      return (await ablationBundle(this.store, id))[ABLATION_MIME] as AblationBundle;
    } catch (err) {
      if ((err as Error).name === 'SearchNotFoundError') throw new NotInStoreError((err as Error).message);
      throw err;
    }
  }

  // ---- run images ----

  /**
   * An image of a run: the artifact named `query.artifact` when it is one image, or the file
   * `query.file` of a multi-file artifact that lists it in `meta.images` (saliency per epoch). The key
   * read is the artifact's own key (plus a listed, separator-free name), never a path from the request.
   */
  async runImage(runId: number, query: RunImageQuery): Promise<RunImage> {
    const artifact = (await this.tracker.artifacts(runId)).find((a) => a.name === query.artifact);
    if (!artifact) throw new NotInStoreError(`run ${runId} has no artifact '${query.artifact}'`);
    let key: string;
    if (query.file !== undefined) {
      const meta = SaliencyArtifactMeta.safeParse(artifact.meta);
      const listed = meta.success && meta.data.images.some((i) => i.file === query.file);
      if (!listed || !artifact.blobKey.endsWith('/'))
        throw new NotInStoreError(`artifact '${query.artifact}' of run ${runId} lists no image '${query.file}'`);
      key = artifact.blobKey + query.file;
    } else {
      if (artifact.blobKey.endsWith('/'))
        throw new RangeError(`artifact '${query.artifact}' of run ${runId} is a folder: name one of its images (file)`);
      key = artifact.blobKey;
    }
    const info = await this.store.blobs.stat(key);
    if (!info) throw new NotInStoreError(`the image '${key}' of run ${runId} is missing from the blob store`);
    if (info.size > MAX_RUN_IMAGE_BYTES)
      throw new RunImageRefused(
        413,
        `the image '${key}' is ${info.size} bytes; the hub serves at most ${MAX_RUN_IMAGE_BYTES}`,
      );
    const bytes = await this.store.blobs.get(key);
    const contentType = imageType(bytes);
    if (!contentType) throw new RunImageRefused(415, `'${key}' of run ${runId} is not a PNG or JPEG image`);
    return { contentType, bytes };
  }

  // ---- live updates ----

  /**
   * Counters that move whenever something a panel shows changes: max() over the audit log (indexed id),
   * runs, searches and trials (tables of thousands of rows at most: a scan is well under a millisecond).
   */
  async changeCounters(): Promise<StoreChangeCounters> {
    const db = this.store.db;
    const [audit, runs, trials] = await Promise.all([
      db
        .selectFrom('audit_log')
        .select((eb) => eb.fn.max<number | null>('id').as('v'))
        .executeTakeFirst(),
      db
        .selectFrom('run')
        .select((eb) => eb.fn.max<string | null>('heartbeat_at').as('v'))
        .executeTakeFirst(),
      db
        .selectFrom('search')
        .select((eb) => eb.fn.max<string | null>('updated_at').as('v'))
        .executeTakeFirst(),
    ]);
    const trialRows = await db
      .selectFrom('search_trial')
      .select((eb) => [eb.fn.max<string | null>('finished_at').as('f'), eb.fn.max<string | null>('started_at').as('s')])
      .executeTakeFirst();
    const latest =
      [trials?.v, trialRows?.f, trialRows?.s]
        .filter((v): v is string => !!v)
        .sort()
        .pop() ?? '';
    return { audit: Number(audit?.v ?? 0), runs: runs?.v ?? '', trials: latest };
  }
}

function searchSummary(s: SearchRecord): SearchSummary {
  return {
    id: s.id,
    name: s.name,
    kind: s.kind,
    status: s.status,
    createdAt: s.createdAt,
    finishedAt: s.finishedAt,
    runId: s.runId,
    error: s.error,
  };
}

/** PNG or JPEG by magic bytes (the stored name is not trusted for the content type). */
function imageType(bytes: Uint8Array): RunImage['contentType'] | null {
  const png = [0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a];
  if (bytes.length >= 8 && png.every((b, i) => bytes[i] === b)) return 'image/png';
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  return null;
}
