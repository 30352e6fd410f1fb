import { z } from 'zod';
import { MIME_PREFIX } from './version';

/**
 * Model serving and drift monitoring: the TensorFlow-Serving-shaped REST responses of `floe serve`,
 * the input summary each served request is logged with, and the drift report (stored with every
 * monitoring pass, shown in notebooks as `application/vnd.floe.drift+json`, version_major 1).
 */

export const DRIFT_MIME = `${MIME_PREFIX}drift+json` as const;

// ---- TensorFlow Serving REST responses (field names as TF Serving writes them) ----

/** TF Serving's ModelVersionStatus.State as JSON. */
export const ServableState = z.enum(['START', 'LOADING', 'AVAILABLE', 'UNLOADING', 'END']);
export type ServableState = z.infer<typeof ServableState>;

/** `GET /v1/models/{name}[/versions/{v}|/labels/{l}]`. */
export const ModelStatusResponse = z.object({
  model_version_status: z.array(
    z.object({
      /** The version number as a string, as TF Serving writes int64s. */
      version: z.string(),
      state: ServableState,
      status: z.object({ error_code: z.string(), error_message: z.string() }),
    }),
  ),
});
export type ModelStatusResponse = z.infer<typeof ModelStatusResponse>;

export const TensorInfo = z.object({
  /** `DT_FLOAT` for every Floe input and output. */
  dtype: z.string(),
  tensor_shape: z.object({
    /** Sizes as strings; "-1" is the batch (any size). */
    dim: z.array(z.object({ size: z.string(), name: z.string() })),
    unknown_rank: z.boolean(),
  }),
  name: z.string(),
});
export type TensorInfo = z.infer<typeof TensorInfo>;

export const SignatureDef = z.object({
  inputs: z.record(z.string(), TensorInfo),
  outputs: z.record(z.string(), TensorInfo),
  method_name: z.string(),
});
export type SignatureDef = z.infer<typeof SignatureDef>;

/** `GET .../metadata`; `metadata.floe` is Floe's addition (units, channels, lineage), ignored by TF Serving clients. */
export const ModelMetadataResponse = z.object({
  model_spec: z.object({ name: z.string(), signature_name: z.string(), version: z.string() }),
  metadata: z.object({
    signature_def: z.object({ signature_def: z.record(z.string(), SignatureDef) }),
    floe: z
      .object({
        channels: z.array(z.string()),
        channelUnit: z.string(),
        angleFeature: z.string().nullable(),
        aliases: z.array(z.string()),
        trainingDataset: z.string().nullable(),
      })
      .optional(),
  }),
});
export type ModelMetadataResponse = z.infer<typeof ModelMetadataResponse>;

// ---- request log ----

export const HistogramCounts = z.object({
  lo: z.number(),
  hi: z.number(),
  counts: z.array(z.number().nonnegative()),
  below: z.number().nonnegative(),
  above: z.number().nonnegative(),
});
export type HistogramCounts = z.infer<typeof HistogramCounts>;

/** One image channel of one request, over all its instances (finite values only). */
export const BandSummary = z.object({
  band: z.string(),
  count: z.number().int().nonnegative(),
  nonFinite: z.number().int().nonnegative(),
  mean: z.number().nullable(),
  std: z.number().nullable(),
  /** Sum of squared deviations from the mean: summaries merge exactly. */
  m2: z.number().nonnegative(),
  min: z.number().nullable(),
  max: z.number().nullable(),
  /** Counts in the training statistics' bins; null when the model has no reference histogram. */
  histogram: HistogramCounts.nullable(),
});
export type BandSummary = z.infer<typeof BandSummary>;

/** What a logged request's inputs looked like, without the pixels. */
export const RequestInputSummary = z.object({
  bands: z.array(BandSummary),
  /** Incidence angle per instance in degrees, null where missing; null when the model takes no angle. */
  angles: z.array(z.number().nullable()).nullable(),
});
export type RequestInputSummary = z.infer<typeof RequestInputSummary>;

// ---- drift ----

