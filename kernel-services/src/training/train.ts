import * as os from 'node:os';
import type { EpochRow, Run, RunEnvironment } from '@floe/schema';
import type { LayersModel, Optimizer, Scalar, Tensor, Tensor2D, Tensor4D } from '@tensorflow/tfjs-node';
import { openProjectStore, type ProjectStore } from '../store';
import type { ActiveRun } from '../tracking/tracker';
import { ExperimentTracker } from '../tracking/tracker';
import { saveModelToBlobs } from '../tracking/model-io';
import { FLOE_VERSION } from '../version';
import { augmentBatch, type AugmentOptions } from './augment';
import { loadTf, tensorflowInfo } from './backend';
import {
  checkpointPrefix,
  loadCheckpoint,
  pruneCheckpoints,
  saveCheckpoint,
  type EarlyStoppingState,
} from './checkpoint';
import type { DataSplit, SampleBatch, TrainingData } from './data';
import { tslabDisplaySink, type DisplaySink } from './display';
import {
  EpochSaliency,
  resolveSaliencyOption,
  SaliencyOptionError,
  type ResolvedSaliency,
  type SaliencyOption,
} from './epoch-saliency';
import { LiveTrainingView, type LiveState } from './live';
import { evaluateBinary, rocCurve, type Evaluation } from './metrics';
import { deriveSeed, SeededRandom, withSeededMathRandom } from './random';
import { findCodeSnapshot } from './snapshot';
import { buildModel, MODEL_NAMES, type ModelName, type ZooOptions } from './zoo';

/**
 * `train(config)`: trains a zoo model on a training dataset with a custom loop on the native
 * backend, tracks it as a run in the project store (params, metrics per batch and epoch, environment,
 * dataset lineage, code snapshot, checkpoints, the final model in TF.js format, evaluation and plots)
 * and shows it live in the notebook. Callbacks are the hook mechanism (search trials, benchmarks).
 */

export type OptimizerName = 'adam' | 'sgd' | 'rmsprop' | 'adagrad';
const OPTIMIZERS: readonly OptimizerName[] = ['adam', 'sgd', 'rmsprop', 'adagrad'];

export interface EarlyStoppingConfig {
  /** Epoch metric to watch (default `val_loss`, or `loss` without a validation split). */
  monitor?: string;
  patience: number;
  /** Smallest change that counts as an improvement (default 0). */
  minDelta?: number;
  /** `min` for losses, `max` otherwise (default: `min` when the name contains "loss"). */
  mode?: 'min' | 'max';
  /** Put back the best epoch's weights at the end (default true). */
  restoreBestWeights?: boolean;
}

export interface BatchInfo {
  epoch: number;
  /** Batch number within the epoch, 1-based. */
  batch: number;
  batches: number;
  /** Global step (batches done since the run started, 1-based). */
  step: number;
  size: number;
  loss: number;
  accuracy: number;
}

export interface TrainingContext {
  readonly runId: number | null;
  readonly model: LayersModel;
  /** Ends training after the current epoch (early stopping by a search, a benchmark, the user). */
  stop(reason?: string): void;
}

/** Training hooks, as in tfjs-layers: any of them may be async; a throw fails the run. */
export interface TrainingCallbacks {
  onTrainBegin?(ctx: TrainingContext): void | Promise<void>;
  onEpochBegin?(epoch: number, ctx: TrainingContext): void | Promise<void>;
  onBatchEnd?(batch: BatchInfo, ctx: TrainingContext): void | Promise<void>;
  onEpochEnd?(row: EpochRow, ctx: TrainingContext): void | Promise<void>;
  onTrainEnd?(result: TrainResult, ctx: TrainingContext): void | Promise<void>;
}

export interface TrainConfig {
  /** A zoo model: `lenet`, `extremeearth-cnn` or `extremeearth-cnn-angle`. */
  model: string;
  modelOptions?: Omit<ZooOptions, 'seed'>;
  data: TrainingData;
  /**
   * Features to use: image channels (stacked in this order) and, for the angle model, the angle
   * feature. Default: every channel of the data (+ the angle feature when the model takes it).
   */
  features?: string[];
  epochs: number;
  batchSize?: number;
  optimizer?: OptimizerName;
  learningRate?: number;
  augment?: boolean | AugmentOptions;
  earlyStopping?: EarlyStoppingConfig;
  /** Save a checkpoint every N epochs (default 1 when tracked; 0 = never). */
  checkpointEvery?: number;
  /** How many checkpoints to keep (default 2). */
  keepCheckpoints?: number;
  /** Continue this run (id) from its last checkpoint. */
  resume?: number;
  seed?: number;
  /** Incidence angle standardisation for the angle model (missing angles become the mean). */
  angleNormalization?: { mean: number; std: number };
  /**
   * Saliency images across epochs (off by default): after every `every`-th epoch (and the last), explain
   * `samples` validation patches — a seeded pick, the same every epoch — with `method` and store the
   * PNGs on the run as `saliency/epoch-<NNN>` for the Experiments panel. See docs/training.md.
   */
  saliency?: SaliencyOption | false;

