import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BenchLine } from './contract';
import { BENCH_GOALS } from './contract';
import { generateSynthetic, writeStatoil } from '../ingest/synthetic';
import { splitIndices } from '../training/data';
import { DEFAULT_LENET, type LenetSpec } from '../training/models';

/**
 * The accuracy mode of `floe bench train` (`--epochs N`): the LeNet-style CNN trained for N epochs on
 * seeded synthetic iceberg data, Floe (`benchmarkTraining()` on tfjs-node) against Python Keras
 * (`model.fit`) on the same TensorFlow build. Both sides read one Statoil JSON file and are handed the
 * same train/validation ids; both standardise each band with the train split's mean and standard
 * deviation; same optimizer (Adam), learning rate, batch and thread counts. Each side runs in a fresh
 * process of its own, one after the other.
 */

export interface AccuracyBenchOptions {
  epochs: number;
  /** Synthetic records generated (train + validation). */
  count: number;
  /** Seed of the synthetic data, of the split and of both trainings. */
  seed: number;
  validationFraction: number;
  batch: number;
  threads: number;
  learningRate: number;
}

export function defaultAccuracyBenchOptions(epochs: number): AccuracyBenchOptions {
  return {
    epochs,
    count: 2000,
    seed: 42,
    validationFraction: 0.2,
    batch: 32,
    threads: os.availableParallelism(),
    learningRate: 1e-3,
  };
}

const INTEGER_OPTIONS = ['epochs', 'count', 'seed', 'batch', 'threads'] as const;

/** Parses `--epochs N [--count N] [--seed N] [--batch N] [--threads N] [--lr X] [--validation F]`. */
export function parseAccuracyBenchArgs(args: string[]): AccuracyBenchOptions {
  const o = defaultAccuracyBenchOptions(20);
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('--')) throw new RangeError(`bench train: unexpected argument '${arg}'`);
    const eq = arg.indexOf('=');
    const key = arg.slice(2, eq > 0 ? eq : undefined);
    const value = eq > 0 ? arg.slice(eq + 1) : args[++i];
    if (value === undefined) throw new RangeError(`bench train: --${key} needs a value`);
    const x = Number(value);
    if (key === 'lr') {
      if (!(x > 0 && Number.isFinite(x)))
        throw new RangeError(`bench train: --lr must be a positive number, got '${value}'`);
      o.learningRate = x;
    } else if (key === 'validation') {
      if (!(x > 0 && x < 1)) throw new RangeError(`bench train: --validation must be in (0, 1), got '${value}'`);
      o.validationFraction = x;
    } else if ((INTEGER_OPTIONS as readonly string[]).includes(key)) {
      const min = key === 'seed' ? 0 : key === 'count' ? 10 : 1;
      if (!Number.isInteger(x) || x < min)
        throw new RangeError(`bench train: --${key} must be an integer >= ${min}, got '${value}'`);
      o[key as (typeof INTEGER_OPTIONS)[number]] = x;
    } else {
      throw new RangeError(
        `bench train: unknown option --${key} with --epochs (known: ${[...INTEGER_OPTIONS, 'lr', 'validation'].map((k) => `--${k}`).join(', ')})`,
      );
    }
  }
  return o;
}

/** What each side reads (written as JSON): the network, the schedule, the data file and the split. */
export interface AccuracySideConfig {
  mode: 'epochs';
  spec: LenetSpec;
  epochs: number;
  batch: number;
  threads: number;
  seed: number;
  learningRate: number;
  /** Statoil JSON file with all records. */
  dataPath: string;
  validationFraction: number;
  /** Record ids of each split, in the order both sides use them. */
  trainIds: string[];
  validationIds: string[];
}

/** One side's result line (the Python script prints the same fields). */
export interface AccuracySideResult {
  /** Training time of each epoch (validation excluded). */
  epochSeconds: number[];
  valAccuracy: number[];
  valLogLoss: number[];
  trainSize: number;
  validationSize: number;
  parameters: number;
  tensorflowVersion: string;
  [field: string]: unknown;
}

/** The figures reported per side, derived the same way from both results. */
export interface AccuracySideSummary {
  epochSeconds: number;
  firstEpochSeconds: number;
  /** Mean over the epochs after the first (tracing and warm-up land in the first); null for one epoch. */
  laterEpochSeconds: number | null;
  /** Train samples/s over the epochs after the first (all epochs when there is only one). */
  samplesPerSecond: number;
  finalValAccuracy: number;
  bestValAccuracy: number;
  bestEpoch: number;
  finalValLogLoss: number;
  trainSize: number;
  validationSize: number;
}

