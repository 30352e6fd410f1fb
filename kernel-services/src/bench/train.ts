import { spawn } from 'node:child_process';
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { BenchLine } from './contract';
import { BENCH_GOALS } from './contract';
import type { BenchRunner } from './index';
import type { AccuracySideConfig } from './train-accuracy';
import { floeRoot, venvPython } from '../env/paths';
import { generateSynthetic } from '../ingest/synthetic';
import { DEFAULT_LENET, type LenetSpec } from '../training/models';

/**
 * `floe bench train`: training samples/s of Floe (its `train()` loop on tfjs with the native
 * TensorFlow backend) against Python Keras (`model.fit`) on the same TensorFlow build, for the same
 * LeNet-style CNN, data, batch size, optimizer and thread counts. Each side runs in a fresh process of
 * its own, one after the other (never concurrently), for `rounds` alternating rounds; warm-up steps are
 * excluded from the timing. The ratio is the best round of Floe over the best round of Keras: on a
 * shared machine other load only ever slows a round down, so the best round is the closest to what each
 * side can do (the medians are reported too).
 */

export interface TrainBenchOptions {
  /** Timed training steps (batches) per side and round. */
  steps: number;
  /** Steps run before the timing starts (graph tracing, kernel and allocator warm-up). */
  warmup: number;
  batch: number;
  /** TensorFlow intra-op and inter-op threads on both sides. */
  threads: number;
  /** Distinct samples in the data set (a multiple of the batch); training cycles through them. */
  samples: number;
  rounds: number;
  seed: number;
  learningRate: number;
  /** Also time Keras with XLA (`jit_compile=True`) when its default does not use it. */
  xla: boolean;
}

export function defaultTrainBenchOptions(): TrainBenchOptions {
  return {
    steps: 100,
    warmup: 10,
    batch: 32,
    threads: os.availableParallelism(),
    samples: 320,
    rounds: 3,
    seed: 42,
    learningRate: 1e-3,
    xla: false,
  };
}

const INTEGER_OPTIONS = ['steps', 'warmup', 'batch', 'threads', 'samples', 'rounds', 'seed'] as const;

/** Parses `--steps N --warmup N --batch N --threads N --samples N --rounds N --seed N --lr X --xla`. */
export function parseTrainBenchArgs(args: string[]): TrainBenchOptions {
  const o = defaultTrainBenchOptions();
  for (let i = 0; i < args.length; i++) {
    const arg = args[i]!;
    if (!arg.startsWith('--')) throw new RangeError(`bench train: unexpected argument '${arg}'`);
    const eq = arg.indexOf('=');
    const key = arg.slice(2, eq > 0 ? eq : undefined);
    if (key === 'xla') {
      o.xla = true;
      continue;
    }
    const value = eq > 0 ? arg.slice(eq + 1) : args[++i];
    if (value === undefined) throw new RangeError(`bench train: --${key} needs a value`);
    if (key === 'lr') {
      const lr = Number(value);
      if (!(lr > 0 && Number.isFinite(lr)))
        throw new RangeError(`bench train: --lr must be a positive number, got '${value}'`);
      o.learningRate = lr;
    } else if ((INTEGER_OPTIONS as readonly string[]).includes(key)) {
      const n = Number(value);
      const min = key === 'warmup' || key === 'seed' ? 0 : 1;
      if (!Number.isInteger(n) || n < min)
        throw new RangeError(`bench train: --${key} must be an integer >= ${min}, got '${value}'`);
      o[key as (typeof INTEGER_OPTIONS)[number]] = n;
    } else {
      throw new RangeError(
        `bench train: unknown option --${key} (known: ${[...INTEGER_OPTIONS, 'lr', 'xla'].map((k) => `--${k}`).join(', ')})`,
      );
    }
  }
  if (o.samples % o.batch !== 0)
    throw new RangeError(`bench train: --samples (${o.samples}) must be a multiple of --batch (${o.batch})`);
  return o;
}

/** What both sides read: the network, the schedule and the data file. Written as JSON for each child. */
export interface TrainSideConfig {
  spec: LenetSpec;
  steps: number;
  warmup: number;
  batch: number;
  threads: number;
  samples: number;
  seed: number;
  learningRate: number;
  /** `samples` inputs (float32, little-endian, [samples, h, w, c]) followed by `samples` labels. */
  dataPath: string;
  /** Keras only: "auto" (its default), true or false. */
  jitCompile?: 'auto' | boolean;
}