/** Alert thresholds of a monitoring pass; every one has a default. */
export const DriftThresholds = z.object({
  /** Population stability index of a band, the angle or the predictions (0.2 = a significant shift). */
  psi: z.number().positive().default(0.2),
  /** Kolmogorov–Smirnov distance between binned distributions. */
  ks: z.number().positive().max(1).default(0.2),
  /** |served mean − training mean| in training standard deviations. */
  meanShift: z.number().positive().default(0.5),
  /** |served missing-angle rate − training missing-angle rate|. */
  missingRate: z.number().positive().max(1).default(0.15),
  /** |served positive rate (p ≥ 0.5) − training label rate|. */
  positiveRate: z.number().positive().max(1).default(0.3),
  /** Instances a window needs before it is judged. */
  minInstances: z.number().int().positive().default(20),
});
export type DriftThresholds = z.infer<typeof DriftThresholds>;
export type DriftThresholdsInput = z.input<typeof DriftThresholds>;

export const DriftMetric = z.enum(['psi', 'ks', 'mean_shift', 'missing_rate', 'positive_rate']);
export type DriftMetric = z.infer<typeof DriftMetric>;

export const DriftAlert = z.object({
  /** A band name, the angle feature's name or `prediction`. */
  feature: z.string(),
  metric: DriftMetric,
  value: z.number(),
  threshold: z.number(),
  message: z.string(),
});
export type DriftAlert = z.infer<typeof DriftAlert>;

const Moments = z.object({ mean: z.number().nullable(), std: z.number().nullable() });

export const BandDrift = z.object({
  band: z.string(),
  reference: Moments,
  served: Moments.extend({ min: z.number().nullable(), max: z.number().nullable(), count: z.number().int() }),
  /** Null where the reference has no histogram. */
  psi: z.number().nullable(),
  ks: z.number().nullable(),
  /** (served mean − reference mean) / reference std. */
  meanShift: z.number().nullable(),
  referenceHistogram: HistogramCounts.nullable(),
  servedHistogram: HistogramCounts.nullable(),
});
export type BandDrift = z.infer<typeof BandDrift>;

export const AngleDrift = z.object({
  feature: z.string(),
  reference: Moments.extend({ missingRate: z.number().nullable() }),
  served: Moments.extend({ missingRate: z.number().nullable(), count: z.number().int() }),
  psi: z.number().nullable(),
  ks: z.number().nullable(),
  referenceHistogram: HistogramCounts.nullable(),
  servedHistogram: HistogramCounts.nullable(),
});
export type AngleDrift = z.infer<typeof AngleDrift>;

export const PredictionDrift = z.object({
  /** Ten equal bins over [0, 1] of the first output. */
  histogram: z.array(z.number().nonnegative()),
  mean: z.number().nullable(),
  /** Fraction of predictions ≥ 0.5. */
  positiveRate: z.number().nullable(),
  /** Mean label of the training data (fraction of icebergs), when known. */
  referencePositiveRate: z.number().nullable(),
});
export type PredictionDrift = z.infer<typeof PredictionDrift>;

export const DriftStatus = z.enum(['ok', 'drift', 'insufficient-data', 'no-reference']);
export type DriftStatus = z.infer<typeof DriftStatus>;

/** One window of served requests against the training statistics. */
export const DriftWindow = z.object({
  start: z.string(),
  end: z.string(),
  requests: z.number().int().nonnegative(),
  instances: z.number().int().nonnegative(),
  status: DriftStatus,
  bands: z.array(BandDrift),
  angle: AngleDrift.nullable(),
  predictions: PredictionDrift,
  alerts: z.array(DriftAlert),
});
export type DriftWindow = z.infer<typeof DriftWindow>;

/** Where the reference statistics came from. */
export const DriftReference = z.object({
  /** `feature-store`: a training dataset's feature group commit; `preprocessing`: only the model's channel mean/std. */
  source: z.enum(['feature-store', 'preprocessing']),
  trainingDataset: z.string().nullable(),
  featureGroup: z.string().nullable(),
  commit: z.number().int().nullable(),
  rows: z.number().int().nullable(),
});
export type DriftReference = z.infer<typeof DriftReference>;

export const DriftReport = z.object({
  /** Store id of the recorded report; null when not recorded. */
  id: z.number().int().nullable(),
  model: z.string(),
  /** The served version the windows cover. */
  version: z.number().int().positive(),
  createdAt: z.string(),
  reference: DriftReference.nullable(),
  thresholds: DriftThresholds,
  windows: z.array(DriftWindow),
});
export type DriftReport = z.infer<typeof DriftReport>;

export const DriftPayload = z.object({
  version_major: z.literal(1),
  version_minor: z.number().int().nonnegative(),
  report: DriftReport,
});
export type DriftPayload = z.infer<typeof DriftPayload>;
