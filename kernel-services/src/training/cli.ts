import * as fs from 'node:fs';
import { EXPLANATION_MIME, type EpochRow, type ExplanationPayload, type Run } from '@floe/schema';
import { parseArgs } from '../cli/main';
import { openProjectStore, type ProjectStore } from '../store';
import { ExperimentTracker, type RunFilter } from '../tracking/tracker';
import { ModelRegistry } from '../registry/registry';
import { explain, explanationPng } from '../registry/explanations';
import { recordsTrainingData, type PatchRecord, type TrainingData } from './data';
import type { SaliencyMethod } from './epoch-saliency';
import { train, TrainingInterruptedError, type OptimizerName, type TrainConfig } from './train';

/**
 * `floe train`, `floe runs`, `floe models`: the library's training, tracking and registry from the
 * command line. Each prints human-readable lines and, with `--json`, JSON instead.
 */

type Out = (line: string) => void;

export class UsageError extends Error {
  override name = 'UsageError';
}

export const TRAIN_USAGE = `usage: floe train (--data train.json | --training-dataset NAME[:VERSION]) [options]
  --model lenet|extremeearth-cnn|extremeearth-cnn-angle   (default lenet)
  --features a,b,...        channels (and inc_angle for the angle model); default all channels
  --epochs N (20)  --batch-size N (32)  --optimizer adam|sgd|rmsprop|adagrad  --lr X (0.001)  --seed N
  --augment                 random flips and 90° rotations
  --early-stopping N        patience in epochs (monitor val_loss)
  --checkpoint-every N      (1)     --resume RUN_ID   continue a run from its last checkpoint
  --saliency-every N        store saliency images of validation patches every N epochs (off by default)
  --saliency-samples K (4)  --saliency-method saliency|gradcam
  --validation F (0.2) --test F (0)  split fractions for --data
  --experiment NAME (default)  --name RUN_NAME
  --register MODEL [--alias ALIAS]  register the model when the run finishes
  --json                    print the result as JSON`;

function num(options: Record<string, string | true>, key: string, fallback?: number): number | undefined {
  const v = options[key];
  if (v === undefined) return fallback;
  const n = Number(v);
  if (v === true || !Number.isFinite(n)) throw new UsageError(`--${key} needs a number, got ${String(v)}`);
  return n;
}

function str(options: Record<string, string | true>, key: string): string | undefined {
  const v = options[key];
  if (v === true) throw new UsageError(`--${key} needs a value`);
  return v;
}

async function withStore<T>(fn: (store: ProjectStore) => Promise<T>): Promise<T> {
  const store = await openProjectStore();
  try {
    return await fn(store);
  } finally {
    await store.close();
  }
}

function readRecords(file: string, option = 'data'): PatchRecord[] {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new UsageError(`--${option} ${file}: ${(err as Error).message}`);
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (err) {
    throw new UsageError(`--${option} ${file} is not JSON: ${(err as Error).message}`);
  }
  if (!Array.isArray(parsed)) throw new UsageError(`--${option} ${file}: expected a JSON array of Statoil records`);
  return parsed as PatchRecord[];
}

/** Writes beside the target and renames, so an interrupted write never leaves half a file under its name. */
function writeFileAtomic(file: string, bytes: Buffer): void {
  const partial = `${file}.partial`;
  try {
    fs.writeFileSync(partial, bytes);
    fs.renameSync(partial, file);
  } catch (err) {
    fs.rmSync(partial, { force: true });
    throw new UsageError(`--png ${file}: ${(err as Error).message}`);
  }
}

const fmt = (v: unknown, d = 4): string => (typeof v === 'number' && Number.isFinite(v) ? v.toFixed(d) : '–');

function epochLine(row: EpochRow): string {
  const val =
    typeof row.val_loss === 'number' ? `  val_loss ${fmt(row.val_loss)}  val_acc ${fmt(row.val_accuracy)}` : '';
  return `epoch ${row.epoch}  loss ${fmt(row.loss)}  acc ${fmt(row.accuracy)}${val}  ${fmt(row.seconds, 1)} s`;
}