  /** Track the run in this store (default: open the project store from the environment). */
  store?: ProjectStore;
  /** false: no run, no checkpoints, no artifacts (benchmarks, quick checks). Default true. */
  track?: boolean;
  experiment?: string;
  runName?: string;
  parentRunId?: number;
  tags?: Record<string, string>;
  /** The code to store with the run; default: the notebook or script found (see snapshot.ts); false: none. */
  snapshot?: { path: string; content?: string | Uint8Array } | false;
  callbacks?: TrainingCallbacks | TrainingCallbacks[];
  /** Live output: default on inside tslab; a function receives every bundle (tests, other front ends). */
  display?: boolean | DisplaySink;
  /** Final evaluation on the test split (or validation when there is none); default true. */
  evaluate?: boolean;
  /** Aborts training between batches; the run is marked interrupted. */
  signal?: AbortSignal;
  /** Also stop on SIGINT (Ctrl-C, Jupyter's interrupt) while training (default true). */
  handleSigint?: boolean;
}

export interface TrainResult {
  runId: number | null;
  run: Run | null;
  model: LayersModel;
  history: EpochRow[];
  /** Evaluation of the final model on `evaluation.split`. */
  evaluation: (Evaluation & { split: string }) | null;
  epochsCompleted: number;
  stoppedEarly: boolean;
  stopReason: string | null;
  bestEpoch: number | null;
  environment: RunEnvironment;
  /** Mean training samples/s over the epochs this call ran (validation excluded). */
  samplesPerSecond: number;
}

/** Why a config cannot be trained: names the field and the thing that is wrong. */
export class TrainingConfigError extends Error {
  override name = 'TrainingConfigError';
}

/** The loss became NaN or infinite. */
export class TrainingDivergedError extends Error {
  override name = 'TrainingDivergedError';
}

/** Training was stopped by an interrupt (SIGINT, Jupyter interrupt, AbortSignal). */
export class TrainingInterruptedError extends Error {
  override name = 'TrainingInterruptedError';
}

export const DEFAULT_ANGLE_NORMALIZATION = { mean: 39.3, std: 3.4 } as const;

/** The resolved, JSON-serialisable parameters recorded on the run. */
export interface ResolvedParams {
  model: ModelName;
  modelOptions: Omit<ZooOptions, 'seed'>;
  features: string[];
  channels: string[];
  angleFeature: string | null;
  inputShape: [number, number, number];
  epochs: number;
  batchSize: number;
  optimizer: OptimizerName;
  learningRate: number;
  augment: AugmentOptions | null;
  earlyStopping: Required<EarlyStoppingConfig> | null;
  checkpointEvery: number;
  seed: number;
  angleNormalization: { mean: number; std: number } | null;
  preprocessing: TrainingData['preprocessing'];
  data: { description: string; train: number; validation: number; test: number };
  /** Saliency images per epoch, or null when off. */
  saliency: ResolvedSaliency | null;
}

/** What a model from a run takes, stored in model.json (userDefinedMetadata.floe) and the registry. */
export interface ModelSignature {
  model: ModelName;
  channels: string[];
  angleFeature: string | null;
  inputShape: [number, number, number];
  angleNormalization: { mean: number; std: number } | null;
  preprocessing: TrainingData['preprocessing'];
}

function positiveInt(name: string, v: unknown): number {
  if (typeof v !== 'number' || !Number.isInteger(v) || v < 1)
    throw new TrainingConfigError(`${name} must be a positive integer, got ${String(v)}`);
  return v;
}

