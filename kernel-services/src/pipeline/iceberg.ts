/**
 * The iceberg tutorial's data, made on demand: seeded synthetic Statoil/C-CORE patches on disk, the
 * `iceberg` feature group (one validated commit), a derived group with the band average and ratio,
 * and a stratified training dataset frozen to it. Every notebook calls `ensureIcebergData()` so it
 * runs on its own, whether or not the notebooks before it were run; the headless `floe pipeline`
 * builds the same things.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { storePath } from '../env/paths';
import { FeatureStore } from '../feature-store/feature-store';
import type { FeatureGroup } from '../feature-store/feature-group';
import type { TrainingDataset } from '../feature-store/training-dataset';
import { FeatureGroupNotFoundError } from '../feature-store/errors';
import { ICEBERG_SCHEMA, rowBatches } from '../ingest/iceberg-schema';
import { readStatoil } from '../ingest/statoil';
import { writeSynthetic } from '../ingest/synthetic';
import { icebergRules } from '../validation/iceberg';
import { openProjectStore, type ProjectStore } from '../store';

export type TutorialSizeName = 'quick' | 'full';

/** How big each step of the story is. `quick` keeps every notebook well under two minutes on 2 cores. */
export interface TutorialSize {
  name: TutorialSizeName;
  /** Synthetic labelled patches (the real train.json has 1,604). */
  patches: number;
  /** LeNet training epochs on the training dataset (the seed's story: 20). */
  epochs: number;
  batchSize: number;
  /** Adam's learning rate for the LeNet runs (the short quick runs take a larger step). */
  learningRate: number;
  /** Hyperparameter search: trials per optimizer and the trial's data (patch side, samples, epochs). */
  search: { trials: number; samples: number; patchSize: number; epochs: number; minTrials: number };
  /** Ablation trials' data. */
  ablation: { samples: number; patchSize: number; epochs: number };
  /** Patches in the serving/drift streams. */
  monitoring: { requests: number };
}

export const TUTORIAL_SIZES: Record<TutorialSizeName, TutorialSize> = {
  quick: {
    name: 'quick',
    patches: 400,
    epochs: 4,
    batchSize: 32,
    learningRate: 0.002,
    search: { trials: 6, samples: 160, patchSize: 32, epochs: 3, minTrials: 2 },
    ablation: { samples: 160, patchSize: 32, epochs: 3 },
    monitoring: { requests: 64 },
  },
  full: {
    name: 'full',
    patches: 1604,
    epochs: 20,
    batchSize: 32,
    learningRate: 0.001,
    search: { trials: 16, samples: 400, patchSize: 48, epochs: 6, minTrials: 4 },
    ablation: { samples: 400, patchSize: 48, epochs: 6 },
    monitoring: { requests: 400 },
  },
};

/** The size named by `name`, else `FLOE_SIZE`, else `full` (what a person running the tutorial wants). */
export function tutorialSize(name: string | undefined = process.env.FLOE_SIZE): TutorialSize {
  const n = (name ?? 'full').trim() || 'full';
  if (n !== 'quick' && n !== 'full')
    throw new RangeError(`tutorial size must be 'quick' or 'full', got '${n}' (FLOE_SIZE or --size)`);
  return TUTORIAL_SIZES[n];
}

/** Names of the tutorial's feature groups and dataset; the quick size keeps apart from the full one. */
export function tutorialNames(size: TutorialSize): { group: string; derived: string; dataset: string; model: string } {
  const suffix = size.name === 'full' ? '' : `_${size.name}`;
  return {
    group: `iceberg${suffix}`,
    derived: `iceberg_derived${suffix}`,
    dataset: `iceberg_train${suffix}`,
    model: `iceberg-lenet${suffix.replace('_', '-')}`,
  };
}

export interface IcebergData {
  size: TutorialSize;
  /** The synthetic Statoil-format file the group was loaded from. */
  file: string;
  store: ProjectStore;
  features: FeatureStore;
  /** Raw patches: id, band_1 (HH dB), band_2 (HV dB), inc_angle, is_iceberg. */
  group: FeatureGroup;
  /** The raw bands plus band_avg and band_ratio, derived from the group's latest commit. */
  derived: FeatureGroup;
  /** Stratified train/validation/test splits of the derived group, frozen to its commit. */
  dataset: TrainingDataset;
  /** Closes the feature store (and the project store when `ensureIcebergData` opened it). */
  close(): Promise<void>;
}

export interface EnsureOptions {
  size?: TutorialSize | TutorialSizeName;
  /** Use this project store (default: open the one from FLOE_HOME / ./floe-project). */
  store?: ProjectStore;
  /** Seed of the synthetic data. */
  seed?: number;
  log?: (line: string) => void;
}

