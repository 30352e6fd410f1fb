/**
 * Seeds a project store with what the panels show — an experiment with runs (params, epoch and step
 * metrics), feature groups with commits, a registered model with an alias and lineage, and a search
 * with finished and early-stopped trials — through the library's own write paths. Used by the hub
 * tests, the browser tests (each seeds its own experiment) and `floe bench panels`.
 */
import type { FeatureSchema } from '@floe/schema';
import { FeatureStore } from '../feature-store/feature-store';
import { ModelRegistry } from '../registry/registry';
import { SearchRepository } from '../search/repository';
import type { ProjectStore } from '../store';
import { storedTime } from '../store/portable';
import { ExperimentTracker } from '../tracking/tracker';

export interface PanelSeedOptions {
  experiment: string;
  runs: number;
  /** Run names: default `run-<i>`; a function gives hostile or long names. */
  runName?: (i: number) => string;
  epochs?: number;
  /** Per-batch points logged for the first run (a long series exercises downsampling). */
  stepPoints?: number;
  /** Feature groups `<prefix>_<i>` with one commit each (prefix must be a valid feature group name). */
  featureGroups?: number;
  featureGroupPrefix?: string;
  /** Registers the first run's model under this name with alias `production`. */
  model?: string;
  /** Creates a finished search with this name (three trials, one stopped early). */
  search?: string;
}

export interface PanelSeed {
  experiment: string;
  runIds: number[];
  featureGroups: string[];
  model: string | null;
  searchId: number | null;
}

const PATCH = 4;
const SCHEMA: FeatureSchema = [
  { name: 'id', kind: 'scalar', dtype: 'string', nullable: false, description: 'patch id' },
  {
    name: 'band_1',
    kind: 'tensor',
    dtype: 'float32',
    shape: [PATCH, PATCH],
    nullable: false,
    unit: 'dB',
    description: 'HH',
  },
  { name: 'inc_angle', kind: 'scalar', dtype: 'float64', nullable: true, description: 'incidence angle' },
  { name: 'is_iceberg', kind: 'scalar', dtype: 'int32', nullable: false, description: 'label' },
];

/** A deterministic, smooth learning curve per run (so sorting by a metric has a known answer). */
export function seededAccuracy(run: number, epoch: number): number {
  return Math.round((0.5 + 0.4 * (1 - Math.exp(-epoch / 3)) * (0.5 + ((run * 7919) % 100) / 200)) * 1e4) / 1e4;
}

export async function seedPanelProject(store: ProjectStore, opts: PanelSeedOptions): Promise<PanelSeed> {
  const tracker = new ExperimentTracker(store);
  const epochs = opts.epochs ?? 3;
  const runIds: number[] = [];
  for (let i = 0; i < opts.runs; i++) {
    const run = await tracker.startRun({
      experiment: opts.experiment,
      name: opts.runName ? opts.runName(i) : `run-${i}`,
      params: {
        learningRate: [0.01, 0.003, 0.001][i % 3],
        batchSize: 16 << (i % 3),
        model: i % 2 ? 'lenet' : 'resnet',
      },
      tags: { seed: String(i) },
    });
    if (i === 0 && opts.stepPoints) {
      for (let s = 1; s <= opts.stepPoints; s++) run.logStep(s, { loss: 1 / Math.sqrt(s) + (s % 97 === 0 ? 0.5 : 0) });
      await run.flush();
    }
    for (let e = 1; e <= epochs; e++) {
      const acc = seededAccuracy(i, e);
      await run.log('epoch', e, { val_accuracy: acc, val_loss: Math.round((1 - acc) * 1e4) / 1e4 });
    }
    if (i === 0 && opts.model) {
      // The model files as training leaves them: a TF.js model folder under the run's prefix.
      const prefix = `${run.blobPrefix}model/`;
      await store.blobs.put(`${prefix}model.json`, JSON.stringify({ format: 'layers-model', weightsManifest: [] }));
      await store.blobs.put(`${prefix}weights.bin`, new Uint8Array(8));
      await run.recordArtifact('model', 'model', prefix, { signature: { channels: ['band_1'] } });
    }
    if (i % 10 === 9) await run.fail(new Error(`seeded failure of run ${i}`));
    else await run.finish();
    runIds.push(run.id);
  }

  const featureGroups: string[] = [];
  if (opts.featureGroups) {
    const fs = new FeatureStore(store);
    try {
      for (let g = 0; g < opts.featureGroups; g++) {
        const name = `${opts.featureGroupPrefix ?? 'patches'}_${g}`;
        const group = await fs.createFeatureGroup({
          name,
          description: `seeded patches ${g}`,
          schema: SCHEMA,
          primaryKey: 'id',
        });
        const rows = Array.from({ length: 12 }, (_, r) => ({
          id: `p${r}`,
          band_1: Float32Array.from({ length: PATCH * PATCH }, (_, p) => -25 + ((r * 13 + p * 7 + g) % 17)),
          inc_angle: r % 4 === 0 ? null : 30 + r,
          is_iceberg: r % 2,
        }));
        await group.insert(rows);
        featureGroups.push(name);
      }
    } finally {
      await fs.close();
    }
  }

  let model: string | null = null;
  if (opts.model && runIds.length) {
    await new ModelRegistry(store).register({ runId: runIds[0]!, name: opts.model, aliases: ['production'] });
    model = opts.model;
  }

  let searchId: number | null = null;
  if (opts.search) {
    const repo = new SearchRepository(store);
    searchId = await repo.createSearch({
      name: opts.search,
      space: { learningRate: { type: 'double', min: 0.0001, max: 0.1, scale: 'log' } },
      optimizer: 'random',
      numTrials: 3,
      metric: 'val_accuracy',
      direction: 'max',
      earlyStopping: null,
      trial: { module: 'seeded-by-floe-hub', export: 'trial' },
    });
    const curves = [
      [0.55, 0.7, 0.81, 0.86],
      [0.5, 0.52, 0.53],
      [0.52, 0.66, 0.79, 0.83],
    ];
    for (let t = 0; t < curves.length; t++) {
      const curve = curves[t]!;
      const trialId = await repo.createTrial(searchId, {
        number: t + 1,
        params: { learningRate: [0.01, 0.09, 0.003][t]! },
        budget: null,
        rung: null,
        promotedFrom: null,
        seed: t,
      });
      const stopped = t === 1;
      const at = storedTime();
      await repo.appendMetrics(curve.map((value, idx) => ({ trialId, attempt: 1, idx, step: idx + 1, value, at })));
      await repo.updateTrial(trialId, {
        status: stopped ? 'stopped' : 'completed',
        attempt: 1,
        started_at: at,
        finished_at: at,
        duration_ms: 1000 * curve.length,
        metric: curve[curve.length - 1]!,
        best_metric: Math.max(...curve),
        steps: curve.length,
        stop_reason: stopped ? 'median rule: best 0.53 below the median 0.79 at step 3' : null,
        worker: 'local-1',
      });
    }
    await repo.setStatus(searchId, 'completed');
  }
  return { experiment: opts.experiment, runIds, featureGroups, model, searchId };
}
