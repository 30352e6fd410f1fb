/**
 * Seeds a project store with what the feature store browser shows — a group of synthetic 75×75 HH/HV
 * SAR patches with a validation rule set, two commits (the second with rows kept aside by
 * validation), a prediction feature, and a training dataset frozen to the first commit — through the
 * library's own write paths. Optionally a group whose description, rule names, units and patch ids
 * and labels are hostile text. Used by the hub tests and the browser tests (each seeds its own names).
 */
import type { FeatureRow, FeatureSchema } from '@floe/schema';
import { FeatureStore } from '../feature-store/feature-store';
import { ICEBERG_SCHEMA, recordToRow } from '../ingest/iceberg-schema';
import { generateSynthetic } from '../ingest/synthetic';
import type { ProjectStore } from '../store';
import { icebergRules } from '../validation/iceberg';

export const HOSTILE_TEXT = '<img src=x onerror=alert(1)>';

export interface FeatureStoreSeedOptions {
  /** The patch group's name (a valid feature group name: letter, then letters, digits, _ or -). */
  group: string;
  /** Patches in the first commit (default 40); the second commit adds half as many. */
  patches?: number;
  /** The training dataset's name (frozen to commit 1); default `<group>-train`. */
  trainingDataset?: string;
  /** Also creates a group of this name whose texts are hostile (HTML, unicode, very long). */
  hostileGroup?: string;
  seed?: number;
}

export interface FeatureStoreSeed {
  group: string;
  /** Rows per commit as committed, and rows kept aside by validation in commit 2. */
  commitRows: [number, number];
  rejectedInCommit2: number;
  trainingDataset: string;
  splitCounts: Record<string, number>;
  hostileGroup: string | null;
}

/** The iceberg schema plus a model's probability of "iceberg", as a scoring notebook would store it. */
export const SCORED_SCHEMA: FeatureSchema = [
  ...ICEBERG_SCHEMA,
  {
    name: 'prediction',
    kind: 'scalar',
    dtype: 'float32',
    nullable: true,
    description: 'probability of iceberg from the seeded model',
  },
];

/** A deterministic "prediction": right for most patches, confidently wrong for every seventh. */
export function seededPrediction(index: number, label: number | undefined): number | null {
  if (label === undefined || index % 11 === 10) return null;
  const right = index % 7 !== 3;
  const p = 0.55 + ((index * 37) % 40) / 100;
  return Math.round((right === (label === 1) ? p : 1 - p) * 1000) / 1000;
}

function scoredRows(count: number, start: number, seed: number): FeatureRow[] {
  return generateSynthetic({ seed, count, start }).map((rec, i) => ({
    ...recordToRow(rec),
    prediction: seededPrediction(start + i, rec.is_iceberg),
  }));
}

export async function seedFeatureStore(store: ProjectStore, opts: FeatureStoreSeedOptions): Promise<FeatureStoreSeed> {
  const fs = new FeatureStore(store);
  const seed = opts.seed ?? 7;
  const first = opts.patches ?? 40;
  const second = Math.max(2, Math.floor(first / 2));
  try {
    const group = await fs.createFeatureGroup({
      name: opts.group,
      description: 'Synthetic Sentinel-1 patches (HH, HV in dB) with a seeded model’s predictions',
      schema: SCORED_SCHEMA,
      primaryKey: 'id',
      ruleSet: icebergRules('always'),
    });
    const c1 = await group.insert(scoredRows(first, 0, seed));
    // The second commit brings two rows the rules keep aside: a pixel far out of range, an angle of 80°.
    const more = scoredRows(second, first, seed);
    (more[0]!.band_1 as Float32Array)[100] = 99;
    more[1]!.inc_angle = 80;
    const c2 = await group.insert(more);

    const trainingDataset = opts.trainingDataset ?? `${opts.group}-train`;
    const dataset = await fs.createTrainingDataset({
      name: trainingDataset,
      featureGroup: group,
      commit: 1,
      features: ['band_1', 'band_2', 'inc_angle'],
      label: 'is_iceberg',
      splits: { train: 0.7, validation: 0.15, test: 0.15 },
      seed: 42,
      description: 'stratified 70/15/15 splits of the first commit',
    });

    let hostileGroup: string | null = null;
    if (opts.hostileGroup) {
      const long = `${'冰山 🧊 '.repeat(40)}${'ü'.repeat(300)}`;
      const hostile = await fs.createFeatureGroup({
        name: opts.hostileGroup,
        description: `${HOSTILE_TEXT} <b>bold</b> & "quoted" ${long}`,
        schema: [
          { name: 'id', kind: 'scalar', dtype: 'string', description: HOSTILE_TEXT },
          {
            name: 'band_1',
            kind: 'tensor',
            dtype: 'float32',
            shape: [8, 8],
            unit: '<i>dB</i>',
            description: `HH ${HOSTILE_TEXT}`,
          },
          { name: 'kind', kind: 'scalar', dtype: 'string', nullable: true, description: '<script>alert(2)</script>' },
        ],
        primaryKey: 'id',
        ruleSet: {
          name: `${HOSTILE_TEXT} rules`,
          policy: 'always',
          rules: [{ type: 'range', name: `<b>range</b> 冰 ${'x'.repeat(200)}`, feature: 'band_1', min: -40, max: 10 }],
        },
      });
      await hostile.insert(
        [HOSTILE_TEXT, '冰山 🧊 "quoted" 50%_off', `long-${'ü'.repeat(200)}`, '<b>ok</b>'].map((id, r) => ({
          id,
          band_1: Float32Array.from(
            { length: 64 },
            (_, p) => -20 + ((p * 3 + r * 5) % 13) + (r === 3 && p === 0 ? 50 : 0),
          ),
          kind: r % 2 ? `<b>ship</b> ${r}` : HOSTILE_TEXT,
        })),
      );
      hostileGroup = opts.hostileGroup;
    }
    return {
      group: opts.group,
      commitRows: [c1.rowsInserted, c2.rowsInserted],
      rejectedInCommit2: c2.rowsRejected,
      trainingDataset,
      splitCounts: dataset.info.splitCounts,
      hostileGroup,
    };
  } finally {
    await fs.close();
  }
}