/** Checks a config against the data and the zoo; every error names the field or feature at fault. */
export function resolveParams(config: TrainConfig): ResolvedParams {
  if (!(MODEL_NAMES as readonly string[]).includes(config.model)) {
    throw new TrainingConfigError(`unknown model '${config.model}'; known models: ${MODEL_NAMES.join(', ')}`);
  }
  const model = config.model as ModelName;
  const data = config.data;
  if (!data || !data.train) throw new TrainingConfigError('data: a TrainingData with a train split is required');
  const withAngle = model === 'extremeearth-cnn-angle';
  const known = [...data.channels, ...(data.angleFeature ? [data.angleFeature] : [])];
  const features = config.features ?? [
    ...data.channels,
    ...(withAngle && data.angleFeature ? [data.angleFeature] : []),
  ];
  if (features.length === 0) throw new TrainingConfigError('features: name at least one image channel');
  const seen = new Set<string>();
  for (const f of features) {
    if (!known.includes(f))
      throw new TrainingConfigError(
        `unknown feature '${f}'; the training data (${data.description}) has: ${known.join(', ')}`,
      );
    if (seen.has(f)) throw new TrainingConfigError(`feature '${f}' is listed twice`);
    seen.add(f);
  }
  const channels = features.filter((f) => f !== data.angleFeature);
  const angleFeature = data.angleFeature && features.includes(data.angleFeature) ? data.angleFeature : null;
  if (channels.length === 0)
    throw new TrainingConfigError(`features: name at least one image channel (of ${data.channels.join(', ')})`);
  if (withAngle && !angleFeature) {
    throw new TrainingConfigError(
      data.angleFeature
        ? `model '${model}' takes the incidence angle: add '${data.angleFeature}' to features`
        : `model '${model}' takes the incidence angle but the training data (${data.description}) has no angle feature`,
    );
  }
  if (!withAngle && angleFeature)
    throw new TrainingConfigError(
      `feature '${angleFeature}': model '${model}' has no angle input (use extremeearth-cnn-angle)`,
    );
  const inputShape: [number, number, number] = [data.patchShape[0], data.patchShape[1], channels.length];
  const opts = { ...(config.modelOptions ?? {}) };
  const asked = opts.inputShape ?? (model === 'lenet' ? opts.lenet?.inputShape : undefined);
  if (asked && asked.some((d, i) => d !== inputShape[i])) {
    throw new TrainingConfigError(
      `shape mismatch: modelOptions.inputShape is [${asked.join(', ')}] but the features ${channels.join(', ')} of the training data give patches of [${inputShape.join(', ')}]`,
    );
  }
  opts.inputShape = inputShape;
  const optimizer = config.optimizer ?? 'adam';
  if (!OPTIMIZERS.includes(optimizer))
    throw new TrainingConfigError(`unknown optimizer '${String(optimizer)}'; known: ${OPTIMIZERS.join(', ')}`);
  const learningRate = config.learningRate ?? 1e-3;
  if (!(learningRate > 0 && Number.isFinite(learningRate)))
    throw new TrainingConfigError(`learningRate must be a positive number, got ${learningRate}`);
  const hasValidation = !!data.validation && data.validation.size > 0;
  let earlyStopping: Required<EarlyStoppingConfig> | null = null;
  if (config.earlyStopping) {
    const es = config.earlyStopping;
    const monitor = es.monitor ?? (hasValidation ? 'val_loss' : 'loss');
    if (monitor.startsWith('val_') && !hasValidation)
      throw new TrainingConfigError(
        `earlyStopping.monitor '${monitor}' needs a validation split, and the training data has none`,
      );
    if (!Number.isInteger(es.patience) || es.patience < 0)
      throw new TrainingConfigError(`earlyStopping.patience must be a non-negative integer, got ${es.patience}`);
    earlyStopping = {
      monitor,
      patience: es.patience,
      minDelta: Math.abs(es.minDelta ?? 0),
      mode: es.mode ?? (monitor.includes('loss') ? 'min' : 'max'),
      restoreBestWeights: es.restoreBestWeights ?? true,
    };
  }
  const augment =
    config.augment === true
      ? { flips: true, rot90: inputShape[0] === inputShape[1] }
      : config.augment
        ? { ...config.augment }
        : null;
  if (augment?.rot90 && inputShape[0] !== inputShape[1])
    throw new TrainingConfigError(`augment.rot90 needs square patches, the data has ${inputShape[0]}x${inputShape[1]}`);
  const checkpointEvery = config.checkpointEvery ?? 1;
  if (!Number.isInteger(checkpointEvery) || checkpointEvery < 0)
    throw new TrainingConfigError(`checkpointEvery must be a non-negative integer, got ${checkpointEvery}`);
  let saliency: ResolvedSaliency | null;
  try {
    saliency = resolveSaliencyOption(config.saliency, data.validation?.size ?? 0, config.track ?? true);
  } catch (err) {
    if (err instanceof SaliencyOptionError) throw new TrainingConfigError(err.message);
    throw err;
  }
  return {
    model,
    modelOptions: opts,
    features,
    channels,
    angleFeature,
    inputShape,
    epochs: positiveInt('epochs', config.epochs),
    batchSize: positiveInt('batchSize', config.batchSize ?? 32),
    optimizer,
    learningRate,
    augment,
    earlyStopping,
    checkpointEvery,
    seed: config.seed ?? 42,
    angleNormalization: angleFeature ? { ...(config.angleNormalization ?? DEFAULT_ANGLE_NORMALIZATION) } : null,
    preprocessing: data.preprocessing,
    data: {
      description: data.description,
      train: data.train.size,
      validation: data.validation?.size ?? 0,
      test: data.test?.size ?? 0,
    },
    saliency,
  };
}

function makeOptimizer(name: OptimizerName, lr: number): Optimizer {
  const tf = loadTf();
  switch (name) {
    case 'adam':
      return tf.train.adam(lr);
    case 'sgd':
      return tf.train.sgd(lr);
    case 'rmsprop':
      return tf.train.rmsprop(lr);
    case 'adagrad':
      return tf.train.adagrad(lr);
  }
}

export function runEnvironment(): RunEnvironment {
  return {
    floeVersion: FLOE_VERSION,
    tensorflow: tensorflowInfo(),
    node: process.version,
    platform: `${process.platform}-${process.arch}`,
    host: os.hostname(),
    pid: process.pid,
    cpus: os.cpus().length,
  };
}

/** Turns a data batch into model inputs: channel selection, augmentation, angle standardisation. */
class InputPipeline {
  private readonly channelIndex: number[] | null;
  constructor(
    private readonly params: ResolvedParams,
    data: TrainingData,
  ) {
    const idx = params.channels.map((c) => data.channels.indexOf(c));
    this.channelIndex = idx.length === data.channels.length && idx.every((v, i) => v === i) ? null : idx;
  }