export async function trainCommand(argv: string[], out: Out): Promise<number> {
  const { options } = parseArgs(argv);
  if (options.help) {
    out(TRAIN_USAGE);
    return 0;
  }
  const dataFile = str(options, 'data');
  const datasetRef = str(options, 'training-dataset');
  if (!dataFile === !datasetRef)
    throw new UsageError(`name exactly one of --data and --training-dataset\n${TRAIN_USAGE}`);
  const features = str(options, 'features')
    ?.split(',')
    .map((s) => s.trim())
    .filter(Boolean);
  const json = options.json === true;

  return withStore(async (store) => {
    let data: TrainingData;
    let close: (() => Promise<void>) | undefined;
    if (dataFile) {
      const channels = features?.filter((f) => f !== 'inc_angle');
      data = recordsTrainingData(readRecords(dataFile), {
        ...(channels?.length ? { channels } : {}),
        validationFraction: num(options, 'validation', 0.2)!,
        testFraction: num(options, 'test', 0)!,
        seed: num(options, 'split-seed', 0)!,
        description: `${dataFile}`,
      });
    } else {
      const [name, version] = datasetRef!.split(':');
      const { FeatureStore } = await import('../feature-store/feature-store');
      const { featureStoreTrainingData } = await import('./feature-store-data');
      const fstore = new FeatureStore(store);
      const td = await fstore.getTrainingDataset(name!, version ? Number(version) : undefined);
      const fsData = await featureStoreTrainingData(
        td,
        features ? { channels: features.filter((f) => f !== 'inc_angle') } : {},
      );
      data = fsData;
      close = async () => {
        await fsData.close();
        fstore.data.close();
      };
    }
    // `floe train` under a process manager: SIGTERM stops like Ctrl-C, so the run is marked.
    const onTerm = (): void => void process.emit('SIGINT');
    process.once('SIGTERM', onTerm);
    try {
      const patience = num(options, 'early-stopping');
      const saliencyEvery = num(options, 'saliency-every');
      const saliencySamples = num(options, 'saliency-samples');
      const saliencyMethod = str(options, 'saliency-method');
      if (saliencyEvery === undefined && (saliencySamples !== undefined || saliencyMethod !== undefined))
        throw new UsageError(`--saliency-samples and --saliency-method need --saliency-every N\n${TRAIN_USAGE}`);
      const config: TrainConfig = {
        model: str(options, 'model') ?? 'lenet',
        data,
        ...(features ? { features } : {}),
        epochs: num(options, 'epochs', 20)!,
        batchSize: num(options, 'batch-size', 32)!,
        optimizer: (str(options, 'optimizer') ?? 'adam') as OptimizerName,
        learningRate: num(options, 'lr', 1e-3)!,
        seed: num(options, 'seed', 42)!,
        augment: options.augment === true,
        ...(patience !== undefined ? { earlyStopping: { patience } } : {}),
        ...(saliencyEvery !== undefined
          ? {
              saliency: {
                every: saliencyEvery,
                ...(saliencySamples !== undefined ? { samples: saliencySamples } : {}),
                ...(saliencyMethod !== undefined ? { method: saliencyMethod as SaliencyMethod } : {}),
              },
            }
          : {}),
        checkpointEvery: num(options, 'checkpoint-every', 1)!,
        ...(options.resume !== undefined ? { resume: num(options, 'resume')! } : {}),
        store,
        experiment: str(options, 'experiment') ?? 'default',
        ...(str(options, 'name') ? { runName: str(options, 'name')! } : {}),
        display: false,
        // The code of a CLI run is its command line.
        snapshot: {
          path: 'floe train (command line)',
          content: ['floe', 'train', ...argv]
            .map((a) => (/^[\w@%+=:,./-]+$/.test(a) ? a : JSON.stringify(a)))
            .join(' '),
        },
        callbacks: json ? [] : [{ onEpochEnd: (row) => out(epochLine(row)) }],
      };
      let result;
      try {
        result = await train(config);
      } catch (err) {
        if (err instanceof TrainingInterruptedError) {
          process.stderr.write(`floe: ${err.message}\n`);
          return 130;
        }
        throw err;
      }
      result.model.dispose();
      let registered: { name: string; version: number; aliases: string[] } | null = null;
      const registerAs = str(options, 'register');
      if (registerAs && result.runId !== null) {
        const alias = str(options, 'alias');
        const v = await new ModelRegistry(store).register({
          runId: result.runId,
          name: registerAs,
          ...(alias ? { aliases: [alias] } : {}),
        });
        registered = { name: v.name, version: v.version, aliases: v.aliases };
      }
      const summary = {
        runId: result.runId,
        experiment: config.experiment,
        epochs: result.epochsCompleted,
        stopReason: result.stopReason,
        samplesPerSecond: result.samplesPerSecond,
        evaluation: result.evaluation
          ? {
              split: result.evaluation.split,
              accuracy: result.evaluation.accuracy,
              logLoss: result.evaluation.logLoss,
              rocAuc: Number.isFinite(result.evaluation.rocAuc) ? result.evaluation.rocAuc : null,
              confusion: result.evaluation.confusion.matrix,
              byAngle: result.evaluation.byAngle,
            }
          : null,
        environment: result.environment,
        registered,
      };
      if (json) out(JSON.stringify(summary));
      else {
        out(
          `run ${result.runId} finished: ${result.epochsCompleted} epochs, ${fmt(result.samplesPerSecond, 1)} samples/s on ${result.environment.tensorflow.device} (TF ${result.environment.tensorflow.version})`,
        );
        if (result.stopReason) out(result.stopReason);
        if (summary.evaluation)
          out(
            `${summary.evaluation.split}: accuracy ${fmt(summary.evaluation.accuracy)}, log loss ${fmt(summary.evaluation.logLoss)}, ROC AUC ${fmt(summary.evaluation.rocAuc)}, confusion [[tn, fp], [fn, tp]] ${JSON.stringify(summary.evaluation.confusion)}`,
          );
        if (registered)
          out(
            `registered ${registered.name}:${registered.version}${registered.aliases.length ? ` (${registered.aliases.join(', ')})` : ''}`,
          );
      }
      return 0;
    } finally {
      process.removeListener('SIGTERM', onTerm);
      data.dispose?.();
      await close?.();
    }
  });
}