/** Where the tutorial keeps its synthetic file: `<project>/data/`. */
export function syntheticFile(size: TutorialSize, seed = 1, home = storePath()): string {
  return path.join(home, 'data', `iceberg-train-${size.patches}-seed${seed}.json`);
}

/** Writes the seeded synthetic Statoil file unless it exists (written under a temporary name, then renamed). */
export async function ensureSyntheticFile(
  size: TutorialSize,
  seed = 1,
  home = storePath(),
  log: (l: string) => void = () => {},
): Promise<string> {
  const file = syntheticFile(size, seed, home);
  if (fs.existsSync(file)) return file;
  fs.mkdirSync(path.dirname(file), { recursive: true });
  const partial = `${file}.${process.pid}.partial`;
  const t0 = performance.now();
  const r = await writeSynthetic(partial, { seed, count: size.patches });
  fs.renameSync(partial, file);
  log(
    `generated ${r.records} synthetic patches (${(r.bytes / 1e6).toFixed(1)} MB) in ${((performance.now() - t0) / 1000).toFixed(1)} s -> ${file}`,
  );
  return file;
}

async function existingGroup(features: FeatureStore, name: string): Promise<FeatureGroup | null> {
  try {
    return await features.getFeatureGroup(name);
  } catch (err) {
    if (err instanceof FeatureGroupNotFoundError) return null;
    throw err;
  }
}

async function existingDataset(features: FeatureStore, name: string): Promise<TrainingDataset | null> {
  const known = await features.listTrainingDatasets();
  return known.some((d) => d.name === name) ? features.getTrainingDataset(name) : null;
}

/**
 * Makes sure the tutorial's data exists in the project, creating whatever is missing, and returns it.
 * Idempotent: a second call finds everything and creates nothing.
 */
export async function ensureIcebergData(opts: EnsureOptions = {}): Promise<IcebergData> {
  const size = typeof opts.size === 'object' ? opts.size : tutorialSize(opts.size);
  const log = opts.log ?? (() => {});
  const seed = opts.seed ?? 1;
  const store = opts.store ?? (await openProjectStore());
  const features = new FeatureStore(store);
  try {
    const names = tutorialNames(size);
    const file = await ensureSyntheticFile(size, seed, store.home, log);

    let group = await existingGroup(features, names.group);
    if (!group) {
      group = await features.createFeatureGroup({
        name: names.group,
        schema: ICEBERG_SCHEMA,
        primaryKey: 'id',
        description:
          'Synthetic Sentinel-1 patches in the Statoil/C-CORE format: HH and HV in dB, incidence angle, ship (0) or iceberg (1)',
        ruleSet: icebergRules('always'),
      });
      log(`created feature group ${group.name} v${group.version}`);
    }
    if (!(await group.commit())) {
      const c = await group.insert(rowBatches(readStatoil(file), 256));
      log(
        `commit ${c.number} of ${group.name}: ${c.rowsInserted} rows inserted, ${c.rowsRejected} kept aside by validation`,
      );
    }

    let derived = await existingGroup(features, names.derived);
    if (!derived) {
      derived = await features.deriveFeatureGroup({
        source: group,
        name: names.derived,
        description: 'band average (HH+HV)/2 and band ratio HH−HV (dB), derived from the iceberg patches',
        keep: ['band_1', 'band_2', 'inc_angle', 'is_iceberg'],
        derived: [
          { name: 'band_avg', fn: 'bandAverage', inputs: ['band_1', 'band_2'] },
          { name: 'band_ratio', fn: 'bandRatio', inputs: ['band_1', 'band_2'] },
        ],
      });
      log(`derived feature group ${derived.name} v${derived.version} (band_avg, band_ratio)`);
    }

    let dataset = await existingDataset(features, names.dataset);
    if (!dataset) {
      dataset = await features.createTrainingDataset({
        name: names.dataset,
        featureGroup: derived,
        features: ['band_1', 'band_2', 'band_avg', 'band_ratio', 'inc_angle'],
        label: 'is_iceberg',
        splits: { train: 0.7, validation: 0.15, test: 0.15 },
        seed: 42,
        description: 'LeNet training data: stratified 70/15/15 splits',
      });
      log(
        `training dataset ${dataset.name} v${dataset.version}: ${Object.entries(dataset.info.splitCounts)
          .map(([k, v]) => `${k} ${v}`)
          .join(', ')}`,
      );
    }
    const ownStore = !opts.store;
    return {
      size,
      file,
      store,
      features,
      group,
      derived,
      dataset,
      close: async () => {
        features.data.close();
        if (ownStore) await store.close();
      },
    };
  } catch (err) {
    features.data.close();
    if (!opts.store) await store.close();
    throw err;
  }
}