  /** Model inputs (caller disposes) for a batch; `rng` set = training (augmented). */
  inputs(batch: SampleBatch, rng: SeededRandom | null): Tensor | Tensor[] {
    const tf = loadTf();
    const got = batch.image.shape;
    const want = this.params.inputShape;
    const fullChannels = this.channelIndex ? Math.max(...this.channelIndex) + 1 : want[2];
    if (got[1] !== want[0] || got[2] !== want[1] || (this.channelIndex ? got[3] < fullChannels : got[3] !== want[2])) {
      throw new TrainingConfigError(
        `shape mismatch: the data gave a batch of [${got.join(', ')}] but the model takes [batch, ${want.join(', ')}]`,
      );
    }
    let image: Tensor4D = this.channelIndex ? (tf.gather(batch.image, this.channelIndex, 3) as Tensor4D) : batch.image;
    if (rng && this.params.augment) {
      const augmented = augmentBatch(image, rng, this.params.augment);
      if (image !== batch.image) image.dispose();
      image = augmented;
    } else if (image === batch.image) {
      image = image.clone();
    }
    if (!this.params.angleFeature) return image;
    const norm = this.params.angleNormalization!;
    if (!batch.angle)
      throw new TrainingConfigError(`feature '${this.params.angleFeature}': the data gave a batch without angles`);
    const a = Float32Array.from(batch.angle, (v) => (Number.isFinite(v) ? (v - norm.mean) / norm.std : 0));
    return [image, tf.tensor2d(a, [a.length, 1])];
  }
}

function disposeInputs(x: Tensor | Tensor[]): void {
  (Array.isArray(x) ? x : [x]).forEach((t) => t.dispose());
}

function disposeBatch(b: SampleBatch): void {
  b.image.dispose();
  b.label.dispose();
}

/** Probabilities, labels and angles of a whole split, predicted in inference mode. */
export async function predictSplit(
  model: LayersModel,
  split: DataSplit,
  pipeline: { inputs(b: SampleBatch, rng: null): Tensor | Tensor[] },
  batchSize: number,
  onBatch?: () => Promise<void>,
): Promise<{ probs: Float32Array; labels: Float32Array; angles: Float32Array | null }> {
  const probs: number[] = [];
  const labels: number[] = [];
  const angles: number[] = [];
  let hasAngles = false;
  for await (const batch of split.batches({ batchSize })) {
    try {
      const x = pipeline.inputs(batch, null);
      try {
        const p = model.predict(x) as Tensor;
        probs.push(...(await p.data()));
        p.dispose();
      } finally {
        disposeInputs(x);
      }
      labels.push(...(await batch.label.data()));
      if (batch.angle) {
        hasAngles = true;
        angles.push(...batch.angle);
      }
    } finally {
      disposeBatch(batch);
    }
    if (onBatch) await onBatch();
  }
  return {
    probs: Float32Array.from(probs),
    labels: Float32Array.from(labels),
    angles: hasAngles ? Float32Array.from(angles) : null,
  };
}

/** JSON artifacts: non-finite numbers (AUC of one class, the ROC's infinite first threshold) become null. */
function finiteOrNull(value: unknown): unknown {
  return JSON.parse(
    JSON.stringify(value, (_k, v: unknown) => (typeof v === 'number' && !Number.isFinite(v) ? null : v)),
  );
}

const yieldToEventLoop = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

/** Plotly figure specs for the run's plots (the extension draws them; any Plotly can). */
function plotSpecs(
  history: EpochRow[],
  evaluation: (Evaluation & { split: string }) | null,
  roc: ReturnType<typeof rocCurve> | null,
): Record<string, unknown> {
  const x = history.map((r) => r.epoch);
  const line = (key: string, name: string): Record<string, unknown> | null =>
    history.some((r) => typeof r[key] === 'number')
      ? { type: 'scatter', mode: 'lines+markers', name, x, y: history.map((r) => r[key] ?? null) }
      : null;
  const specs: Record<string, unknown> = {
    'plot-loss': {
      data: [line('loss', 'train'), line('val_loss', 'validation')].filter(Boolean),
      layout: { title: 'loss', xaxis: { title: 'epoch' }, yaxis: { title: 'binary cross-entropy' } },
    },
    'plot-accuracy': {
      data: [line('accuracy', 'train'), line('val_accuracy', 'validation')].filter(Boolean),
      layout: { title: 'accuracy', xaxis: { title: 'epoch' }, yaxis: { title: 'accuracy', range: [0, 1] } },
    },
  };
  if (evaluation) {
    specs['plot-confusion'] = {
      data: [
        {
          type: 'heatmap',
          z: evaluation.confusion.matrix,
          x: ['ship', 'iceberg'],
          y: ['ship', 'iceberg'],
          colorscale: 'Blues',
        },
      ],
      layout: {
        title: `confusion (${evaluation.split})`,
        xaxis: { title: 'predicted' },
        yaxis: { title: 'true', autorange: 'reversed' },
      },
    };
    if (evaluation.byAngle) {
      specs['plot-angle-accuracy'] = {
        data: [
          {
            type: 'bar',
            x: evaluation.byAngle.map((b) => b.label),
            y: evaluation.byAngle.map((b) => b.accuracy),
            text: evaluation.byAngle.map((b) => `n=${b.count}`),
          },
        ],
        layout: { title: `accuracy by incidence angle (${evaluation.split})`, yaxis: { range: [0, 1] } },
      };
    }
  }
  if (roc) {
    specs['plot-roc'] = {
      data: [
        { type: 'scatter', mode: 'lines', name: 'ROC', x: roc.fpr, y: roc.tpr },
        { type: 'scatter', mode: 'lines', name: 'chance', x: [0, 1], y: [0, 1], line: { dash: 'dot' } },
      ],
      layout: {
        title: `ROC (${evaluation?.split ?? ''}, AUC ${evaluation && Number.isFinite(evaluation.rocAuc) ? evaluation.rocAuc.toFixed(3) : '–'})`,
        xaxis: { title: 'false positive rate' },
        yaxis: { title: 'true positive rate' },
      },
    };
  }
  return specs;
}