function runLine(r: Run): string {
  const acc = r.summary.eval_accuracy ?? r.summary.val_accuracy;
  return `${String(r.id).padStart(5)}  ${r.status.padEnd(11)}  ${r.experiment.padEnd(14)}  ${r.name.padEnd(16)}  epochs ${String(r.epochsCompleted).padStart(3)}  acc ${fmt(acc)}  ${r.startedAt}${r.error ? `  ${r.error}` : ''}`;
}

export const RUNS_USAGE = `usage: floe runs [list] [--experiment E] [--status S] [--limit N] [--order-by METRIC] [--json]
       floe runs show RUN_ID [--json]
       floe runs compare RUN_ID RUN_ID ... [--json]
       floe runs reap            mark running runs whose process is gone as interrupted`;

export async function runsCommand(argv: string[], out: Out): Promise<number> {
  const { positionals, options } = parseArgs(argv);
  const [sub = 'list', ...rest] = positionals;
  const json = options.json === true;
  return withStore(async (store) => {
    const tracker = new ExperimentTracker(store);
    switch (sub) {
      case 'list': {
        const filter: RunFilter = {};
        if (str(options, 'experiment')) filter.experiment = str(options, 'experiment')!;
        if (str(options, 'status')) filter.status = str(options, 'status') as Run['status'];
        if (options.limit !== undefined) filter.limit = num(options, 'limit')!;
        if (str(options, 'order-by')) filter.orderBy = { metric: str(options, 'order-by')! };
        const runs = await tracker.listRuns(filter);
        if (json) out(JSON.stringify(runs));
        else if (runs.length === 0) out('no runs');
        else runs.forEach((r) => out(runLine(r)));
        return 0;
      }
      case 'show': {
        const id = Number(rest[0]);
        if (!Number.isInteger(id)) throw new UsageError(`runs show: give a run id\n${RUNS_USAGE}`);
        const run = await tracker.getRun(id);
        const history = await tracker.epochHistory(id);
        const artifacts = await tracker.artifacts(id);
        if (json) out(JSON.stringify({ run, history, artifacts }));
        else {
          out(runLine(run));
          out(`params: ${JSON.stringify(run.params)}`);
          if (run.environment)
            out(
              `environment: Floe ${run.environment.floeVersion}, TF ${run.environment.tensorflow.version} (${run.environment.tensorflow.backend}, ${run.environment.tensorflow.device}), ${run.environment.host}`,
            );
          if (run.dataset) out(`data: ${JSON.stringify(run.dataset)}`);
          if (run.code) out(`code: ${run.code.path} (${run.code.source}, sha256 ${run.code.sha256.slice(0, 12)})`);
          history.forEach((h) => out(epochLine(h as EpochRow)));
          out(`artifacts: ${artifacts.map((a) => `${a.name} (${a.kind})`).join(', ')}`);
        }
        return 0;
      }
      case 'compare': {
        const ids = rest.map(Number);
        if (ids.length < 2 || ids.some((i) => !Number.isInteger(i)))
          throw new UsageError(`runs compare: give two or more run ids\n${RUNS_USAGE}`);
        const cmp = await tracker.compareRuns(ids);
        if (json) out(JSON.stringify(cmp));
        else {
          out(['', ...ids.map((i) => `run ${i}`)].join('\t'));
          for (const [k, v] of Object.entries(cmp.differingParams))
            out([k, ...v.map((x) => JSON.stringify(x))].join('\t'));
          for (const [k, v] of Object.entries(cmp.metrics)) out([k, ...v.map((x) => fmt(x))].join('\t'));
        }
        return 0;
      }
      case 'reap': {
        const marked = await tracker.reapStaleRuns();
        out(
          json
            ? JSON.stringify({ interrupted: marked })
            : marked.length
              ? `marked interrupted: ${marked.join(', ')}`
              : 'no stale runs',
        );
        return 0;
      }
      default:
        throw new UsageError(`unknown runs command '${sub}'\n${RUNS_USAGE}`);
    }
  });
}