export function summarizeSide(r: AccuracySideResult): AccuracySideSummary {
  const n = r.epochSeconds.length;
  if (n === 0 || r.valAccuracy.length !== n || r.valLogLoss.length !== n)
    throw new Error(`bench train: a side reported ${n} epoch times, ${r.valAccuracy.length} accuracies`);
  const sum = (xs: number[]): number => xs.reduce((s, x) => s + x, 0);
  const later = r.epochSeconds.slice(1);
  const bestValAccuracy = Math.max(...r.valAccuracy);
  return {
    epochSeconds: sum(r.epochSeconds) / n,
    firstEpochSeconds: r.epochSeconds[0]!,
    laterEpochSeconds: later.length ? sum(later) / later.length : null,
    samplesPerSecond: later.length ? (r.trainSize * later.length) / sum(later) : r.trainSize / r.epochSeconds[0]!,
    finalValAccuracy: r.valAccuracy[n - 1]!,
    bestValAccuracy,
    bestEpoch: r.valAccuracy.indexOf(bestValAccuracy) + 1,
    finalValLogLoss: r.valLogLoss[n - 1]!,
    trainSize: r.trainSize,
    validationSize: r.validationSize,
  };
}

const r3 = (x: number): number => Math.round(x * 1000) / 1000;
const r1 = (x: number): number => Math.round(x * 10) / 10;

/** The markdown table printed before the JSON line. */
export function accuracyTable(floe: AccuracySideSummary, keras: AccuracySideSummary): string[] {
  const row = (name: string, s: AccuracySideSummary): string =>
    `| ${name} | ${s.epochSeconds.toFixed(2)} | ${s.firstEpochSeconds.toFixed(2)} | ${s.laterEpochSeconds === null ? '–' : s.laterEpochSeconds.toFixed(2)} | ${s.samplesPerSecond.toFixed(1)} | ${s.finalValAccuracy.toFixed(3)} | ${s.bestValAccuracy.toFixed(3)} (epoch ${s.bestEpoch}) | ${s.finalValLogLoss.toFixed(4)} |`;
  return [
    '| side | mean epoch s | first epoch s | mean epoch s after the first | train samples/s | final val acc | best val acc | final val log loss |',
    '| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: |',
    row('Floe (tfjs-node)', floe),
    row('Python Keras', keras),
  ];
}

type RunSide = (
  side: 'floe' | 'keras',
  configFile: string,
  threads: number,
  log: (line: string) => void,
) => Promise<Record<string, unknown>>;