/** The compatibility keys a resumed run must share with its checkpoint. */
function compatibility(p: ResolvedParams): Record<string, unknown> {
  return {
    model: p.model,
    modelOptions: p.modelOptions,
    channels: p.channels,
    angleFeature: p.angleFeature,
    optimizer: p.optimizer,
  };
}

export async function train(config: TrainConfig): Promise<TrainResult> {
  const tf = loadTf();
  const params = resolveParams(config);
  const data = config.data;
  const environment = runEnvironment();
  const callbacks = Array.isArray(config.callbacks) ? config.callbacks : config.callbacks ? [config.callbacks] : [];
  const track = config.track ?? true;
  if (!track && config.resume !== undefined)
    throw new TrainingConfigError('resume: needs a tracked run (track: true) to find its checkpoint');
  const ownStore = track && !config.store;
  const store = track ? (config.store ?? (await openProjectStore())) : null;
  const tracker = store ? new ExperimentTracker(store) : null;
  const experimentName = config.experiment ?? 'default';

  const sink: DisplaySink | null =
    typeof config.display === 'function' ? config.display : config.display === false ? null : tslabDisplaySink();
  const view = new LiveTrainingView(sink);

  // Model and optimizer, seeded: initialisers draw from Math.random when not given a seed.
  const initRng = new SeededRandom(deriveSeed(params.seed, 0x1417));
  const model = withSeededMathRandom(initRng, () => buildModel(params.model, params.modelOptions));
  const optimizer = makeOptimizer(params.optimizer, params.learningRate);
  const trainable = (): import('@tensorflow/tfjs-node').Variable[] =>
    model.trainableWeights.map((w) => w.read() as import('@tensorflow/tfjs-node').Variable);

  let run: ActiveRun | null = null;
  let startEpoch = 1;
  let step = 0;
  let history: EpochRow[] = [];
  let es: EarlyStoppingState | null = params.earlyStopping ? { best: null, bestEpoch: 0, wait: 0 } : null;
  let bestWeights: Tensor[] | null = null;
  const state: LiveState = {
    runId: null,
    runName: config.runName ?? params.model,
    experiment: track ? experimentName : null,
    status: 'running',
    model: params.model,
    epochs: params.epochs,
    epoch: 0,
    batch: 0,
    batches: Math.ceil(data.train.size / params.batchSize),
    elapsedSeconds: 0,
    samplesPerSecond: null,
    rows: [],
    evaluation: null,
    message: null,
  };

  const signature: ModelSignature = {
    model: params.model,
    channels: params.channels,
    angleFeature: params.angleFeature,
    inputShape: params.inputShape,
    angleNormalization: params.angleNormalization,
    preprocessing: params.preprocessing,
  };

  try {
    if (tracker) {
      if (config.resume !== undefined) {
        const previous = await tracker.getRun(config.resume);
        if (!previous.checkpoint)
          throw new TrainingConfigError(`resume: run ${config.resume} has no checkpoint to resume from`);
        const ckpt = await loadCheckpoint(store!.blobs, previous.checkpoint.prefix);
        const want = JSON.stringify(compatibility(params));
        if (JSON.stringify(ckpt.state.compatibility) !== want) {
          ckpt.weights.forEach((t) => t.dispose());
          throw new TrainingConfigError(
            `resume: run ${config.resume} was trained with ${JSON.stringify(ckpt.state.compatibility)}, this config has ${want}`,
          );
        }
        try {
          model.setWeights(ckpt.weights);
        } catch (err) {
          throw new TrainingConfigError(
            `resume: the checkpoint of run ${config.resume} does not fit the model: ${(err as Error).message}`,
          );
        } finally {
          ckpt.weights.forEach((t) => t.dispose());
        }
        if (ckpt.optimizerWeights.length) await optimizer.setWeights(ckpt.optimizerWeights);
        bestWeights = ckpt.bestWeights;
        startEpoch = ckpt.state.epoch + 1;
        step = ckpt.state.step;
        history = ckpt.state.history;
        es = ckpt.state.earlyStopping ?? es;
        run = await tracker.resumeRun(config.resume, ckpt.state.epoch, ckpt.state.step);
        state.runName = previous.name;
        state.experiment = previous.experiment;
        await run.setParams({ ...params, epochs: params.epochs, resumedFromEpoch: ckpt.state.epoch });
      } else {
        run = await tracker.startRun({
          experiment: experimentName,
          ...(config.runName ? { name: config.runName } : {}),
          params: params as unknown as Record<string, unknown>,
          parentRunId: config.parentRunId ?? null,
          tags: config.tags ?? {},
          dataset: data.lineage ?? {
            trainingDatasetId: null,
            trainingDatasetName: null,
            trainingDatasetVersion: null,
            featureGroup: null,
            featureGroupVersion: null,
            commit: null,
            description: data.description,
          },
          environment,
        });
        state.runName = config.runName ?? `run-${run.id}`;
        if (config.snapshot !== false) {
          const found = findCodeSnapshot(config.snapshot || undefined);
          if (found) await run.snapshotCode(found.source, found.path, found.content);
        }
      }
      await run.setEnvironment(environment);
      state.runId = run.id;
    }
  } catch (err) {
    model.dispose();
    optimizer.dispose();
    if (ownStore) await store!.close();
    throw err;
  }

  state.rows = [...history];
  state.epoch = startEpoch - 1;
  const pipeline = new InputPipeline(params, data);
  let epochSaliency: EpochSaliency | null = null;
  if (params.saliency && run) {
    try {
      epochSaliency = await EpochSaliency.pick(params.saliency, data.validation!, pipeline, {
        channels: data.channels,
        modelChannel: params.channels[0]!,
        preprocessing: data.preprocessing,
        model: state.runName,
      });
    } catch (err) {
      await run.fail(err);
      model.dispose();
      optimizer.dispose();
      if (ownStore) await store!.close();
      throw err;
    }
  }
  let stopReason: string | null = null;
  let interrupted: string | null = null;
  const onSigint = (): void => {
    interrupted ??= 'interrupted by SIGINT (Ctrl-C or a kernel interrupt)';
  };
  const onAbort = (): void => {
    interrupted ??= `interrupted: ${String(config.signal?.reason ?? 'aborted')}`;
  };
  if (config.handleSigint ?? true) process.on('SIGINT', onSigint);
  config.signal?.addEventListener('abort', onAbort);
  if (config.signal?.aborted) onAbort();
  const ctx: TrainingContext = {
    runId: run?.id ?? null,
    model,
    stop: (reason) => {
      stopReason ??= reason ?? 'stopped by a callback';
    },
  };
  const t0 = performance.now();
  let trainSeconds = 0;
  let trainSamples = 0;
  let result: TrainResult | undefined;

  try {
    for (const cb of callbacks) await cb.onTrainBegin?.(ctx);
    view.show(state, true);
    for (let epoch = startEpoch; epoch <= params.epochs && !stopReason; epoch++) {
      state.epoch = epoch;
      state.batch = 0;
      for (const cb of callbacks) await cb.onEpochBegin?.(epoch, ctx);
      const epochStart = performance.now();
      let lossSum = 0;
      let correct = 0;
      let seen = 0;
      let batchNo = 0;
      const augRng = new SeededRandom(deriveSeed(params.seed, epoch, 0xa11));
      const dropoutRng = new SeededRandom(deriveSeed(params.seed, epoch, 0xd20));
      for await (const batch of data.train.batches({
        batchSize: params.batchSize,
        shuffleSeed: deriveSeed(params.seed, epoch),
      })) {
        if (interrupted) {
          disposeBatch(batch);
          break;
        }
        batchNo++;
        step++;
        const n = batch.image.shape[0];
        let stats: Tensor;
        try {
          const x = pipeline.inputs(batch, augRng);
          const y = batch.label;
          try {
            stats = withSeededMathRandom(dropoutRng, () =>
              tf.tidy(() => {
                let probs: Tensor | undefined;
                const loss = optimizer.minimize(
                  () => {
                    const p = model.apply(x, { training: true }) as Tensor2D;
                    probs = tf.keep(p);
                    return tf.metrics.binaryCrossentropy(y, p).mean() as Scalar;
                  },
                  true,
                  trainable(),
                )!;
                const right = probs!.greaterEqual(0.5).cast('float32').equal(y).cast('float32').sum();
                probs!.dispose();
                return tf.stack([loss, right]);
              }),
            );
          } finally {
            disposeInputs(x);
          }
        } finally {
          disposeBatch(batch);
        }
        const [loss, right] = await stats.data();
        stats.dispose();
        if (!Number.isFinite(loss!)) {
          throw new TrainingDivergedError(
            `loss became ${loss} at epoch ${epoch}, batch ${batchNo} (step ${step}); the model diverged — try a lower learning rate than ${params.learningRate} or check the input data for NaN values`,
          );
        }
        lossSum += loss! * n;
        correct += right!;
        seen += n;
        const info: BatchInfo = {
          epoch,
          batch: batchNo,
          batches: state.batches,
          step,
          size: n,
          loss: loss!,
          accuracy: right! / n,
        };
        run?.logStep(step, { loss: info.loss, accuracy: info.accuracy });
        for (const cb of callbacks) await cb.onBatchEnd?.(info, ctx);
        state.batch = batchNo;
        state.elapsedSeconds = (performance.now() - t0) / 1000;
        state.samplesPerSecond = seen / ((performance.now() - epochStart) / 1000);
        view.show(state);
        await run?.heartbeat();
        // Lets signal handlers (SIGINT) and other callbacks run between batches.
        await yieldToEventLoop();
      }
      if (interrupted)
        throw new TrainingInterruptedError(
          `${interrupted} during epoch ${epoch} (batch ${batchNo}); the last checkpoint is kept`,
        );
      if (seen === 0) throw new TrainingConfigError('data: the train split gave no batches');
      const seconds = (performance.now() - epochStart) / 1000;
      trainSeconds += seconds;
      trainSamples += seen;

      const row: EpochRow = {
        epoch,
        seconds,
        loss: lossSum / seen,
        accuracy: correct / seen,
        samples_per_second: seen / seconds,
      };
      if (data.validation && data.validation.size > 0) {
        const v0 = performance.now();
        const val = await predictSplit(model, data.validation, pipeline, Math.max(params.batchSize, 128), async () => {
          await run?.heartbeat();
          await yieldToEventLoop();
        });
        const ev = evaluateBinary(val.labels, val.probs);
        row.val_loss = ev.logLoss;
        row.val_log_loss = ev.logLoss;
        row.val_accuracy = ev.accuracy;
        if (Number.isFinite(ev.rocAuc)) row.val_auc = ev.rocAuc;
        row.val_seconds = (performance.now() - v0) / 1000;
      }
      history.push(row);
      state.rows = [...history];
      await run?.flush();
      await run?.log(
        'epoch',
        epoch,
        Object.fromEntries(Object.entries(row).filter(([k]) => k !== 'epoch')) as Record<string, number>,
      );

      // Early stopping: remember the best epoch (and its weights when they are to be restored).
      if (params.earlyStopping && es) {
        const cfg = params.earlyStopping;
        const value = row[cfg.monitor];
        if (typeof value !== 'number')
          throw new TrainingConfigError(
            `earlyStopping.monitor: no epoch metric '${cfg.monitor}' (have ${Object.keys(row).join(', ')})`,
          );
        const improved =
          es.best === null || (cfg.mode === 'min' ? value < es.best - cfg.minDelta : value > es.best + cfg.minDelta);
        if (improved) {
          es.best = value;
          es.bestEpoch = epoch;
          es.wait = 0;
          if (cfg.restoreBestWeights) {
            bestWeights?.forEach((t) => t.dispose());
            bestWeights = model.getWeights().map((w) => tf.keep(w.clone()));
          }
        } else if (++es.wait >= cfg.patience) {
          stopReason = `early stopping: ${cfg.monitor} did not improve by more than ${cfg.minDelta} for ${cfg.patience} epoch(s); best ${(es.best ?? NaN).toFixed(4)} at epoch ${es.bestEpoch}`;
        }
      }
      // After early stopping so the last epoch trained (stopped early or not) always has its images.
      if (epochSaliency && run && epochSaliency.due(epoch, epoch === params.epochs || stopReason !== null)) {
        row.saliency_seconds = await epochSaliency.record(model, run, store!.blobs, epoch);
        await run.log('epoch', epoch, { saliency_seconds: row.saliency_seconds });
        state.rows = [...history];
      }
      for (const cb of callbacks) await cb.onEpochEnd?.(row, ctx);

      if (
        run &&
        params.checkpointEvery > 0 &&
        (epoch % params.checkpointEvery === 0 || epoch === params.epochs || stopReason)
      ) {
        const prefix = checkpointPrefix(run.blobPrefix, epoch);
        const keepBest = bestWeights && es && es.bestEpoch !== epoch ? bestWeights : null;
        await saveCheckpoint(
          store!.blobs,
          prefix,
          model,
          optimizer,
          { epoch, step, history, earlyStopping: es, compatibility: compatibility(params) },
          keepBest,
        );
        await run.setCheckpoint({ epoch, step, prefix, savedAt: new Date().toISOString() });
        await pruneCheckpoints(store!.blobs, run.blobPrefix, config.keepCheckpoints ?? 2);
      }
      state.elapsedSeconds = (performance.now() - t0) / 1000;
      state.samplesPerSecond = row.samples_per_second ?? null;
      state.message = stopReason;
      view.show(state, true);
    }

    let bestEpoch: number | null = es?.bestEpoch ?? null;
    if (
      params.earlyStopping?.restoreBestWeights &&
      bestWeights &&
      es &&
      es.bestEpoch !== history[history.length - 1]?.epoch
    ) {
      model.setWeights(bestWeights);
    } else if (!params.earlyStopping) {
      bestEpoch = null;
    }

    // Final evaluation on the test split (the validation split when there is none).
    let evaluation: (Evaluation & { split: string }) | null = null;
    let roc: ReturnType<typeof rocCurve> | null = null;
    const evalSplit =
      data.test && data.test.size > 0
        ? { name: 'test', split: data.test }
        : data.validation && data.validation.size > 0
          ? { name: 'validation', split: data.validation }
          : null;
    if ((config.evaluate ?? true) && evalSplit) {
      const pred = await predictSplit(model, evalSplit.split, pipeline, Math.max(params.batchSize, 128));
      evaluation = {
        split: evalSplit.name,
        ...evaluateBinary(
          pred.labels,
          pred.probs,
          pred.angles ? Array.from(pred.angles, (a) => (Number.isFinite(a) ? a : null)) : undefined,
        ),
      };
      roc = rocCurve(pred.labels, pred.probs);
      state.evaluation = evaluation;
    }

    model.setUserDefinedMetadata({ floe: { ...signature, runId: run?.id ?? null } });
    if (run) {
      const modelPrefix = `${run.blobPrefix}model/`;
      await saveModelToBlobs(model, store!.blobs, modelPrefix);
      await run.recordArtifact('model', 'model', modelPrefix, { format: 'tfjs-layers', signature });
      if (evaluation) {
        await run.log('final', 0, {
          eval_accuracy: evaluation.accuracy,
          eval_log_loss: evaluation.logLoss,
          ...(Number.isFinite(evaluation.rocAuc) ? { eval_auc: evaluation.rocAuc } : {}),
          eval_samples: evaluation.samples,
        });
        await run.saveJsonArtifact('evaluation', 'evaluation', finiteOrNull({ ...evaluation, roc }), {
          split: evaluation.split,
        });
      }
      for (const [name, spec] of Object.entries(plotSpecs(history, evaluation, roc)))
        await run.saveJsonArtifact(name, 'plot', finiteOrNull(spec), { format: 'plotly' });
      if (stopReason) await run.setParams({ ...params, stopReason });
      await run.finish();
    }
    state.status = 'finished';
    state.message = stopReason;
    state.elapsedSeconds = (performance.now() - t0) / 1000;
    view.show(state, true);

    result = {
      runId: run?.id ?? null,
      run: run ? await tracker!.getRun(run.id) : null,
      model,
      history,
      evaluation,
      epochsCompleted: history.length ? history[history.length - 1]!.epoch : 0,
      stoppedEarly: stopReason !== null,
      stopReason,
      bestEpoch,
      environment,
      samplesPerSecond: trainSeconds > 0 ? trainSamples / trainSeconds : 0,
    };
    for (const cb of callbacks) await cb.onTrainEnd?.(result, ctx);
    return result;
  } catch (err) {
    const message = err instanceof Error ? err.message : String(err);
    state.status = err instanceof TrainingInterruptedError ? 'interrupted' : 'failed';
    state.message = message;
    view.show(state, true);
    if (run) {
      if (err instanceof TrainingInterruptedError) await run.interrupt(message);
      else await run.fail(err);
    }
    if (!result) model.dispose();
    throw err;
  } finally {
    process.removeListener('SIGINT', onSigint);
    config.signal?.removeEventListener('abort', onAbort);
    bestWeights?.forEach((t) => t.dispose());
    epochSaliency?.dispose();
    optimizer.dispose();
    if (ownStore) await store!.close();
  }
}