export const MODELS_USAGE = `usage: floe models [list] [--json]
       floe models versions NAME
       floe models show REF                 REF = name, name:version or name@alias
       floe models register RUN_ID NAME [--alias A] [--description D]
       floe models alias NAME ALIAS VERSION  point an alias at a version (moves it)
       floe models best METRIC [--name NAME] [--direction min|max]
       floe models lineage REF
       floe models explain REF --data patches.json [--id ID] [--method saliency|gradcam] [--png FILE]
                                            explain one prediction (default: the file's first patch)`;

export async function modelsCommand(argv: string[], out: Out): Promise<number> {
  const { positionals, options } = parseArgs(argv);
  const [sub = 'list', ...rest] = positionals;
  const json = options.json === true;
  const show = (v: import('@floe/schema').ModelVersion): void =>
    out(
      json
        ? JSON.stringify(v)
        : `${v.name}:${v.version}${v.aliases.length ? ` (${v.aliases.join(', ')})` : ''}  run ${v.lineage.runId}  ${Object.entries(
            v.metrics,
          )
            .filter(([k]) => /^(eval|val)_(accuracy|log_loss|auc)$/.test(k))
            .map(([k, x]) => `${k} ${fmt(x)}`)
            .join('  ')}  ${v.createdAt}`,
    );
  return withStore(async (store) => {
    const registry = new ModelRegistry(store);
    switch (sub) {
      case 'list': {
        const names = await registry.names();
        if (json) out(JSON.stringify(names));
        else if (names.length === 0) out('no registered models');
        else
          names.forEach((n) =>
            out(
              `${n.name}  latest ${n.latestVersion}  (${n.versions} versions)  ${Object.entries(n.aliases)
                .map(([a, v]) => `${a}→${v}`)
                .join(' ')}`,
            ),
          );
        return 0;
      }
      case 'versions': {
        if (!rest[0]) throw new UsageError(MODELS_USAGE);
        (await registry.versions(rest[0])).forEach(show);
        return 0;
      }
      case 'show': {
        if (!rest[0]) throw new UsageError(MODELS_USAGE);
        show(await registry.get(rest[0]));
        return 0;
      }
      case 'register': {
        const runId = Number(rest[0]);
        if (!Number.isInteger(runId) || !rest[1]) throw new UsageError(MODELS_USAGE);
        const alias = str(options, 'alias');
        const description = str(options, 'description');
        show(
          await registry.register({
            runId,
            name: rest[1],
            ...(alias ? { aliases: [alias] } : {}),
            ...(description ? { description } : {}),
          }),
        );
        return 0;
      }
      case 'alias': {
        const [name, alias, version] = rest;
        if (!name || !alias || !Number.isInteger(Number(version))) throw new UsageError(MODELS_USAGE);
        show(await registry.setAlias(name, alias, Number(version)));
        return 0;
      }
      case 'best': {
        if (!rest[0]) throw new UsageError(MODELS_USAGE);
        const direction = str(options, 'direction');
        if (direction && direction !== 'min' && direction !== 'max') throw new UsageError('--direction is min or max');
        const best = await registry.best(rest[0], {
          ...(str(options, 'name') ? { name: str(options, 'name')! } : {}),
          ...(direction ? { direction: direction as 'min' | 'max' } : {}),
        });
        if (!best) {
          out(json ? 'null' : `no model version has metric '${rest[0]}'`);
          return 1;
        }
        show(best);
        return 0;
      }
      case 'lineage': {
        if (!rest[0]) throw new UsageError(MODELS_USAGE);
        const chain = await registry.lineage(rest[0]);
        if (json) out(JSON.stringify(chain));
        else {
          out(`model ${chain.model.name}:${chain.model.version}`);
          out(`  ← run ${chain.run.id} (${chain.run.name}, experiment ${chain.run.experiment}, ${chain.run.status})`);
          if (chain.trainingDataset)
            out(
              `  ← training dataset ${chain.trainingDataset.name} v${chain.trainingDataset.version} (splits ${JSON.stringify(chain.trainingDataset.splitCounts)})`,
            );
          else if (chain.model.lineage.dataset?.description)
            out(`  ← data: ${chain.model.lineage.dataset.description}`);
          if (chain.featureGroupCommit)
            out(
              `  ← feature group ${chain.featureGroupCommit.featureGroup} v${chain.featureGroupCommit.version}, commit ${chain.featureGroupCommit.commit} (${chain.featureGroupCommit.rows} rows, ${chain.featureGroupCommit.committedAt})`,
            );
        }
        return 0;
      }
      case 'explain': {
        if (!rest[0]) throw new UsageError(MODELS_USAGE);
        const file = str(options, 'data');
        if (!file) throw new UsageError(`floe models explain needs --data patches.json\n${MODELS_USAGE}`);
        const method = str(options, 'method') ?? 'saliency';
        if (method !== 'saliency' && method !== 'gradcam')
          throw new UsageError(`--method is saliency or gradcam, got '${method}'`);
        const records = readRecords(file, 'data');
        const id = str(options, 'id');
        const record = id === undefined ? records[0] : records.find((r) => String(r.id) === id);
        if (!record)
          throw new UsageError(
            id === undefined ? `--data ${file} has no patches` : `--data ${file} has no patch with id '${id}'`,
          );
        const result = await explain(rest[0], record, method, { store, display: false });
        const payload = result.bundle[EXPLANATION_MIME] as ExplanationPayload;
        const png = str(options, 'png');
        if (png) writeFileAtomic(png, explanationPng(payload));
        if (json)
          out(
            JSON.stringify({
              model: result.model,
              method,
              patch: record.id,
              probability: result.probability,
              height: payload.height,
              width: payload.width,
              heatmap: payload.heatmap,
              ...(png ? { png } : {}),
            }),
          );
        else {
          let peak = 0;
          result.heatmap.values.forEach((v, i) => {
            if (v > result.heatmap.values[peak]!) peak = i;
          });
          const w = result.heatmap.width;
          out(
            `${method} of ${result.model} on patch ${record.id}: p(iceberg) = ${result.probability.toFixed(3)}; ` +
              `heatmap ${result.heatmap.height}x${w}, peak at row ${Math.floor(peak / w)}, column ${peak % w}` +
              (png ? `; wrote ${png}` : ''),
          );
        }
        return 0;
      }
      default:
        throw new UsageError(`unknown models command '${sub}'\n${MODELS_USAGE}`);
    }
  });
}