/** One side's result line (the Python script prints the same fields). */
export interface SideResult {
  samplesPerSecond: number;
  seconds: number;
  /** CPU time of all the process's threads over the timed steps (user + system). */
  cpuSeconds: number;
  steps: number;
  batch: number;
  parameters: number;
  /** Mean training loss over the timed steps: both sides should be learning the same task. */
  loss: number;
  tensorflowVersion: string;
  [field: string]: unknown;
}

/**
 * The data set: seeded synthetic Statoil-format records (HH and HV in dB), each band standardised
 * over the set, written once as raw float32 so both sides train on exactly the same numbers.
 */
export function writeBenchData(file: string, samples: number, seed: number, spec: LenetSpec): { icebergs: number } {
  const [h, w, c] = spec.inputShape;
  if (c !== 2) throw new RangeError(`bench train: the synthetic data has 2 channels (HH, HV), the spec asks for ${c}`);
  const records = generateSynthetic({ seed, count: samples, size: h });
  if (h !== w) throw new RangeError(`bench train: synthetic patches are square, the spec asks for ${h}x${w}`);
  const pixels = h * w;
  const values = new Float32Array(samples * pixels * c + samples);
  for (let ch = 0; ch < c; ch++) {
    let sum = 0;
    let sumSq = 0;
    for (const r of records) {
      const band = ch === 0 ? r.band_1 : r.band_2;
      for (let p = 0; p < pixels; p++) {
        sum += band[p]!;
        sumSq += band[p]! * band[p]!;
      }
    }
    const mean = sum / (samples * pixels);
    const std = Math.sqrt(Math.max(sumSq / (samples * pixels) - mean * mean, 1e-12));
    records.forEach((r, i) => {
      const band = ch === 0 ? r.band_1 : r.band_2;
      const base = i * pixels * c;
      for (let p = 0; p < pixels; p++) values[base + p * c + ch] = (band[p]! - mean) / std;
    });
  }
  let icebergs = 0;
  records.forEach((r, i) => {
    values[samples * pixels * c + i] = r.is_iceberg ?? 0;
    icebergs += r.is_iceberg ?? 0;
  });
  if (os.endianness() !== 'LE') throw new Error('bench train: the data file format is little-endian float32');
  fs.writeFileSync(file, new Uint8Array(values.buffer, values.byteOffset, values.byteLength));
  return { icebergs };
}

interface ChildRun {
  code: number | null;
  stdout: string;
  stderr: string;
}

function runChild(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  log: (line: string) => void,
  prefix: string,
): Promise<ChildRun> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: ['ignore', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      // Progress lines of the child ("keras: ...", "floe: ...") are worth showing; warnings are kept for errors.
      for (const line of d.split('\n')) if (line.startsWith(`${prefix}: `)) log(`  ${line}`);
    });
    child.once('error', reject);
    child.once('close', (code) => resolve({ code, stdout, stderr }));
  });
}

function lastJsonLine(run: ChildRun, what: string): SideResult {
  const line = run.stdout.trim().split('\n').pop() ?? '';
  if (run.code !== 0 || !line.startsWith('{')) {
    throw new Error(
      `bench train: ${what} failed (exit ${run.code}): ${run.stderr.trim().split('\n').slice(-8).join('\n')}`,
    );
  }
  const parsed = JSON.parse(line) as SideResult;
  if (!Array.isArray(parsed.epochSeconds) && !(parsed.samplesPerSecond > 0))
    throw new Error(`bench train: ${what} reported no samples/s: ${line}`);
  return parsed;
}

/** Thread settings for the tfjs process: TensorFlow reads these when it creates its thread pools. */
function threadEnv(threads: number): NodeJS.ProcessEnv {
  return {
    ...process.env,
    TF_NUM_INTRAOP_THREADS: String(threads),
    TF_NUM_INTEROP_THREADS: String(threads),
    TF_CPP_MIN_LOG_LEVEL: process.env.TF_CPP_MIN_LOG_LEVEL ?? '2',
  };
}

/** Python script of the Keras reference. */
export function kerasScript(): string {
  return path.join(floeRoot(), 'kernel-services', 'python', 'bench_train_keras.py');
}

async function runKeras(configFile: string, threads: number, log: (line: string) => void): Promise<SideResult> {
  const python = venvPython();
  if (!fs.existsSync(python)) throw new Error(`bench train: no Python environment at ${python} (run scripts/setup.sh)`);
  return lastJsonLine(
    await runChild(python, [kerasScript(), configFile], threadEnv(threads), log, 'keras'),
    'the Keras reference',
  );
}

