/**
 * `floe pipeline`: the iceberg tutorial headless — synthetic data, validation, feature store,
 * LeNet training with tracking and registry, asynchronous hyperparameter search against the
 * synchronous mode on the same trials, an ablation study, serving latency and a drift check — ending
 * in one summary.
 */
import * as path from 'node:path';
import type { ValidationReport } from '@floe/schema';
import type { ProjectStore } from '../store';
import { openProjectStore } from '../store';
import { ICEBERG_SCHEMA, recordToRow } from '../ingest/iceberg-schema';
import { readStatoil } from '../ingest/statoil';
import { validate } from '../validation/validate';
import { icebergRules } from '../validation/iceberg';
import { renderReportText } from '../validation/render';
import { featureStoreTrainingData } from '../training/feature-store-data';
import { train } from '../training/train';
import { ModelRegistry } from '../registry/registry';
import { LocalProcessExecutor } from '../search/executors/local';
import { SearchDriver, type SearchResult } from '../search/driver';
import type { SearchConfig } from '../search/config';
import { LENET_SEARCH_SPACE } from '../search/replay';
import { ablationSearchConfig, type AblationStudyConfig } from '../ablation/study';
import { serveAndMonitor, type ServingSummary } from './serving';
import { ensureIcebergData, tutorialNames, tutorialSize, type TutorialSize, type TutorialSizeName } from './iceberg';

const ext = path.extname(__filename) === '.ts' ? '.ts' : '.js';

/** The iceberg LeNet trial function (search/trials/iceberg-lenet), as worker processes load it. */
export function icebergTrialRef(): { module: string; export: string } {
  return { module: path.join(__dirname, '..', 'search', 'trials', `iceberg-lenet${ext}`), export: 'icebergLenetTrial' };
}

export interface PipelineOptions {
  size?: TutorialSizeName;
  /** Trial worker processes for the search and the ablation (default 2). */
  workers?: number;
  /** Project store (default: FLOE_HOME / ./floe-project). */
  store?: ProjectStore;
  log?: (line: string) => void;
}

export interface FeatureSummary {
  feature: string;
  mean: number | null;
  std: number | null;
  min: number | null;
  max: number | null;
  missing: number;
}

export interface PipelineSummary {
  size: TutorialSizeName;
  workers: number;
  validation: {
    outcome: string;
    rows: number;
    accepted: number;
    rejected: number;
    failedRules: string[];
    report: ValidationReport;
  };
  featureGroup: { name: string; version: number; commit: number; rows: number };
  statistics: FeatureSummary[];
  splits: Record<string, number>;
  training: {
    runId: number | null;
    epochs: number;
    samplesPerSecond: number;
    validationAccuracy: number | null;
    validationLogLoss: number | null;
    evaluation: { split: string; accuracy: number; logLoss: number; rocAuc: number | null } | null;
    model: string | null;
  };
  search: {
    trials: number;
    best: { trial: number; metric: number; params: Record<string, unknown> } | null;
    asyncSeconds: number;
    syncSeconds: number;
    /** Wall-clock the asynchronous search with median early stopping saved against the synchronous one. */
    savedSeconds: number;
    savedFraction: number;
    stoppedEarly: number;
  };
  ablation: { component: string; kind: string; metric: number | null; delta: number | null }[];
  /** Serving latency of the registered model and the drift checks (null when the model was not registered). */
  serving: ServingSummary | null;
  seconds: Record<string, number>;
}

const r4 = (x: number): number => Math.round(x * 1e4) / 1e4;

function finiteOrNull(x: number | undefined | null): number | null {
  return typeof x === 'number' && Number.isFinite(x) ? x : null;
}

/** The search config the tutorial uses: LeNet's learning rate, dropout, filters and kernel on small patches. */
export function tutorialSearchConfig(
  size: TutorialSize,
  optimizer: SearchConfig['optimizer'],
  name: string,
): SearchConfig {
  return {
    name,
    space: { ...LENET_SEARCH_SPACE, filters: { type: 'discrete', values: [4, 8, 16] } },
    optimizer,
    numTrials: size.search.trials,
    metric: 'val_accuracy',
    direction: 'max',
    earlyStopping: { rule: 'median', minTrials: size.search.minTrials, interval: 1 },
    trial: icebergTrialRef(),
    seed: 7,
    fixedParams: { samples: size.search.samples, size: size.search.patchSize, epochs: size.search.epochs, dataSeed: 7 },
  };
}