/**
 * For `floe bench train`: trains a model untracked for `epochs` on `data` and reports the time of
 * each epoch (training only), the samples/s and the final validation accuracy and log loss.
 */
export async function benchmarkTraining(
  data: TrainingData,
  opts: {
    model?: string;
    modelOptions?: TrainConfig['modelOptions'];
    epochs: number;
    batchSize?: number;
    learningRate?: number;
    seed?: number;
    onEpoch?: (row: EpochRow) => void;
  },
): Promise<{
  epochSeconds: number[];
  samplesPerSecond: number;
  samplesPerSecondAfterFirst: number | null;
  valAccuracy: number | null;
  valLogLoss: number | null;
  history: EpochRow[];
  /** Trainable and non-trainable weights of the model trained. */
  parameters: number;
}> {
  const result = await train({
    model: opts.model ?? 'lenet',
    ...(opts.modelOptions ? { modelOptions: opts.modelOptions } : {}),
    data,
    epochs: opts.epochs,
    batchSize: opts.batchSize ?? 32,
    learningRate: opts.learningRate ?? 1e-3,
    seed: opts.seed ?? 42,
    track: false,
    display: false,
    evaluate: false,
    handleSigint: false,
    ...(opts.onEpoch ? { callbacks: { onEpochEnd: (row) => opts.onEpoch!(row) } } : {}),
  });
  const parameters = result.model.countParams();
  result.model.dispose();
  const rows = result.history;
  const last = rows[rows.length - 1];
  const later = rows.slice(1);
  const laterSeconds = later.reduce((s, r) => s + r.seconds, 0);
  return {
    epochSeconds: rows.map((r) => r.seconds),
    samplesPerSecond: result.samplesPerSecond,
    samplesPerSecondAfterFirst: later.length ? (data.train.size * later.length) / laterSeconds : null,
    valAccuracy: typeof last?.val_accuracy === 'number' ? last.val_accuracy : null,
    valLogLoss: typeof last?.val_loss === 'number' ? last.val_loss : null,
    history: rows,
    parameters,
  };
}
