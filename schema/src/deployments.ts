import { z } from 'zod';
import { StoreChangeCounters } from './hub';
import { DriftMetric, DriftStatus, ServableState } from './serving';

/**
 * Deployments: each start of a model server (`floe serve` / `serve()`) is recorded in the store under a
 * deployment name, with its configuration, the versions it serves and a heartbeat. The hub answers
 * `/v1/deployments` and `/v1/deployments/{name}` from those records, the request log (latency and
 * throughput over recent windows) and the recorded drift alerts.
 */

/** A deployment name: a letter or digit, then letters, digits, `_`, `.` or `-` (at most 128). */
export const DeploymentName = z
  .string()
  .regex(/^[A-Za-z0-9][A-Za-z0-9_.-]{0,127}$/, 'a letter or digit, then up to 127 letters, digits, _ . or -');
export type DeploymentName = z.infer<typeof DeploymentName>;

/**
 * `running`: heartbeat recent; `stopped`: the server closed cleanly; `lost`: no heartbeat for three
 * heartbeat periods (the process died without closing).
 */
export const DeploymentStatus = z.enum(['running', 'stopped', 'lost']);
export type DeploymentStatus = z.infer<typeof DeploymentStatus>;

/** How a deployment was configured when it started (what `floe serve` was told). */
export const DeploymentConfig = z.object({
  /** Model names asked for; null: every model in the registry. */
  models: z.array(z.string()).nullable(),
  versionPolicy: z.enum(['latest', 'all']),
  /** Dynamic batching, or null when off. */
  batching: z.object({ maxBatchSize: z.number().int(), maxWaitUs: z.number() }).nullable(),
  maxBodyBytes: z.number().int(),
  requestLog: z.boolean(),
  /** How the models ran: on a thread of their own or not, and TensorFlow's settings (absent in older records). */
  execution: z
    .object({
      predictThread: z.boolean(),
      /** Intra-op threads; null: TensorFlow's default. */
      intraOpThreads: z.number().int().positive().nullable(),
      /** oneDNN kernels; null: TensorFlow's default for the CPU. */
      onednn: z.boolean().nullable(),
    })
    .optional(),
  heartbeatMs: z.number().int().positive(),
});
export type DeploymentConfig = z.infer<typeof DeploymentConfig>;

/** A version the server manages, as of its last heartbeat. */
export const ServedVersion = z.object({
  model: z.string(),
  version: z.number().int(),
  state: ServableState,
  labels: z.array(z.string()),
  error: z.string().nullable(),
});
export type ServedVersion = z.infer<typeof ServedVersion>;

export const DeploymentSummary = z.object({
  /** Id of the latest start recorded under this name. */
  id: z.number().int(),
  name: z.string(),
  status: DeploymentStatus,
  url: z.string(),
  host: z.string(),
  pid: z.number().int(),
  startedAt: z.string(),
  heartbeatAt: z.string(),
  stoppedAt: z.string().nullable(),
  served: z.array(ServedVersion),
  /** Predict requests logged in the last 5 minutes before `asOf` (detail) or now. */
  recentRequests: z.number().int().nonnegative(),
  /** Drift alerts recorded in the last 24 hours for the versions it serves. */
  recentAlerts: z.number().int().nonnegative(),
});
export type DeploymentSummary = z.infer<typeof DeploymentSummary>;

export const DeploymentListResponse = z.object({ deployments: z.array(DeploymentSummary) });
export type DeploymentListResponse = z.infer<typeof DeploymentListResponse>;

/** Latency percentiles and throughput of the logged predict requests in one trailing window. */
export const ServingWindowStats = z.object({
  /** Window length in seconds, ending at `asOf`. */
  seconds: z.number().int().positive(),
  requests: z.number().int().nonnegative(),
  instances: z.number().int().nonnegative(),
  requestsPerSecond: z.number().nonnegative(),
  instancesPerSecond: z.number().nonnegative(),
  /** Milliseconds, null without requests. */
  latencyP50: z.number().nullable(),
  latencyP95: z.number().nullable(),
  latencyP99: z.number().nullable(),
  meanBatchSize: z.number().nullable(),
});
export type ServingWindowStats = z.infer<typeof ServingWindowStats>;

/** One bucket of the recent time series (for the latency and throughput charts). */
export const ServingBucket = z.object({
  /** Bucket start (ISO-8601 UTC). */
  start: z.string(),
  requests: z.number().int().nonnegative(),
  requestsPerSecond: z.number().nonnegative(),
  latencyP50: z.number().nullable(),
  latencyP95: z.number().nullable(),
});
export type ServingBucket = z.infer<typeof ServingBucket>;

export const DeploymentDriftAlert = z.object({
  id: z.number().int(),
  reportId: z.number().int(),
  createdAt: z.string(),
  model: z.string(),
  version: z.number().int(),
  windowStart: z.string(),
  windowEnd: z.string(),
  feature: z.string(),
  metric: DriftMetric,
  value: z.number(),
  threshold: z.number(),
  message: z.string(),
});
export type DeploymentDriftAlert = z.infer<typeof DeploymentDriftAlert>;

/** The latest drift report per served version. */
export const DeploymentDriftStatus = z.object({
  model: z.string(),
  version: z.number().int(),
  reportId: z.number().int(),
  createdAt: z.string(),
  status: DriftStatus,
  alerts: z.number().int().nonnegative(),
});
export type DeploymentDriftStatus = z.infer<typeof DeploymentDriftStatus>;

/** `GET /v1/deployments/{name}`. */
export const DeploymentDetailResponse = z.object({
  deployment: DeploymentSummary,
  config: DeploymentConfig,
  /** Earlier starts under the same name, newest first (at most 20). */
  history: z.array(
    z.object({
      id: z.number().int(),
      status: DeploymentStatus,
      startedAt: z.string(),
      stoppedAt: z.string().nullable(),
    }),
  ),
  /** The end of the windows: now while running, else when it stopped (or last beat). */
  asOf: z.string(),
  /** Trailing windows (1, 5 and 15 minutes) over every start under this name. */
  windows: z.array(ServingWindowStats),
  /** Per-minute buckets over the last 30 minutes before `asOf`, oldest first. */
  series: z.array(ServingBucket),
  /** Requests per served version in the 15-minute window. */
  byVersion: z.array(z.object({ model: z.string(), version: z.number().int(), requests: z.number().int() })),
  /** True when the 15-minute window held more requests than the hub reads at once (newest ones kept). */
  sampled: z.boolean(),
  drift: z.array(DeploymentDriftStatus),
  /** Newest first, at most 50. */
  alerts: z.array(DeploymentDriftAlert),
});
export type DeploymentDetailResponse = z.infer<typeof DeploymentDetailResponse>;

/**
 * The `/v1/events` counters with the serving one: it moves with every request logged, drift alert
 * recorded and deployment heartbeat (empty from a hub that predates deployments).
 */
export const ServingChangeCounters = StoreChangeCounters.extend({ serving: z.string().default('') });
export type ServingChangeCounters = z.infer<typeof ServingChangeCounters>;
