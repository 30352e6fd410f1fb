import { z } from 'zod';
import { MIME_PREFIX } from './version';
import { RunStatus } from './tracking';

/**
 * Floe MIME payloads: what the kernel displays (tslab display_data / update_display_data) and the
 * extension's renderers draw. Every payload carries `version_major`; a renderer refuses a major it
 * does not know and shows the `text/html` fallback that comes in the same bundle.
 */

export const TRAINING_MIME = `${MIME_PREFIX}training+json` as const;
export const EXPLANATION_MIME = `${MIME_PREFIX}explanation+json` as const;

/** One row of the epoch table: `epoch`, `seconds`, and metrics such as `loss`, `accuracy`, `val_loss`. */
export const EpochRow = z
  .object({
    epoch: z.number().int().positive(),
    seconds: z.number().nonnegative(),
  })
  .catchall(z.number());
export type EpochRow = z.infer<typeof EpochRow>;

/** A named series of a curve plot, one value per epoch (null where not measured). */
export const CurveSeries = z.object({
  name: z.string(),
  values: z.array(z.number().nullable()),
});

export const TrainingPayload = z.object({
  version_major: z.literal(1),
  version_minor: z.number().int().nonnegative(),
  run: z.object({
    id: z.number().int().nullable(),
    name: z.string(),
    experiment: z.string().nullable(),
    status: RunStatus,
  }),
  model: z.string(),
  progress: z.object({
    epoch: z.number().int().nonnegative(),
    epochs: z.number().int().positive(),
    /** Batches done in the current epoch and how many it has. */
    batch: z.number().int().nonnegative(),
    batches: z.number().int().nonnegative(),
    elapsedSeconds: z.number().nonnegative(),
    samplesPerSecond: z.number().nonnegative().nullable(),
  }),
  epochs: z.array(EpochRow),
  /** Curves to plot against `epoch`: `loss` (train, validation) and `accuracy` (train, validation). */
  curves: z.object({
    epoch: z.array(z.number().int()),
    loss: z.array(CurveSeries),
    accuracy: z.array(CurveSeries),
  }),
  /** Final evaluation once done: headline numbers and the confusion matrix. */
  evaluation: z
    .object({
      split: z.string(),
      samples: z.number().int(),
      accuracy: z.number(),
      logLoss: z.number(),
      rocAuc: z.number().nullable(),
      confusion: z.tuple([z.tuple([z.number(), z.number()]), z.tuple([z.number(), z.number()])]),
      byAngle: z
        .array(z.object({ label: z.string(), count: z.number().int(), accuracy: z.number().nullable() }))
        .optional(),
    })
    .nullable(),
  /** Early stopping or an error, for the status line. */
  message: z.string().nullable(),
});
export type TrainingPayload = z.infer<typeof TrainingPayload>;

export const ExplanationPayload = z.object({
  version_major: z.literal(1),
  version_minor: z.number().int().nonnegative(),
  method: z.enum(['saliency', 'gradcam']),
  /** The model (registry reference or architecture name) and its predicted probability of "iceberg". */
  model: z.string(),
  probability: z.number(),
  height: z.number().int().positive(),
  width: z.number().int().positive(),
  /** The heatmap, row-major, in [0, 1], rounded to 3 decimals. */
  heatmap: z.array(z.number()),
  /** The patch's first channel (row-major, as given, e.g. HH in dB) for the background. */
  background: z.array(z.number()),
  backgroundName: z.string(),
});
export type ExplanationPayload = z.infer<typeof ExplanationPayload>;

/** A display bundle: the Floe payload plus fallbacks for front ends without the Floe renderer. */
export interface FloeMimeBundle {
  [mime: string]: unknown;
  'text/plain': string;
  'text/html': string;
}

export const SAR_MIME = `${MIME_PREFIX}sar+json` as const;

/**
 * `floe.show.sar(patch)`: a patch grid. The pixels travel as the bundle's `image/png` (each band in dB
 * with its 2–98 % stretch, then the dual-pol composite, side by side); this payload describes them.
 */
export const SarPayload = z.object({
  version_major: z.literal(1),
  version_minor: z.number().int().nonnegative(),
  title: z.string().nullable(),
  width: z.number().int().positive(),
  height: z.number().int().positive(),
  /** Per band, in dB: the stretch [low, high] the PNG was drawn with, the range and the count of finite pixels. */
  bands: z.array(
    z.object({
      name: z.string(),
      low: z.number().nullable(),
      high: z.number().nullable(),
      min: z.number().nullable(),
      max: z.number().nullable(),
      valid: z.number().int().nonnegative(),
    }),
  ),
  /** Panels in the PNG, left to right, 4 px apart. */
  panels: z.array(z.string()).min(1),
});
export type SarPayload = z.infer<typeof SarPayload>;
