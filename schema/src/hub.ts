/**
 * The hub's REST contract (`/v1/...`): query parameters it accepts and the bodies it answers with.
 * The hub validates queries with these schemas and the extension validates every answer with them.
 */
import { z } from 'zod';
import { ModelVersion, Run, RunArtifact, RunStatus } from './tracking';
import { ParallelCoordinatesSpec, SearchStatus, TrialSummary } from './search';

// ---- experiments and runs ----

export const ExperimentSummary = z.object({
  id: z.number().int(),
  name: z.string(),
  description: z.string(),
  createdAt: z.string(),
  runs: z.number().int().nonnegative(),
});
export type ExperimentSummary = z.infer<typeof ExperimentSummary>;

export const ExperimentListResponse = z.object({ experiments: z.array(ExperimentSummary) });
export type ExperimentListResponse = z.infer<typeof ExperimentListResponse>;

/** Columns the runs table sorts on in SQL; `metric:<name>` sorts on a summary metric (runs without it last). */
export const RunSortKey = z.union([
  z.enum(['id', 'name', 'status', 'started', 'epochs']),
  z.string().regex(/^metric:.{1,200}$/, 'expected id, name, status, started, epochs or metric:<name>'),
]);
export type RunSortKey = z.infer<typeof RunSortKey>;

/** `GET /v1/experiments/{name}/runs?offset&limit&sort&dir&filter&status` (query strings, coerced). */
export const RunListQuery = z.object({
  offset: z.coerce.number().int().nonnegative().default(0),
  limit: z.coerce.number().int().min(1).max(1000).default(100),
  sort: RunSortKey.default('started'),
  dir: z.enum(['asc', 'desc']).default('desc'),
  /** Case-insensitive text that the run's name or params (as JSON text) must contain. */
  filter: z.string().max(200).default(''),
  status: RunStatus.optional(),
  /** `none`: top-level runs only (searches, not their trials); a run id: that run's children (its trials). */
  parent: z.union([z.literal('none'), z.coerce.number().int().nonnegative()]).optional(),
});
export type RunListQuery = z.infer<typeof RunListQuery>;

/** A runs-table row: what the table shows, without environment, code or checkpoint. */
export const RunRow = z.object({
  id: z.number().int(),
  experiment: z.string(),
  name: z.string(),
  status: RunStatus,
  params: z.record(z.string(), z.unknown()),
  summary: z.record(z.string(), z.number()),
  parentRunId: z.number().int().nullable(),
  /** Child runs (a search's trials) under this run. */
  children: z.number().int().nonnegative(),
  epochsCompleted: z.number().int(),
  startedAt: z.string(),
  endedAt: z.string().nullable(),
});
export type RunRow = z.infer<typeof RunRow>;

export const RunListResponse = z.object({
  /** Runs matching the filter (all pages). */
  total: z.number().int().nonnegative(),
  offset: z.number().int().nonnegative(),
  limit: z.number().int().positive(),
  runs: z.array(RunRow),
});
export type RunListResponse = z.infer<typeof RunListResponse>;

/** One metric of a run; `points` are `[step, value]`, downsampled when the series is long. */
export const MetricSeries = z.object({
  name: z.string(),
  scope: z.enum(['step', 'epoch', 'final']),
  points: z.array(z.tuple([z.number(), z.number()])),
  /** Points stored for this series; more than `points.length` when downsampled. */
  totalPoints: z.number().int().nonnegative(),
});
export type MetricSeries = z.infer<typeof MetricSeries>;

/** `GET /v1/runs/{id}?points=N`. */
export const RunDetailQuery = z.object({
  points: z.coerce.number().int().min(10).max(10_000).default(500),
});
export type RunDetailQuery = z.infer<typeof RunDetailQuery>;

export const RunDetailResponse = z.object({
  run: Run,
  metrics: z.array(MetricSeries),
  artifacts: z.array(RunArtifact),
});
export type RunDetailResponse = z.infer<typeof RunDetailResponse>;

// ---- models ----

export const ModelSummary = z.object({
  name: z.string(),
  latestVersion: z.number().int(),
  versions: z.number().int(),
  aliases: z.record(z.string(), z.number().int()),
});
export type ModelSummary = z.infer<typeof ModelSummary>;

export const ModelListResponse = z.object({ models: z.array(ModelSummary) });
export type ModelListResponse = z.infer<typeof ModelListResponse>;

export const ModelDetailResponse = z.object({ name: z.string(), versions: z.array(ModelVersion) });
export type ModelDetailResponse = z.infer<typeof ModelDetailResponse>;

/** `GET /v1/models/{name}/versions/{v}/lineage`: model → run → training dataset → feature group commit. */
export const ModelLineageResponse = z.object({
  model: ModelVersion,
  run: z.object({
    id: z.number().int(),
    name: z.string(),
    experiment: z.string(),
    status: z.string(),
    startedAt: z.string(),
    params: z.record(z.string(), z.unknown()),
  }),
  trainingDataset: z
    .object({
      id: z.number().int(),
      name: z.string(),
      version: z.number().int(),
      commit: z.number().int(),
      splitCounts: z.record(z.string(), z.number()),
    })
    .nullable(),
  featureGroupCommit: z
    .object({
      featureGroup: z.string(),
      version: z.number().int(),
      commit: z.number().int(),
      committedAt: z.string(),
      rows: z.number().int(),
    })
    .nullable(),
});
export type ModelLineageResponse = z.infer<typeof ModelLineageResponse>;

// ---- feature store ----