export async function benchTrainAccuracy(
  args: string[],
  log: (line: string) => void,
  runSide: RunSide,
): Promise<BenchLine> {
  const o = parseAccuracyBenchArgs(args);
  const spec: LenetSpec = { ...DEFAULT_LENET };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-bench-train-acc-'));
  try {
    const cpuModel = os.cpus()[0]?.model ?? 'unknown';
    log(
      `floe bench train --epochs ${o.epochs}: LeNet-style CNN ${spec.inputShape.join('x')}, batch ${o.batch}, Adam lr ${o.learningRate}, binary cross-entropy`,
    );
    log(`  ${o.threads} intra/inter-op thread(s), on ${os.availableParallelism()} x ${cpuModel}`);
    const records = generateSynthetic({ seed: o.seed, count: o.count, size: spec.inputShape[0] });
    const dataPath = path.join(dir, 'iceberg-synthetic.json');
    const written = await writeStatoil(records, dataPath);
    const split = splitIndices(records.length, { validation: o.validationFraction, test: 0 }, o.seed);
    const icebergs = records.filter((r) => r.is_iceberg === 1).length;
    log(
      `  data: ${records.length} synthetic records (seed ${o.seed}, ${icebergs} icebergs), ${(written.bytes / 2 ** 20).toFixed(1)} MiB Statoil JSON; split ${split.train.length} train / ${split.validation.length} validation`,
    );
    const config: AccuracySideConfig = {
      mode: 'epochs',
      spec,
      epochs: o.epochs,
      batch: o.batch,
      threads: o.threads,
      seed: o.seed,
      learningRate: o.learningRate,
      dataPath,
      validationFraction: o.validationFraction,
      trainIds: split.train.map((i) => records[i]!.id),
      validationIds: split.validation.map((i) => records[i]!.id),
    };
    const configFile = path.join(dir, 'config.json');
    fs.writeFileSync(configFile, JSON.stringify(config));
    const loadBefore = os.loadavg()[0]!;

    const results: Partial<Record<'floe' | 'keras', AccuracySideResult>> = {};
    for (const side of ['keras', 'floe'] as const) {
      log(
        `${side === 'floe' ? 'Floe benchmarkTraining() on tfjs-node' : 'Python Keras model.fit'}: ${o.epochs} epoch(s)`,
      );
      const res = (await runSide(side, configFile, o.threads, log)) as AccuracySideResult;
      if (!Array.isArray(res.epochSeconds) || !Array.isArray(res.valAccuracy))
        throw new Error(`bench train: the ${side} side reported no epochs: ${JSON.stringify(res)}`);
      results[side] = res;
    }
    const floeRes = results.floe!;
    const kerasRes = results.keras!;
    if (floeRes.parameters !== kerasRes.parameters)
      throw new Error(
        `bench train: the two networks differ: Floe has ${floeRes.parameters} parameters, Keras ${kerasRes.parameters}`,
      );
    for (const key of ['trainSize', 'validationSize'] as const) {
      if (floeRes[key] !== kerasRes[key])
        throw new Error(
          `bench train: the sides trained on different splits: ${key} ${floeRes[key]} vs ${kerasRes[key]}`,
        );
    }
    const floe = summarizeSide(floeRes);
    const keras = summarizeSide(kerasRes);
    for (const line of accuracyTable(floe, keras)) log(line);

    const round = (s: AccuracySideSummary): Record<string, unknown> => ({
      meanEpochSeconds: r3(s.epochSeconds),
      firstEpochSeconds: r3(s.firstEpochSeconds),
      laterEpochSeconds: s.laterEpochSeconds === null ? null : r3(s.laterEpochSeconds),
      samplesPerSecond: r1(s.samplesPerSecond),
      finalValAccuracy: r3(s.finalValAccuracy),
      bestValAccuracy: r3(s.bestValAccuracy),
      bestEpoch: s.bestEpoch,
      finalValLogLoss: r3(s.finalValLogLoss),
      trainSize: s.trainSize,
      validationSize: s.validationSize,
    });
    return {
      bench: 'train',
      mode: 'epochs',
      ratio: r3(floe.samplesPerSecond / keras.samplesPerSecond),
      ...BENCH_GOALS.train,
      floeSamplesPerSecond: r1(floe.samplesPerSecond),
      kerasSamplesPerSecond: r1(keras.samplesPerSecond),
      floeFinalValAccuracy: r3(floe.finalValAccuracy),
      kerasFinalValAccuracy: r3(keras.finalValAccuracy),
      floe: round(floe),
      keras: round(keras),
      floeEpochSeconds: floeRes.epochSeconds.map(r3),
      kerasEpochSeconds: kerasRes.epochSeconds.map(r3),
      floeValAccuracy: floeRes.valAccuracy.map(r3),
      kerasValAccuracy: kerasRes.valAccuracy.map(r3),
      epochs: o.epochs,
      count: o.count,
      seed: o.seed,
      batch: o.batch,
      threads: o.threads,
      learningRate: o.learningRate,
      parameters: floeRes.parameters,
      tensorflowVersion: floeRes.tensorflowVersion,
      pythonTensorflowVersion: kerasRes.tensorflowVersion,
      tfjsVersion: floeRes.tfjsVersion,
      kerasVersion: kerasRes.kerasVersion,
      device: floeRes.device,
      cpuModel,
      nproc: os.availableParallelism(),
      loadAverage: [r1(loadBefore), r1(os.loadavg()[0]!)],
      ratioOf: 'train samples/s over the epochs after the first (all epochs when only one)',
      floeSide:
        'benchmarkTraining() (train(): per-batch optimizer.minimize, validation after each epoch) on @tensorflow/tfjs-node',
      reference: `Python Keras ${String(kerasRes.kerasVersion)} model.fit with validation_data, TensorFlow ${kerasRes.tensorflowVersion}, measured in the same run`,
    };
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
}

/**
 * The Floe side of the accuracy mode (in its own process): reads the Statoil file, splits and
 * standardises it with `recordsTrainingData()`, checks the split is the one both sides were given,
 * and trains with `benchmarkTraining()`.
 */
export async function floeAccuracySide(config: AccuracySideConfig): Promise<AccuracySideResult> {
  const { tensorflowInfo } = await import('../training/backend');
  const { benchmarkTraining } = await import('../training/train');
  const { recordsTrainingData } = await import('../training/data');
  const { readStatoilAll } = await import('../ingest/statoil');
  const records = await readStatoilAll(config.dataPath);
  const data = recordsTrainingData(records, {
    channels: ['band_1', 'band_2'],
    validationFraction: config.validationFraction,
    testFraction: 0,
    seed: config.seed,
    description: `floe bench train --epochs: ${records.length} synthetic records`,
  });
  try {
    const same = (a: string[], b: string[]): boolean => a.length === b.length && a.every((x, i) => x === b[i]);
    if (!same(data.ids.train, config.trainIds) || !same(data.ids.validation, config.validationIds))
      throw new Error(`${config.dataPath}: recordsTrainingData() split the records differently from the ids given`);
    const res = await benchmarkTraining(data, {
      model: 'lenet',
      modelOptions: { lenet: config.spec, dropout: config.spec.dropout },
      epochs: config.epochs,
      batchSize: config.batch,
      learningRate: config.learningRate,
      seed: config.seed,
      onEpoch: (row) => {
        process.stderr.write(
          `floe: epoch ${row.epoch}: ${row.seconds.toFixed(2)} s, loss ${row.loss.toFixed(4)}, val_accuracy ${String(row.val_accuracy)}\n`,
        );
      },
    });
    const info = tensorflowInfo();
    return {
      epochSeconds: res.epochSeconds,
      valAccuracy: res.history.map((r) => r.val_accuracy ?? NaN),
      valLogLoss: res.history.map((r) => r.val_loss ?? NaN),
      trainSize: data.train.size,
      validationSize: data.validation?.size ?? 0,
      parameters: res.parameters,
      tensorflowVersion: info.version ?? 'unknown',
      tfjsVersion: info.tfjsVersion,
      device: info.device,
    };
  } finally {
    data.dispose?.();
  }
}
