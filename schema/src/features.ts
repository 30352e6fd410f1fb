import { z } from 'zod';

/** Feature names are identifiers: they become column names in SQL, Lance, Parquet and TFRecord. */
export const FeatureName = z
  .string()
  .regex(/^[A-Za-z_][A-Za-z0-9_]{0,62}$/, 'a feature name is a letter or _ then up to 62 letters, digits or _');

export const ScalarDtype = z.enum(['float32', 'float64', 'int32', 'int64', 'bool', 'string', 'timestamp']);
export type ScalarDtype = z.infer<typeof ScalarDtype>;

/** One value per row: an id, a label, an incidence angle, an event time. */
export const ScalarFeature = z.object({
  name: FeatureName,
  kind: z.literal('scalar'),
  dtype: ScalarDtype,
  nullable: z.boolean().default(false),
  description: z.string().default(''),
});
export type ScalarFeature = z.infer<typeof ScalarFeature>;

/** A fixed-shape array per row, row-major: e.g. a 75x75 SAR band in dB. */
export const TensorFeature = z.object({
  name: FeatureName,
  kind: z.literal('tensor'),
  dtype: z.enum(['float32']),
  shape: z.array(z.number().int().positive()).min(1).max(4),
  nullable: z.boolean().default(false),
  /** Physical unit, e.g. `dB`; shown in statistics and the patch gallery. */
  unit: z.string().default(''),
  description: z.string().default(''),
});
export type TensorFeature = z.infer<typeof TensorFeature>;

export const Feature = z.discriminatedUnion('kind', [ScalarFeature, TensorFeature]);
export type Feature = z.infer<typeof Feature>;

export const FeatureSchema = z
  .array(Feature)
  .min(1)
  .superRefine((features, ctx) => {
    const seen = new Set<string>();
    features.forEach((f, i) => {
      if (seen.has(f.name))
        ctx.addIssue({ code: 'custom', path: [i, 'name'], message: `duplicate feature '${f.name}'` });
      seen.add(f.name);
    });
  });
export type FeatureSchema = z.infer<typeof FeatureSchema>;

/** A row as the library handles it in memory: tensors as Float32Array, missing values as null. */
export type FeatureValue = number | bigint | string | boolean | Date | Float32Array | null;
export type FeatureRow = Record<string, FeatureValue>;
