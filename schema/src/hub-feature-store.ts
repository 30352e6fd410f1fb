/**
 * The feature store browser's part of the hub contract: the typed form of what a commit stores
 * (statistics, validation report), a training dataset's spec with its lineage, and the patch gallery's
 * page of SAR patches. The feature group routes answer statistics and validation as stored (`unknown`
 * in hub.ts); the browser parses them with these schemas and says so when one does not fit.
 */
import { z } from 'zod';
import { FeatureName } from './features';
import { ValidationReport } from './validation';

// ---- commit statistics (kernel-services/src/feature-store/statistics.ts, as stored) ----

/** Equal-width bins from `lo` to `hi`; values outside land in `below` / `above`. */
export const StoredHistogram = z.object({
  lo: z.number(),
  hi: z.number(),
  counts: z.array(z.number().nonnegative()),
  below: z.number().nonnegative(),
  above: z.number().nonnegative(),
});
export type StoredHistogram = z.infer<typeof StoredHistogram>;

export const StoredNumericSummary = z.object({
  count: z.number().int().nonnegative(),
  nonFinite: z.number().int().nonnegative(),
  min: z.number().nullable(),
  max: z.number().nullable(),
  mean: z.number().nullable(),
  std: z.number().nullable(),
  histogram: StoredHistogram.nullable(),
});
export type StoredNumericSummary = z.infer<typeof StoredNumericSummary>;

export const StoredFeatureStatistics = z.object({
  name: z.string(),
  kind: z.enum(['scalar', 'tensor']),
  dtype: z.string(),
  rows: z.number().int().nonnegative(),
  missing: z.number().int().nonnegative(),
  numeric: StoredNumericSummary.optional(),
  /** Tensor features: one summary per band (the whole tensor for rank 1-2, each channel of rank 3+). */
  bands: z.array(StoredNumericSummary.extend({ band: z.string() })).optional(),
  trueCount: z.number().int().nonnegative().optional(),
  distinct: z.number().int().nonnegative().optional(),
  distinctCapped: z.boolean().optional(),
  earliest: z.string().nullable().optional(),
  latest: z.string().nullable().optional(),
});
export type StoredFeatureStatistics = z.infer<typeof StoredFeatureStatistics>;

export const StoredStatisticsSet = z.object({
  rows: z.number().int().nonnegative(),
  features: z.record(z.string(), StoredFeatureStatistics),
});
export type StoredStatisticsSet = z.infer<typeof StoredStatisticsSet>;

/** `commit`: the rows that commit inserted; `group`: the whole group as of that commit. */
export const StoredCommitStatistics = z.object({ commit: StoredStatisticsSet, group: StoredStatisticsSet });
export type StoredCommitStatistics = z.infer<typeof StoredCommitStatistics>;

/** A commit's validation: one report, or one per chunk for a streamed insert. */
export const StoredCommitValidation = z.union([
  ValidationReport,
  z.object({ chunks: z.array(ValidationReport).min(1) }),
]);
export type StoredCommitValidation = z.infer<typeof StoredCommitValidation>;

// ---- training datasets ----

/** A training dataset's spec as stored: selection, splits, and the commit it is frozen to. */
export const StoredTrainingDatasetSpec = z.object({
  features: z.array(z.string()),
  label: z.string().nullable(),
  filter: z.string().nullable(),
  splits: z.record(z.string(), z.number()),
  seed: z.number(),
  stratify: z.boolean(),
  lineage: z.object({
    featureGroup: z.object({
      name: z.string(),
      version: z.number().int(),
      commit: z.number().int(),
      lanceVersion: z.number().int(),
    }),
  }),
});
export type StoredTrainingDatasetSpec = z.infer<typeof StoredTrainingDatasetSpec>;

// ---- patch gallery ----

/** Most patches one gallery page carries (75×75×2 float32 is 45 KB a patch before base64). */
export const PATCH_PAGE_MAX = 48;
/** Largest patch (height × width) the gallery serves. */
export const PATCH_PIXELS_MAX = 256 * 256;

/**
 * `GET /v1/feature-groups/{name}/patches?version&commit&offset&limit&bands&label&prediction`.
 * `bands`: comma-separated 2-D tensor features (default: every 2-D float tensor, at most 4);
 * `label` / `prediction`: scalar features shown under each patch (defaults: `is_iceberg` or `label`;
 * a float feature named `prediction` or ending in `_prediction` / `_probability`).
 */
const PATCH_QUERY_KEYS = new Set(['version', 'commit', 'offset', 'limit', 'bands', 'label', 'prediction']);

export const PatchPageQuery = z
  .object({
    version: z.coerce.number().int().min(1).optional(),
    commit: z.coerce.number().int().min(1).optional(),
    offset: z.coerce.number().int().nonnegative().max(1e12).default(0),
    limit: z.coerce.number().int().min(1).max(PATCH_PAGE_MAX).default(24),
    bands: z
      .string()
      .regex(
        /^[A-Za-z_][A-Za-z0-9_]{0,62}(,[A-Za-z_][A-Za-z0-9_]{0,62}){0,3}$/,
        'expected 1 to 4 feature names separated by commas',
      )
      .optional(),
    label: FeatureName.optional(),
    prediction: FeatureName.optional(),
  })
  .loose()
  .superRefine((query, ctx) => {
    // Unknown parameters are refused by name, so a typo is a 400 rather than silently ignored. A bare
    // number is JupyterLab's cache-busting parameter (ServerConnection adds one to every GET).
    for (const key of Object.keys(query)) {
      if (!PATCH_QUERY_KEYS.has(key) && !/^\d+$/.test(key))
        ctx.addIssue({
          code: 'custom',
          path: [key],
          message: `unknown parameter (known: ${[...PATCH_QUERY_KEYS].join(', ')})`,
        });
    }
  });
export type PatchPageQuery = z.infer<typeof PatchPageQuery>;

export const PatchBand = z.object({
  name: z.string(),
  unit: z.string(),
  description: z.string(),
});
export type PatchBand = z.infer<typeof PatchBand>;

export const GalleryPatch = z.object({
  /** Position of the row in the commit's data (offset + index in the page). */
  row: z.number().int().nonnegative(),
  /** The primary key as text (several key features joined by ` / `). */
  id: z.string(),
  label: z.union([z.number(), z.string(), z.boolean()]).nullable(),
  prediction: z.number().nullable(),
  /** Band name → little-endian float32 values, row-major height × width, base64. */
  bands: z.record(z.string(), z.string()),
});
export type GalleryPatch = z.infer<typeof GalleryPatch>;

export const PatchPageResponse = z.object({
  featureGroup: z.string(),
  version: z.number().int(),
  /** The commit read, or null when the group has none yet (then `total` is 0). */
  commit: z.number().int().nullable(),
  committedAt: z.string().nullable(),
  /** Rows in the group as of that commit. */
  total: z.number().int().nonnegative(),
  offset: z.number().int().nonnegative(),
  limit: z.number().int().positive(),
  height: z.number().int().positive(),
  width: z.number().int().positive(),
  bands: z.array(PatchBand).min(1),
  label: z.string().nullable(),
  prediction: z.string().nullable(),
  patches: z.array(GalleryPatch),
});
export type PatchPageResponse = z.infer<typeof PatchPageResponse>;