/** The tutorial's ablation study: leave out each polarisation, the angle, and two layers. */
export function tutorialAblationConfig(size: TutorialSize, name = 'iceberg-ablation'): AblationStudyConfig {
  return {
    name,
    metric: 'val_accuracy',
    direction: 'max',
    features: ['HH', 'HV', 'angle'],
    layers: ['conv2', 'dense1'],
    trial: icebergTrialRef(),
    baseParams: {
      samples: size.ablation.samples,
      size: size.ablation.patchSize,
      epochs: size.ablation.epochs,
      dataSeed: 7,
      lr: 0.002,
      filters: 8,
    },
    seed: 3,
  };
}

async function timed<T>(seconds: Record<string, number>, step: string, fn: () => Promise<T>): Promise<T> {
  const t0 = performance.now();
  try {
    return await fn();
  } finally {
    seconds[step] = Math.round((performance.now() - t0) / 100) / 10;
  }
}

export async function runPipeline(opts: PipelineOptions = {}): Promise<PipelineSummary> {
  const size = tutorialSize(opts.size);
  const workers = opts.workers ?? 2;
  if (!Number.isInteger(workers) || workers < 1)
    throw new RangeError(`pipeline: workers must be a positive integer, got ${workers}`);
  const log = opts.log ?? (() => {});
  const store = opts.store ?? (await openProjectStore());
  const seconds: Record<string, number> = {};
  const names = tutorialNames(size);
  try {
    log(`== data: ${size.patches} synthetic patches (size ${size.name}) in ${store.home}`);
    const data = await timed(seconds, 'data', () => ensureIcebergData({ size, store, log }));
    try {
      // Validation of the file as it arrives, the way a new delivery would be checked.
      const report = await timed(seconds, 'validation', async () => {
        const rows = [];
        for await (const rec of readStatoil(data.file)) rows.push(recordToRow(rec));
        return validate(rows, ICEBERG_SCHEMA, icebergRules('always'));
      });
      log(renderReportText(report).trimEnd());

      const commit = (await data.group.commit())!;
      const stats = (await data.derived.statistics())!;
      const statistics: FeatureSummary[] = ['band_1', 'band_2', 'band_avg', 'band_ratio', 'inc_angle'].map((f) => {
        const s = stats.group.features[f];
        const band = s?.bands?.[0];
        const n = s?.numeric;
        return {
          feature: f,
          mean: finiteOrNull(band?.mean ?? n?.mean),
          std: finiteOrNull(band?.std ?? n?.std),
          min: finiteOrNull(band?.min ?? n?.min),
          max: finiteOrNull(band?.max ?? n?.max),
          missing: s?.missing ?? 0,
        };
      });

      log(`== training: LeNet on ${data.dataset.name} (HH, HV), ${size.epochs} epochs`);
      const training = await timed(seconds, 'training', async () => {
        const fsData = await featureStoreTrainingData(data.dataset, { channels: ['band_1', 'band_2'] });
        try {
          const r = await train({
            model: 'lenet',
            data: fsData,
            epochs: size.epochs,
            batchSize: size.batchSize,
            learningRate: size.learningRate,
            seed: 42,
            store,
            experiment: 'iceberg-tutorial',
            runName: `pipeline-${size.name}`,
            // Saliency of four validation patches after each epoch, for the Experiments panel.
            saliency: { every: 1, samples: 4 },
            display: false,
            handleSigint: false,
            snapshot: {
              path: 'floe pipeline (command line)',
              content: `floe pipeline --size ${size.name} --workers ${workers}`,
            },
            callbacks: {
              onEpochEnd: (row) =>
                log(
                  `  epoch ${row.epoch}: loss ${row.loss?.toFixed(4)}  val_loss ${typeof row.val_loss === 'number' ? row.val_loss.toFixed(4) : '-'}  val_acc ${typeof row.val_accuracy === 'number' ? row.val_accuracy.toFixed(4) : '-'}`,
                ),
            },
          });
          r.model.dispose();
          let model: string | null = null;
          if (r.runId !== null) {
            const v = await new ModelRegistry(store).register({
              runId: r.runId,
              name: names.model,
              aliases: ['production'],
              description: `floe pipeline --size ${size.name}`,
            });
            model = `${v.name}:${v.version}`;
          }
          const last = r.history[r.history.length - 1];
          return {
            runId: r.runId,
            epochs: r.epochsCompleted,
            samplesPerSecond: Math.round(r.samplesPerSecond * 10) / 10,
            validationAccuracy: finiteOrNull(last?.val_accuracy as number | undefined),
            validationLogLoss: finiteOrNull(last?.val_loss as number | undefined),
            evaluation: r.evaluation
              ? {
                  split: r.evaluation.split,
                  accuracy: r.evaluation.accuracy,
                  logLoss: r.evaluation.logLoss,
                  rocAuc: finiteOrNull(r.evaluation.rocAuc),
                }
              : null,
            model,
          };
        } finally {
          fsData.dispose?.();
          await fsData.close();
        }
      });

      log(`== serving ${names.model}@production and drift monitoring`);
      const serving = training.model
        ? await timed(seconds, 'serving', () =>
            serveAndMonitor(store, `${names.model}@production`, size.monitoring.requests, 3, log),
          )
        : null;

      log(`== search and ablation on ${workers} local worker processes`);
      const executor = new LocalProcessExecutor({ workers, gpus: [] });
      let search: PipelineSummary['search'];
      let ablation: PipelineSummary['ablation'];
      try {
        await executor.start();
        const base = tutorialSearchConfig(size, 'random', `pipeline-${size.name}-search`);
        // Warm-up: workers load TensorFlow and generate the trial data once, so neither timed pass pays it.
        await SearchDriver.run(
          store,
          {
            ...base,
            name: `${base.name}-warmup`,
            numTrials: workers,
            earlyStopping: null,
            fixedParams: { ...base.fixedParams, epochs: 1 },
          },
          { executor },
        );
        const progress =
          (tag: string) =>
          (e: import('../search/driver').SearchEvent): void => {
            if (e.type === 'trial-ended')
              log(
                `  ${tag} trial ${e.number}: ${e.status}${e.metric !== null ? ` ${e.metric.toFixed(4)}` : ''}${e.reason ? ` (${e.reason})` : ''}`,
              );
          };
        const a: SearchResult = await timed(seconds, 'search_async', () =>
          SearchDriver.run(store, { ...base, mode: 'async' }, { executor, onUpdate: progress('async') }),
        );
        const s: SearchResult = await timed(seconds, 'search_sync', () =>
          SearchDriver.run(
            store,
            { ...base, name: `${base.name}-sync`, mode: 'sync', earlyStopping: null },
            { executor, onUpdate: progress('sync') },
          ),
        );
        search = {
          trials: a.trials.length,
          best:
            a.best && a.best.metric !== null
              ? { trial: a.best.number, metric: a.best.metric, params: a.best.params }
              : null,
          asyncSeconds: Math.round(a.wallMs) / 1000,
          syncSeconds: Math.round(s.wallMs) / 1000,
          savedSeconds: Math.round(s.wallMs - a.wallMs) / 1000,
          savedFraction: r4(1 - a.wallMs / s.wallMs),
          stoppedEarly: a.stoppedEarly,
        };
        const study = ablationSearchConfig(tutorialAblationConfig(size, `pipeline-${size.name}-ablation`));
        const ab = await timed(seconds, 'ablation', () =>
          SearchDriver.run(store, study, { executor, onUpdate: progress('ablation') }),
        );
        const baseTrial = ab.trials.find((t) => t.params.component === 'base');
        ablation = ab.trials.map((t) => ({
          component: String(t.params.component),
          kind: String(t.params.kind),
          metric: t.metric,
          delta:
            t.metric !== null && baseTrial?.metric != null && t.params.component !== 'base'
              ? r4(t.metric - baseTrial.metric)
              : null,
        }));
      } finally {
        await executor.close();
      }

      return {
        size: size.name,
        workers,
        validation: {
          outcome: report.outcome,
          rows: report.rows,
          accepted: report.accepted,
          rejected: report.rows - report.accepted,
          failedRules: report.rules.filter((r) => !r.passed).map((r) => r.rule),
          report,
        },
        featureGroup: {
          name: data.group.name,
          version: data.group.version,
          commit: commit.number,
          rows: commit.totalRows,
        },
        statistics,
        splits: data.dataset.info.splitCounts,
        training,
        search,
        ablation,
        serving,
        seconds,
      };
    } finally {
      await data.close();
    }
  } finally {
    if (!opts.store) await store.close();
  }
}