async function runFloe(configFile: string, threads: number, log: (line: string) => void): Promise<SideResult> {
  // From compiled dist/ this file runs as is; from the TypeScript sources (tests) through the same
  // transpile-on-load hook that search workers use.
  const preload: string[] = [];
  if (__filename.endsWith('.ts')) {
    const { typeScriptPreload } = await import('../search/ts-require');
    preload.push('--require', typeScriptPreload());
  }
  return lastJsonLine(
    await runChild(
      process.execPath,
      [...preload, __filename, FLOE_SIDE_FLAG, configFile],
      threadEnv(threads),
      log,
      'floe',
    ),
    'the Floe side',
  );
}

const best = (xs: number[]): number => Math.max(...xs);
const median = (xs: number[]): number => {
  const s = [...xs].sort((a, b) => a - b);
  const m = s.length >> 1;
  return s.length % 2 ? s[m]! : (s[m - 1]! + s[m]!) / 2;
};
const round3 = (x: number): number => Math.round(x * 1000) / 1000;
const cpuMsPerStep = (r: SideResult): number => (r.cpuSeconds / r.steps) * 1000;
const round1 = (x: number): number => Math.round(x * 10) / 10;

export const benchTrain: BenchRunner = async (args, log) => {
  // `--epochs N` selects the accuracy mode (epoch time and validation accuracy); without it, step throughput.
  if (args.some((a) => a === '--epochs' || a.startsWith('--epochs='))) {
    const { benchTrainAccuracy } = await import('./train-accuracy');
    return benchTrainAccuracy(args, log, (side, configFile, threads, sideLog) =>
      side === 'floe' ? runFloe(configFile, threads, sideLog) : runKeras(configFile, threads, sideLog),
    );
  }
  const o = parseTrainBenchArgs(args);
  const spec: LenetSpec = { ...DEFAULT_LENET };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-bench-train-'));
  try {
    const cpuModel = os.cpus()[0]?.model ?? 'unknown';
    log(
      `floe bench train: LeNet-style CNN ${spec.inputShape.join('x')}, batch ${o.batch}, Adam lr ${o.learningRate}, binary cross-entropy`,
    );
    log(
      `  ${o.warmup} warm-up + ${o.steps} timed steps per side, ${o.rounds} round(s), ${o.threads} intra/inter-op thread(s), on ${os.availableParallelism()} x ${cpuModel}`,
    );
    const dataPath = path.join(dir, 'data.f32');
    const { icebergs } = writeBenchData(dataPath, o.samples, o.seed, spec);
    log(`  data: ${o.samples} seeded synthetic SAR patches (${icebergs} icebergs), standardised HH+HV, in ${dataPath}`);
    const base: TrainSideConfig = {
      spec,
      steps: o.steps,
      warmup: o.warmup,
      batch: o.batch,
      threads: o.threads,
      samples: o.samples,
      seed: o.seed,
      learningRate: o.learningRate,
      dataPath,
    };
    const writeConfig = (name: string, extra: Partial<TrainSideConfig>): string => {
      const file = path.join(dir, name);
      fs.writeFileSync(file, JSON.stringify({ ...base, ...extra }));
      return file;
    };
    const floeConfig = writeConfig('floe.json', {});
    const kerasConfig = writeConfig('keras.json', { jitCompile: 'auto' });
    const loadBefore = os.loadavg()[0]!;

    const floeRounds: SideResult[] = [];
    const kerasRounds: SideResult[] = [];
    for (let r = 1; r <= o.rounds; r++) {
      // Alternate which side goes first so neither always runs on a warmer (or hotter) machine.
      const order = r % 2 === 1 ? (['keras', 'floe'] as const) : (['floe', 'keras'] as const);
      for (const side of order) {
        log(`round ${r}/${o.rounds}: ${side === 'floe' ? 'Floe train() on tfjs-node' : 'Python Keras model.fit'}`);
        const res =
          side === 'floe' ? await runFloe(floeConfig, o.threads, log) : await runKeras(kerasConfig, o.threads, log);
        (side === 'floe' ? floeRounds : kerasRounds).push(res);
        log(
          `  ${side}: ${res.samplesPerSecond.toFixed(1)} samples/s (${res.seconds.toFixed(2)} s for ${res.steps} steps, ` +
            `${((res.cpuSeconds / res.steps) * 1000).toFixed(1)} CPU ms/step, mean loss ${res.loss.toFixed(4)})`,
        );
      }
    }
    const floe = floeRounds[0]!;
    const keras = kerasRounds[0]!;
    if (floe.parameters !== keras.parameters) {
      throw new Error(
        `bench train: the two networks differ: Floe has ${floe.parameters} parameters, Keras ${keras.parameters}`,
      );
    }
    if (floe.tensorflowVersion !== keras.tensorflowVersion) {
      log(`  warning: tfjs-node runs TensorFlow ${floe.tensorflowVersion}, Python ${keras.tensorflowVersion}`);
    }

    // Keras' default jit_compile ("auto") means no XLA on CPU-only machines and XLA on GPUs: time the
    // other setting too when it differs from what the default chose, or on request (--xla).
    let alternative: Record<string, unknown> | null = null;
    const defaultUsedXla = keras.jitCompile === true;
    if (defaultUsedXla || o.xla) {
      const jit = !defaultUsedXla;
      log(`extra: Python Keras with jit_compile=${jit ? 'True' : 'False'} (not the headline reference)`);
      const alt = await runKeras(writeConfig('keras-alt.json', { jitCompile: jit }), o.threads, log);
      log(`  keras jit_compile=${jit}: ${alt.samplesPerSecond.toFixed(1)} samples/s`);
      alternative = {
        jitCompile: jit,
        samplesPerSecond: round1(alt.samplesPerSecond),
        ratio: round3(best(floeRounds.map((x) => x.samplesPerSecond)) / alt.samplesPerSecond),
      };
    }

    const floeSps = floeRounds.map((x) => x.samplesPerSecond);
    const kerasSps = kerasRounds.map((x) => x.samplesPerSecond);
    const ratio = best(floeSps) / best(kerasSps);
    const line: BenchLine = {
      bench: 'train',
      ratio: round3(ratio),
      ...BENCH_GOALS.train,
      floeSamplesPerSecond: round1(best(floeSps)),
      kerasSamplesPerSecond: round1(best(kerasSps)),
      ratioOfMedians: round3(median(floeSps) / median(kerasSps)),
      floeRounds: floeSps.map(round1),
      kerasRounds: kerasSps.map(round1),
      // Work per step (CPU time of all threads, least over the rounds): far less disturbed than wall time
      // by other load on a shared machine. cpuRatio = Keras CPU time / Floe CPU time (higher is better).
      floeCpuMsPerStep: round1(Math.min(...floeRounds.map(cpuMsPerStep))),
      kerasCpuMsPerStep: round1(Math.min(...kerasRounds.map(cpuMsPerStep))),
      cpuRatio: round3(Math.min(...kerasRounds.map(cpuMsPerStep)) / Math.min(...floeRounds.map(cpuMsPerStep))),
      steps: o.steps,
      warmup: o.warmup,
      batch: o.batch,
      threads: o.threads,
      rounds: o.rounds,
      samples: o.samples,
      seed: o.seed,
      parameters: floe.parameters,
      floeLoss: round3(floe.loss),
      kerasLoss: round3(keras.loss),
      tensorflowVersion: floe.tensorflowVersion,
      pythonTensorflowVersion: keras.tensorflowVersion,
      tfjsVersion: floe.tfjsVersion,
      kerasVersion: keras.kerasVersion,
      kerasJitCompile: keras.jitCompile,
      kerasAlternative: alternative,
      device: floe.device,
      cpuModel,
      nproc: os.availableParallelism(),
      memoryGiB: round1(os.totalmem() / 2 ** 30),
      loadAverage: [round1(loadBefore), round1(os.loadavg()[0]!)],
      floe: 'train() (custom loop: optimizer.minimize per batch) on @tensorflow/tfjs-node, native TensorFlow',
      reference: `Python Keras ${keras.kerasVersion} model.fit (jit_compile=${String(keras.jitCompileRequested)} -> ${keras.jitCompile ? 'XLA' : 'no XLA'}) on tf.data, TensorFlow ${keras.tensorflowVersion}, measured in the same run`,
    };
    log(
      `Floe ${line.floeSamplesPerSecond} samples/s, Keras ${line.kerasSamplesPerSecond} samples/s: ratio ${line.ratio} (goal >= ${line.goal})`,
    );
    return line;
  } finally {
    fs.rmSync(dir, { recursive: true, force: true });
  }
};

