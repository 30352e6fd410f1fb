/**
 * Seeds a project store with what the panels show — an experiment with runs (params, epoch and step
 * metrics), feature groups with commits, a registered model with an alias and lineage, a search with
 * finished and early-stopped trials (each a child run of the search's run), an ablation study, and
 * saliency images per epoch — through the library's own write paths (or, with `bulk`, one transaction
 * of multi-row inserts of the same rows). Used by the hub tests, the browser tests (each seeds its own
 * experiment) and `floe bench panels`.
 */
import type { FeatureSchema, SaliencyArtifactMeta } from '@floe/schema';
import { ablationSearchConfig, componentParams, type AblationComponent } from '../ablation/study';
import { FeatureStore } from '../feature-store/feature-store';
import { ModelRegistry } from '../registry/registry';
import { SearchRepository } from '../search/repository';
import type { ProjectStore } from '../store';
import { storedJson, storedTime } from '../store/portable';
import { encodePng } from '../training/png';
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
  /**
   * Creates a finished search with this name (three trials, one stopped early) and, as searches are
   * tracked, a parent run in the experiment of the search's name with one child run per trial.
   */
  search?: string;
  /** Creates a finished ablation study with this name (base, HH, HV, angle, conv2). */
  ablation?: string;
  /** Stores saliency images (3 patches per epoch) for the first this-many runs. */
  saliencyRuns?: number;
  /**
   * Inserts the runs and their epoch metrics in one transaction of multi-row inserts instead of one
   * tracker call per row (5,000 runs in about a second instead of a minute): same rows, same values.
   */
  bulk?: boolean;
}

