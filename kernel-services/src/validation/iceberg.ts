import type { ValidationPolicy } from '@floe/schema';
import { RuleSet, rules } from './rules';

/**
 * The default rules for Statoil/C-CORE iceberg patches (schema: ingest/iceberg-schema.ts). Bounds
 * are generous around the real data (band_1 about −45…+35 dB, band_2 about −50…+20 dB, angles
 * 30–46°, 8.3% missing angles, 47% icebergs) so they catch unit mistakes (linear intensity, DN),
 * corrupt rows and a skewed or broken batch, not ordinary scenes.
 */
export function icebergRules(policy: ValidationPolicy = 'always'): RuleSet {
  return new RuleSet(
    'iceberg-default',
    [
      rules.shape(),
      rules.finite({ features: ['band_1', 'band_2', 'inc_angle'] }),
      rules.range('band_1', { min: -60, max: 45 }),
      rules.range('band_2', { min: -65, max: 40 }),
      rules.range('inc_angle', { min: 20, max: 50 }),
      rules.unique('id'),
      rules.missingRate('inc_angle', 0.15),
      rules.classBalance('is_iceberg', { minFraction: 0.2, classes: [0, 1] }),
    ],
    policy,
    'id',
  );
}