const f = (x: number | null | undefined, d = 4): string =>
  typeof x === 'number' && Number.isFinite(x) ? x.toFixed(d) : '–';

/** The summary as the lines `floe pipeline` prints. */
export function formatPipelineSummary(s: PipelineSummary): string[] {
  const out: string[] = [];
  out.push(`floe pipeline summary (size ${s.size}, ${s.workers} workers)`);
  out.push(
    `validation: ${s.validation.outcome}, ${s.validation.accepted} of ${s.validation.rows} patches accepted${s.validation.failedRules.length ? `; failed rules: ${s.validation.failedRules.join(', ')}` : ''}`,
  );
  out.push(
    `feature group ${s.featureGroup.name} v${s.featureGroup.version}: commit ${s.featureGroup.commit}, ${s.featureGroup.rows} rows; splits ${Object.entries(
      s.splits,
    )
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  out.push('statistics (dB; angle in degrees):');
  for (const st of s.statistics)
    out.push(
      `  ${st.feature.padEnd(11)} mean ${f(st.mean, 2).padStart(7)}  std ${f(st.std, 2).padStart(6)}  min ${f(st.min, 2).padStart(7)}  max ${f(st.max, 2).padStart(7)}  missing ${st.missing}`,
    );
  const t = s.training;
  out.push(
    `training: LeNet, ${t.epochs} epochs, ${f(t.samplesPerSecond, 1)} samples/s (run ${t.runId ?? '–'}${t.model ? `, registered ${t.model}@production` : ''})`,
  );
  out.push(`  validation accuracy ${f(t.validationAccuracy)}, validation log loss ${f(t.validationLogLoss)}`);
  if (t.evaluation)
    out.push(
      `  ${t.evaluation.split} accuracy ${f(t.evaluation.accuracy)}, log loss ${f(t.evaluation.logLoss)}, ROC AUC ${f(t.evaluation.rocAuc)}`,
    );
  const q = s.search;
  out.push(`search: ${q.trials} random trials, median early stopping (${q.stoppedEarly} stopped early)`);
  if (q.best)
    out.push(
      `  best trial ${q.best.trial}: val_accuracy ${f(q.best.metric)}  ${Object.entries(q.best.params)
        .filter(([k]) => ['lr', 'dropout', 'filters', 'kernel'].includes(k))
        .map(([k, v]) => `${k}=${typeof v === 'number' ? Number(v.toPrecision(3)) : String(v)}`)
        .join(' ')}`,
    );
  out.push(
    `  asynchronous ${f(q.asyncSeconds, 1)} s vs synchronous ${f(q.syncSeconds, 1)} s: ${f(q.savedSeconds, 1)} s saved (${f(100 * q.savedFraction, 0)}%)`,
  );
  out.push('ablation (val_accuracy, Δ against the base model):');
  for (const a of s.ablation)
    out.push(
      `  ${a.component.padEnd(8)} ${a.kind.padEnd(8)} ${f(a.metric)}  ${a.delta === null ? '' : `Δ ${a.delta >= 0 ? '+' : ''}${a.delta.toFixed(4)}`}`,
    );
  if (s.serving) {
    const v = s.serving;
    out.push(
      `serving ${v.model}: ${v.requests} single-patch POST :predict on loopback, latency mean ${f(v.latencyMs.mean, 1)} ms, p50 ${f(v.latencyMs.p50, 1)} ms, p95 ${f(v.latencyMs.p95, 1)} ms`,
    );
    out.push(
      `  drift check, patches like the training data: ${v.drift.unshifted.status}${v.drift.unshifted.alerts.length ? ` (${v.drift.unshifted.alerts.join(', ')})` : ''}`,
    );
    out.push(
      `  drift check, patches shifted by +${v.drift.shifted.offsetDb} dB: ${v.drift.shifted.status}${v.drift.shifted.alerts.length ? ` (${v.drift.shifted.alerts.join(', ')})` : ''}`,
    );
  }
  out.push(
    `step times (s): ${Object.entries(s.seconds)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}`,
  );
  return out;
}
