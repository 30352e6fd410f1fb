import { z } from 'zod';
import { TensorflowInfo } from './info';

/**
 * Experiment tracking and model registry records: what the library stores, the hub serves and the
 * panels show. Field names are camelCase here; the SQL columns are snake_case and converted once in
 * kernel-services/src/tracking.
 */

/** `running` until the run ends; `interrupted` when stopped by the user, a signal or a vanished process. */
export const RunStatus = z.enum(['running', 'finished', 'failed', 'interrupted']);
export type RunStatus = z.infer<typeof RunStatus>;

export const Experiment = z.object({
  id: z.number().int(),
  name: z.string().min(1),
  description: z.string(),
  createdAt: z.string(),
});
export type Experiment = z.infer<typeof Experiment>;

/** Where a run computed and with which software: recorded on every run. */
export const RunEnvironment = z.object({
  floeVersion: z.string(),
  tensorflow: TensorflowInfo,
  node: z.string(),
  platform: z.string(),
  host: z.string(),
  pid: z.number().int(),
  cpus: z.number().int(),
});
export type RunEnvironment = z.infer<typeof RunEnvironment>;

/** The data a run trained on: a training dataset frozen to a feature group commit (when it came from the feature store). */
export const DatasetLineage = z.object({
  trainingDatasetId: z.number().int().nullable(),
  trainingDatasetName: z.string().nullable(),
  trainingDatasetVersion: z.number().int().nullable(),
  featureGroup: z.string().nullable(),
  featureGroupVersion: z.number().int().nullable(),
  commit: z.number().int().nullable(),
  /** Free text for data that did not come from the feature store (e.g. `in-memory tensors`). */
  description: z.string().optional(),
});
export type DatasetLineage = z.infer<typeof DatasetLineage>;

/** The notebook or script that ran a run, as it was on disk when the run started. */
export const CodeSnapshot = z.object({
  /** `given` (passed by the caller), `notebook` (found from the Jupyter session), `script` (the process's main file). */
  source: z.enum(['given', 'notebook', 'script']),
  path: z.string(),
  sha256: z.string(),
  bytes: z.number().int(),
  /** Blob key of the stored content. */
  blobKey: z.string(),
});
export type CodeSnapshot = z.infer<typeof CodeSnapshot>;

export const CheckpointRef = z.object({
  /** Last completed epoch (1-based) saved in this checkpoint. */
  epoch: z.number().int(),
  step: z.number().int(),
  /** Blob key prefix: `<prefix>model.json`, `weights.bin`, `optimizer.bin`, `state.json`. */
  prefix: z.string(),
  savedAt: z.string(),
});
export type CheckpointRef = z.infer<typeof CheckpointRef>;

export const Run = z.object({
  id: z.number().int(),
  experimentId: z.number().int(),
  experiment: z.string(),
  name: z.string(),
  status: RunStatus,
  params: z.record(z.string(), z.unknown()),
  /** Latest value of every metric (epoch scope, then final evaluation `test/*` or `eval/*`). */
  summary: z.record(z.string(), z.number()),
  environment: RunEnvironment.nullable(),
  dataset: DatasetLineage.nullable(),
  code: CodeSnapshot.nullable(),
  checkpoint: CheckpointRef.nullable(),
  parentRunId: z.number().int().nullable(),
  tags: z.record(z.string(), z.string()),
  error: z.string().nullable(),
  epochsCompleted: z.number().int(),
  startedAt: z.string(),
  endedAt: z.string().nullable(),
  heartbeatAt: z.string(),
  host: z.string(),
  pid: z.number().int(),
});
export type Run = z.infer<typeof Run>;

/** `step` metrics are per batch (step = global batch number), `epoch` per epoch (step = epoch), `final` once. */
export const MetricScope = z.enum(['step', 'epoch', 'final']);
export type MetricScope = z.infer<typeof MetricScope>;

export const MetricPoint = z.object({
  name: z.string(),
  scope: MetricScope,
  step: z.number().int(),
  value: z.number(),
  at: z.string(),
});
export type MetricPoint = z.infer<typeof MetricPoint>;

export const ArtifactKind = z.enum(['model', 'checkpoint', 'plot', 'evaluation', 'code', 'other']);
export type ArtifactKind = z.infer<typeof ArtifactKind>;

export const RunArtifact = z.object({
  runId: z.number().int(),
  name: z.string(),
  kind: ArtifactKind,
  /** A blob key, or a key prefix for multi-file artifacts (a TF.js model folder ends with `/`). */
  blobKey: z.string(),
  meta: z.record(z.string(), z.unknown()),
  createdAt: z.string(),
});
export type RunArtifact = z.infer<typeof RunArtifact>;

/** Model registry: run → training dataset → feature group commit. */
export const ModelLineage = z.object({
  runId: z.number().int(),
  experiment: z.string(),
  dataset: DatasetLineage.nullable(),
});
export type ModelLineage = z.infer<typeof ModelLineage>;

export const ModelVersion = z.object({
  name: z.string(),
  version: z.number().int().positive(),
  description: z.string(),
  metrics: z.record(z.string(), z.number()),
  lineage: ModelLineage,
  /** Blob key prefix of the TF.js model (`model.json` + `weights.bin`). */
  blobPrefix: z.string(),
  aliases: z.array(z.string()),
  /** What the model takes: channel feature names, whether it takes the incidence angle, input shape. */
  signature: z.record(z.string(), z.unknown()),
  createdAt: z.string(),
});
export type ModelVersion = z.infer<typeof ModelVersion>;

/** Alias names: lowercase identifiers such as `production`, `staging`, `champion`. */
export const ModelAliasName = z
  .string()
  .regex(/^[a-z][a-z0-9_-]{0,62}$/, 'an alias is a lowercase letter then up to 62 of a-z 0-9 _ -');
