/**
 * Labels placed on a SAR raster in the viewer (or from a notebook) and their commit into a feature group
 * as 75×75 chips: `POST /v1/labels/commit`. One schema for the hub, the extension and the library.
 */
import { z } from 'zod';

/** What a labelled target is; stored as the iceberg schema's `is_iceberg` (ship 0, iceberg 1). */
export const LabelClass = z.enum(['ship', 'iceberg']);
export type LabelClass = z.infer<typeof LabelClass>;

/** A raster path as the viewer knows it: relative to the Jupyter server's root (or absolute). */
const RasterPath = z
  .string()
  .min(1)
  .max(1024)
  .refine((p) => !p.includes('\0'), 'a path cannot contain NUL characters');

/** A point label at a full-resolution pixel position (column, row; fractions allowed). */
export const LabelPoint = z.object({
  /** Primary key of the chip; default `<raster file>:r<row>:c<col>` (the same point twice is a duplicate). */
  id: z
    .string()
    .regex(/^[A-Za-z0-9][A-Za-z0-9_.:-]{0,127}$/, 'a label id is letters, digits, _ . : - (up to 128)')
    .optional(),
  col: z.number().finite().nonnegative(),
  row: z.number().finite().nonnegative(),
  class: LabelClass,
});
export type LabelPoint = z.infer<typeof LabelPoint>;

export const CommitLabelsRequest = z.object({
  /** Feature group to commit into (its latest version; created with the label-chip schema when missing). */
  featureGroup: z
    .string()
    .regex(/^[A-Za-z][A-Za-z0-9_-]{0,62}$/, 'a feature group name: a letter, then up to 62 letters, digits, _ or -'),
  /** The co-polarised raster (VV/HH), or one file holding both polarisations as two bands. */
  raster: RasterPath,
  /** The cross-polarised raster (VH/HV); default: the file beside `raster` named with the other polarisation. */
  crossPolRaster: RasterPath.optional(),
  labels: z.array(LabelPoint).min(1).max(1000),
  /** Who placed the labels (stored in every row). */
  labelledBy: z.string().min(1).max(200).default('unknown'),
});
export type CommitLabelsRequest = z.input<typeof CommitLabelsRequest>;
export type CommitLabelsRequestParsed = z.output<typeof CommitLabelsRequest>;

export const CommittedChip = z.object({
  id: z.string(),
  class: LabelClass,
  /** Top-left pixel of the 75×75 window in the full-resolution raster. */
  col0: z.number().int(),
  row0: z.number().int(),
  validFraction: z.number(),
  lon: z.number().nullable(),
  lat: z.number().nullable(),
});
export type CommittedChip = z.infer<typeof CommittedChip>;

export const CommitLabelsResponse = z.object({
  featureGroup: z.object({ name: z.string(), version: z.number().int() }),
  commit: z.object({
    number: z.number().int(),
    rowsInserted: z.number().int(),
    rowsRejected: z.number().int(),
    totalRows: z.number().int(),
    committedAt: z.string(),
  }),
  /** The rasters the chips were cut from (as given, resolved inside the allowed roots). */
  rasters: z.array(z.string()),
  chips: z.array(CommittedChip),
});
export type CommitLabelsResponse = z.infer<typeof CommitLabelsResponse>;

// ---- overlays on the SAR viewer ----

const Position = z.tuple([z.number().finite(), z.number().finite()]);

/** The GeoJSON geometries the viewer draws: points (labels, detections) and polygons (footprints, boxes). */
export const OverlayGeometry = z.discriminatedUnion('type', [
  z.object({ type: z.literal('Point'), coordinates: Position }),
  z.object({ type: z.literal('Polygon'), coordinates: z.array(z.array(Position).min(4)).min(1) }),
]);
export type OverlayGeometry = z.infer<typeof OverlayGeometry>;

export const OverlayFeature = z.object({
  type: z.literal('Feature'),
  geometry: OverlayGeometry,
  /** `class` picks the style (ship, iceberg, …); `score` (0–1) is shown for predictions; `label` as text. */
  properties: z
    .object({
      class: z.string().max(64).optional(),
      score: z.number().finite().optional(),
      label: z.string().max(200).optional(),
    })
    .passthrough()
    .nullable()
    .default(null),
});
export type OverlayFeature = z.infer<typeof OverlayFeature>;

/**
 * A named layer of vector features on a raster. `crs` says how coordinates are read: `pixel` as
 * [column, row] of the full-resolution image, `lonlat` as GeoJSON's [longitude, latitude], placed
 * through the raster's affine transform or GCP fit.
 */
export const SarOverlay = z.object({
  name: z.string().min(1).max(200),
  kind: z.enum(['labels', 'footprints', 'predictions', 'other']).default('other'),
  crs: z.enum(['pixel', 'lonlat']).default('lonlat'),
  visible: z.boolean().default(true),
  features: z.array(OverlayFeature).max(100_000),
});
export type SarOverlay = z.output<typeof SarOverlay>;
export type SarOverlayInput = z.input<typeof SarOverlay>;

/** `GET /v1/labels/overlay?raster=PATH`: committed labels and their chip footprints on that raster. */
export const LabelOverlayQuery = z.object({ raster: z.string().min(1).max(1024) });
export const LabelOverlayResponse = z.object({ overlays: z.array(SarOverlay) });
export type LabelOverlayResponse = z.infer<typeof LabelOverlayResponse>;