export interface PanelSeed {
  experiment: string;
  runIds: number[];
  featureGroups: string[];
  model: string | null;
  searchId: number | null;
  /** The run of the search (parent of its trials' runs), when `search` was given. */
  searchRunId: number | null;
  ablationId: number | null;
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
  if (opts.bulk) runIds.push(...(await bulkRuns(store, opts, epochs)));
  for (let i = 0; !opts.bulk && i < opts.runs; i++) {
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
    if (i < (opts.saliencyRuns ?? 0)) await seedSaliency(store, run.id, i, epochs);
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
  let searchRunId: number | null = null;
  if (opts.search) {
    const repo = new SearchRepository(store);
    searchId = await repo.createSearch({
      name: opts.search,
      space: {
        learningRate: { type: 'double', min: 0.0001, max: 0.1, scale: 'log' },
        filters: { type: 'discrete', values: [8, 16, 32] },
        optimizer: { type: 'categorical', values: ['adam', 'sgd'] },
      },
      optimizer: 'random',
      numTrials: 3,
      metric: 'val_accuracy',
      direction: 'max',
      earlyStopping: null,
      trial: { module: 'seeded-by-floe-hub', export: 'trial' },
    });
    // As TrackerSearchRecorder records a search: a parent run, and a child run per finished trial.
    const parent = await tracker.startRun({
      experiment: opts.search,
      name: `search-${searchId}`,
      params: { optimizer: 'random', numTrials: 3 },
      tags: { kind: 'search', search_id: String(searchId) },
    });
    searchRunId = parent.id;
    await repo.setRunId(searchId, parent.id);
    const curves = [
      [0.55, 0.7, 0.81, 0.86],
      [0.5, 0.52, 0.53],
      [0.52, 0.66, 0.79, 0.83],
    ];
    for (let t = 0; t < curves.length; t++) {
      const curve = curves[t]!;
      const params = {
        learningRate: [0.01, 0.09, 0.003][t]!,
        filters: [16, 8, 32][t]!,
        optimizer: ['adam', 'sgd', 'adam'][t]!,
      };
      const trialId = await repo.createTrial(searchId, {
        number: t + 1,
        params,
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
      const child = await tracker.startRun({
        experiment: opts.search,
        name: `search-${searchId}-trial-${t + 1}`,
        params,
        parentRunId: parent.id,
        tags: { kind: 'search_trial', search_id: String(searchId), trial: String(t + 1) },
      });
      for (let e = 0; e < curve.length; e++) await child.log('epoch', e + 1, { val_accuracy: curve[e]! });
      if (stopped) await child.interrupt('median rule');
      else await child.finish();
      await repo.updateTrial(trialId, { run_id: child.id });
    }
    await parent.log('final', 0, { val_accuracy: Math.max(...curves.flat()) });
    await parent.finish();
    await repo.setStatus(searchId, 'completed');
  }

  let ablationId: number | null = null;
  if (opts.ablation) ablationId = await seedAblation(store, opts.ablation);
  return { experiment: opts.experiment, runIds, featureGroups, model, searchId, searchRunId, ablationId };
}

/** The same runs as the tracker path (names, params, tags, epoch metrics, summary, failures), in bulk. */
async function bulkRuns(store: ProjectStore, opts: PanelSeedOptions, epochs: number): Promise<number[]> {
  const experiment = await new ExperimentTracker(store).experiment(opts.experiment);
  const ids: number[] = [];
  const BATCH = 200;
  await store.writeTransaction(async (trx) => {
    for (let from = 0; from < opts.runs; from += BATCH) {
      const count = Math.min(BATCH, opts.runs - from);
      const now = storedTime();
      const rows = Array.from({ length: count }, (_, k) => {
        const i = from + k;
        const summary: Record<string, number> = {};
        for (let e = 1; e <= epochs; e++) {
          const acc = seededAccuracy(i, e);
          summary.val_accuracy = acc;
          summary.val_loss = Math.round((1 - acc) * 1e4) / 1e4;
        }
        const failed = i % 10 === 9;
        return {
          experiment_id: experiment.id,
          name: opts.runName ? opts.runName(i) : `run-${i}`,
          status: failed ? 'failed' : 'finished',
          params: storedJson({
            learningRate: [0.01, 0.003, 0.001][i % 3],
            batchSize: 16 << (i % 3),
            model: i % 2 ? 'lenet' : 'resnet',
          }),
          summary: storedJson(summary),
          environment: null,
          dataset: null,
          training_dataset_id: null,
          code: null,
          checkpoint: null,
          parent_run_id: null,
          tags: storedJson({ seed: String(i) }),
          error: failed ? `seeded failure of run ${i}` : null,
          epochs_completed: epochs,
          started_at: now,
          ended_at: now,
          heartbeat_at: now,
          host: 'seeded',
          pid: 0,
        };
      });
      const inserted = await trx.insertInto('run').values(rows).returning('id').execute();
      const batchIds = inserted.map((r) => r.id).sort((a, b) => a - b);
      ids.push(...batchIds);
      const metrics = batchIds.flatMap((runId, k) =>
        Array.from({ length: epochs }, (_, e) => {
          const acc = seededAccuracy(from + k, e + 1);
          return [
            { run_id: runId, name: 'val_accuracy', scope: 'epoch', step: e + 1, value: acc, at: now },
            {
              run_id: runId,
              name: 'val_loss',
              scope: 'epoch',
              step: e + 1,
              value: Math.round((1 - acc) * 1e4) / 1e4,
              at: now,
            },
          ];
        }).flat(),
      );
      // SQLite takes at most 32,766 bound values per statement: 6 columns × 500 rows stays well under.
      for (let m = 0; m < metrics.length; m += 500)
        await trx
          .insertInto('run_metric')
          .values(metrics.slice(m, m + 500))
          .execute();
    }
    await store.audit('run.seed', `experiment:${experiment.id}`, { runs: opts.runs }, trx);
  });
  return ids;
}

/** A 75×75 SAR-like patch (dB): sea clutter with a bright target near the centre, seeded by `patch`. */
function seededPatch(patch: number): Float32Array {
  const size = 75;
  const out = new Float32Array(size * size);
  let s = 12345 + patch * 7919;
  const rand = (): number => (s = (s * 1103515245 + 12345) & 0x7fffffff) / 0x7fffffff;
  const cx = 30 + patch * 6;
  const cy = 40 - patch * 4;
  for (let y = 0; y < size; y++)
    for (let x = 0; x < size; x++) {
      const d2 = (x - cx) ** 2 + (y - cy) ** 2;
      out[y * size + x] = -24 + 4 * rand() + 18 * Math.exp(-d2 / (8 + patch * 4));
    }
  return out;
}

/**
 * Saliency images of three patches after each epoch, stored as training would store them: one artifact
 * `saliency/epoch-<NNN>` per epoch whose blob key is a folder of PNGs (patch | heatmap overlay).
 * The heat focuses on the target as epochs go by, a little differently per run.
 */
async function seedSaliency(store: ProjectStore, runId: number, run: number, epochs: number): Promise<void> {
  const size = 75;
  const scale = 2;
  const W = size * scale;
  for (let epoch = 1; epoch <= epochs; epoch++) {
    const prefix = `runs/${runId}/saliency/epoch-${String(epoch).padStart(3, '0')}/`;
    const images: SaliencyArtifactMeta['images'] = [];
    for (let p = 0; p < 3; p++) {
      const patch = seededPatch(p);
      const cx = 30 + p * 6;
      const cy = 40 - p * 4;
      const spread = 600 / (epoch + (run % 3));
      const width = 2 * W + 4;
      const buf = new Uint8Array(width * W * 4).fill(255);
      for (let y = 0; y < W; y++)
        for (let x = 0; x < W; x++) {
          const i = Math.floor(y / scale) * size + Math.floor(x / scale);
          const grey = Math.max(0, Math.min(255, Math.round(((patch[i]! + 26) / 22) * 255)));
          const px = Math.floor(x / scale);
          const py = Math.floor(y / scale);
          const heat = Math.exp(-((px - cx) ** 2 + (py - cy) ** 2) / spread);
          const a = 0.7 * heat;
          const left = (y * width + x) * 4;
          const right = (y * width + x + W + 4) * 4;
          buf.set([grey, grey, grey, 255], left);
          buf.set(
            [
              Math.round(grey * (1 - a) + 255 * a),
              Math.round(grey * (1 - a) + 255 * Math.min(1, Math.max(0, heat * 3 - 1)) * a),
              Math.round(grey * (1 - a)),
              255,
            ],
            right,
          );
        }
      const file = `patch-${p}.png`;
      await store.blobs.put(prefix + file, encodePng(width, W, buf));
      const confidence = Math.min(0.45, 0.08 * epoch);
      const probability = Math.round((p % 2 ? 0.5 + confidence : 0.5 - confidence) * 1000) / 1000;
      images.push({ file, patch: `p${p}`, label: p % 2, probability });
    }
    const meta: SaliencyArtifactMeta = { type: 'saliency', method: 'saliency', epoch, images };
    await store.db
      .insertInto('run_artifact')
      .values({
        run_id: runId,
        name: `saliency/epoch-${String(epoch).padStart(3, '0')}`,
        kind: 'plot',
        blob_key: prefix,
        meta: storedJson(meta),
        created_at: storedTime(),
      })
      .execute();
  }
}

/** A finished leave-one-out ablation study: base 0.84, each removed component changes the metric. */
async function seedAblation(store: ProjectStore, name: string): Promise<number> {
  const config = ablationSearchConfig({
    name,
    metric: 'val_accuracy',
    direction: 'max',
    features: ['HH', 'HV', 'angle'],
    layers: ['conv2'],
    trial: { module: 'seeded-by-floe-hub', export: 'trial' },
  });
  const plan = (config.extra?.plan ?? []) as AblationComponent[];
  const metrics: Record<string, number> = { base: 0.84, HH: 0.71, HV: 0.8, angle: 0.852, conv2: 0.77 };
  const repo = new SearchRepository(store);
  const id = await repo.createSearch(config);
  for (let t = 0; t < plan.length; t++) {
    const c = plan[t]!;
    const trialId = await repo.createTrial(id, {
      number: t + 1,
      params: componentParams({ name, metric: 'val_accuracy', direction: 'max', trial: config.trial }, c),
      budget: null,
      rung: null,
      promotedFrom: null,
      seed: 0,
    });
    const metric = metrics[c.component]!;
    const at = storedTime();
    await repo.appendMetrics([{ trialId, attempt: 1, idx: 0, step: 1, value: metric, at }]);
    await repo.updateTrial(trialId, {
      status: 'completed',
      attempt: 1,
      started_at: at,
      finished_at: at,
      duration_ms: 1000,
      metric,
      best_metric: metric,
      steps: 1,
      worker: 'local-1',
    });
  }
  await repo.setStatus(id, 'completed');
  return id;
}