const FLOE_SIDE_FLAG = '--floe-bench-side';

/**
 * The Floe side, in its own process (thread settings are read when TensorFlow starts): trains with
 * Floe's `train()` on the data file (reshuffled every epoch, seeded) and times the steps after the warm-up.
 */
export async function floeSide(configFile: string): Promise<SideResult> {
  const parsed = JSON.parse(fs.readFileSync(configFile, 'utf8')) as TrainSideConfig | AccuracySideConfig;
  if ('mode' in parsed && parsed.mode === 'epochs') {
    const { floeAccuracySide } = await import('./train-accuracy');
    return (await floeAccuracySide(parsed)) as unknown as SideResult;
  }
  const config = parsed as TrainSideConfig;
  const { loadTf, tensorflowInfo } = await import('../training/backend');
  const { train, TrainingInterruptedError } = await import('../training/train');
  const { inMemoryTrainingData } = await import('../training/data');
  const tf = loadTf();
  const [h, w, c] = config.spec.inputShape;
  const bytes = fs.readFileSync(config.dataPath);
  const all = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.byteLength / 4);
  const n = config.samples;
  if (all.length !== n * h * w * c + n)
    throw new Error(`data file ${config.dataPath}: expected ${n * h * w * c + n} float32 values, found ${all.length}`);
  const data = inMemoryTrainingData({
    channels: ['band_1', 'band_2'],
    train: { images: all.subarray(0, n * h * w * c), shape: [n, h, w, c], labels: all.subarray(n * h * w * c) },
    description: `floe bench train: ${n} synthetic patches`,
  });
  const totalSteps = config.warmup + config.steps;
  const batchesPerEpoch = n / config.batch;
  const stop = new AbortController();
  let parameters = 0;
  let timedFrom = 0;
  let timedTo = 0;
  // CPU time of the timed steps; an object because TypeScript cannot see the callbacks assign it.
  const cpu: { from: NodeJS.CpuUsage; used: NodeJS.CpuUsage | null } = { from: process.cpuUsage(), used: null };
  let lossSum = 0;
  process.stderr.write(
    `floe: warm-up: ${config.warmup} steps; then ${config.steps} timed steps of batch ${config.batch}\n`,
  );
  try {
    await train({
      model: 'lenet',
      modelOptions: { lenet: config.spec, dropout: config.spec.dropout },
      data,
      epochs: Math.ceil(totalSteps / batchesPerEpoch),
      batchSize: config.batch,
      optimizer: 'adam',
      learningRate: config.learningRate,
      seed: config.seed,
      track: false,
      display: false,
      evaluate: false,
      handleSigint: false,
      signal: stop.signal,
      callbacks: {
        onTrainBegin: (ctx) => {
          parameters = ctx.model.countParams();
          if (config.warmup === 0) {
            timedFrom = performance.now();
            cpu.from = process.cpuUsage();
          }
        },
        onBatchEnd: (b) => {
          if (b.step === config.warmup) {
            timedFrom = performance.now();
            cpu.from = process.cpuUsage();
          }
          if (b.step > config.warmup) lossSum += b.loss;
          if (b.step === totalSteps) {
            timedTo = performance.now();
            cpu.used = process.cpuUsage(cpu.from);
            // Ends training between batches: nothing after the timed steps runs.
            stop.abort('the benchmark has its steps');
          }
        },
      },
    });
  } catch (err) {
    if (!(err instanceof TrainingInterruptedError && timedTo > 0)) throw err;
  } finally {
    data.dispose?.();
  }
  if (!(timedTo > timedFrom)) throw new Error(`the Floe side ran fewer than ${totalSteps} steps`);
  const seconds = (timedTo - timedFrom) / 1000;
  const info = tensorflowInfo();
  return {
    samplesPerSecond: (config.steps * config.batch) / seconds,
    seconds,
    cpuSeconds: cpu.used ? (cpu.used.user + cpu.used.system) / 1e6 : NaN,
    steps: config.steps,
    batch: config.batch,
    threads: config.threads,
    parameters,
    loss: lossSum / config.steps,
    tensorflowVersion: info.version ?? 'unknown',
    tfjsVersion: info.tfjsVersion,
    backend: info.backend,
    device: info.device,
    leakedTensors: tf.memory().numTensors,
  };
}

if (require.main === module && process.argv[2] === FLOE_SIDE_FLAG) {
  floeSide(process.argv[3]!).then(
    (r) => process.stdout.write(JSON.stringify(r) + '\n'),
    (err: unknown) => {
      process.stderr.write(`floe: ${err instanceof Error ? (err.stack ?? err.message) : String(err)}\n`);
      process.exitCode = 1;
    },
  );
}