export const FeatureGroupSummary = z.object({
  id: z.number().int(),
  name: z.string(),
  version: z.number().int(),
  description: z.string(),
  commits: z.number().int().nonnegative(),
  rows: z.number().int().nonnegative(),
  lastCommitAt: z.string().nullable(),
});
export type FeatureGroupSummary = z.infer<typeof FeatureGroupSummary>;

export const FeatureGroupListResponse = z.object({ featureGroups: z.array(FeatureGroupSummary) });
export type FeatureGroupListResponse = z.infer<typeof FeatureGroupListResponse>;

export const FeatureGroupCommit = z.object({
  number: z.number().int(),
  rowsInserted: z.number().int(),
  rowsRejected: z.number().int(),
  totalRows: z.number().int(),
  committedAt: z.string(),
  /** Per-feature statistics (counts, moments, fixed-bin histograms per band) as the store keeps them. */
  statistics: z.unknown(),
  /** The validation report of this commit, or null when the group has no rules. */
  validation: z.unknown(),
});
export type FeatureGroupCommit = z.infer<typeof FeatureGroupCommit>;

export const FeatureGroupDetailResponse = z.object({
  id: z.number().int(),
  name: z.string(),
  version: z.number().int(),
  description: z.string(),
  schema: z.unknown(),
  primaryKey: z.array(z.string()),
  eventTime: z.string().nullable(),
  createdAt: z.string(),
  commits: z.array(FeatureGroupCommit),
});
export type FeatureGroupDetailResponse = z.infer<typeof FeatureGroupDetailResponse>;

export const TrainingDatasetSummary = z.object({
  id: z.number().int(),
  name: z.string(),
  version: z.number().int(),
  description: z.string(),
  spec: z.record(z.string(), z.unknown()),
  splitCounts: z.record(z.string(), z.number()),
  createdAt: z.string(),
});
export type TrainingDatasetSummary = z.infer<typeof TrainingDatasetSummary>;

export const TrainingDatasetListResponse = z.object({ trainingDatasets: z.array(TrainingDatasetSummary) });
export type TrainingDatasetListResponse = z.infer<typeof TrainingDatasetListResponse>;

// ---- searches ----

export const SearchSummary = z.object({
  id: z.number().int(),
  name: z.string(),
  kind: z.enum(['search', 'ablation']),
  status: SearchStatus,
  createdAt: z.string(),
  finishedAt: z.string().nullable(),
  runId: z.number().int().nullable(),
  error: z.string().nullable(),
});
export type SearchSummary = z.infer<typeof SearchSummary>;

export const SearchListResponse = z.object({ searches: z.array(SearchSummary) });
export type SearchListResponse = z.infer<typeof SearchListResponse>;

export const SearchDetailResponse = z.object({
  search: SearchSummary,
  /** The search's configuration as stored (space, optimizer, stopping rule, direction). */
  config: z.record(z.string(), z.unknown()),
  trials: z.array(TrialSummary),
  /** The best finished or stopped trial under the search's direction, or null before one has a metric. */
  best: z.object({ trial: z.number().int(), metric: z.number(), params: z.record(z.string(), z.unknown()) }).nullable(),
  /** One axis per search-space parameter plus the metric; one line per trial with a metric. */
  parallelCoordinates: ParallelCoordinatesSpec,
});
export type SearchDetailResponse = z.infer<typeof SearchDetailResponse>;

// ---- live updates ----

/**
 * `GET /v1/events` (text/event-stream): one `changes` event when the store's change counters move.
 * A panel refetches what it shows when the counter it cares about differs from the last one it saw.
 */
export const StoreChangeCounters = z.object({
  /** Last audit-log entry: commits, registrations, run starts and ends. */
  audit: z.number().int(),
  /** Latest run heartbeat (metrics logged update it), or '' for none. */
  runs: z.string(),
  /** Latest trial or search update, or '' for none. */
  trials: z.string(),
});
export type StoreChangeCounters = z.infer<typeof StoreChangeCounters>;

// ---- run images (saliency across epochs) ----

/** A file name inside a multi-file artifact: no separators, no leading dot (so never `..`). */
export const ArtifactFileName = z
  .string()
  .regex(/^[A-Za-z0-9_][A-Za-z0-9._-]{0,99}$/, 'a file name is letters, digits, _ . - (no slashes, no leading dot)');

/**
 * `GET /v1/runs/{id}/image?artifact=<name>[&file=<file>]`: a PNG or JPEG of a run's artifact (an image
 * artifact, or one file listed in a multi-file artifact's `meta.images`), served with its content type.
 */
export const RunImageQuery = z.object({
  artifact: z.string().min(1).max(200),
  file: ArtifactFileName.optional(),
});
export type RunImageQuery = z.infer<typeof RunImageQuery>;

/**
 * `meta` of a saliency artifact (kind `plot`, name `saliency/epoch-<NNN>`, blob key a folder prefix):
 * the explanation images of a fixed set of patches after one epoch, so epochs and runs line up.
 */
export const SaliencyArtifactMeta = z.object({
  type: z.literal('saliency'),
  method: z.enum(['saliency', 'gradcam']),
  epoch: z.number().int().nonnegative(),
  images: z.array(
    z.object({
      file: ArtifactFileName,
      /** The patch's id (the same ids every epoch and every run of a comparison). */
      patch: z.string(),
      /** The patch's label (1 iceberg, 0 ship) when known. */
      label: z.number().int().nullable(),
      /** The model's p(iceberg) for the patch at that epoch. */
      probability: z.number().nullable(),
    }),
  ),
});
export type SaliencyArtifactMeta = z.infer<typeof SaliencyArtifactMeta>;
