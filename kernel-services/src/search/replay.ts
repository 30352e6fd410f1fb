/**
 * Replayed trials: learning curves and step durations from a documented model of LeNet training on
 * the iceberg data (docs/benchmarks.md, "search"), played back with real timers in real worker
 * processes. They let tests and the benchmark run hundreds of trials on many workers in a minute on
 * two cores, with the heterogeneity real searches have (big kernels and many filters are slow, bad
 * learning rates never learn).
 *
 * The model, per configuration (lr, dropout, filters, kernel) and trial seed:
 * - quality q = q_lr · q_dropout · q_capacity, with q_lr = exp(−((log10 lr + 3) / 0.8)²) (best near
 *   1e-3), q_dropout = 1 − 1.2·(dropout − 0.25)², q_capacity = 0.85 + 0.05·log2(filters/8) −
 *   0.03·|kernel − 5|;
 * - final accuracy A = 0.5 + 0.42·q + N(0, 0.01);
 * - accuracy after epoch t: 0.5 + (A − 0.5)·(1 − exp(−t/τ)) + N(0, 0.008), τ = 1 + 5·(1 − q_lr);
 * - nominal epoch time: 20 ms × (0.4 + 0.6 · (filters/32) · (kernel/5)²) × LogNormal(0, 0.15) per
 *   trial × N(1, 0.05) per epoch — convolution cost grows with filters × kernel²; the constant part
 *   is data loading and the dense layers. FLOE_REPLAY_SCALE multiplies every duration.
 */
import type { ParamSpecInput, TrialParams } from '@floe/schema';
import { Prng, STREAM } from './prng';
import type { TrialReporter } from './trial';

/** The LeNet search space of the iceberg walkthrough (the replay model is defined over it). */
export const LENET_SEARCH_SPACE: Record<string, ParamSpecInput> = {
  lr: { type: 'double', min: 1e-4, max: 1e-1, scale: 'log' },
  dropout: { type: 'double', min: 0, max: 0.6 },
  filters: { type: 'discrete', values: [8, 16, 32, 64] },
  kernel: { type: 'discrete', values: [3, 5, 7] },
};

export interface ReplayedCurve {
  /** Validation accuracy after each epoch. */
  accuracy: number[];
  /** Nominal milliseconds of each epoch (before FLOE_REPLAY_SCALE). */
  epochMs: number[];
}

export const REPLAY_EPOCHS = 20;

export function replayCurve(params: TrialParams, seed: number, epochs = REPLAY_EPOCHS): ReplayedCurve {
  const rng = Prng.keyed(seed, STREAM.replay);
  const lr = Number(params.lr ?? 1e-3);
  const dropout = Number(params.dropout ?? 0.25);
  const filters = Number(params.filters ?? 16);
  const kernel = Number(params.kernel ?? 5);
  const qLr = Math.exp(-(((Math.log10(lr) + 3) / 0.8) ** 2));
  const qDrop = Math.max(0, 1 - 1.2 * (dropout - 0.25) ** 2);
  const qCap = 0.85 + 0.05 * Math.log2(filters / 8) - 0.03 * Math.abs(kernel - 5);
  const q = qLr * qDrop * qCap;
  const final = 0.5 + 0.42 * q + 0.01 * rng.normal();
  const tau = 1 + 5 * (1 - qLr);
  const trialFactor = Math.exp(0.15 * rng.normal());
  const cost = 0.4 + 0.6 * (filters / 32) * (kernel / 5) ** 2;
  const accuracy: number[] = [];
  const epochMs: number[] = [];
  for (let t = 1; t <= epochs; t++) {
    accuracy.push(Math.min(1, Math.max(0, 0.5 + (final - 0.5) * (1 - Math.exp(-t / tau)) + 0.008 * rng.normal())));
    epochMs.push(20 * cost * trialFactor * Math.max(0.5, 1 + 0.05 * rng.normal()));
  }
  return { accuracy, epochMs };
}

function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done(): void {
      clearTimeout(timer);
      signal.removeEventListener('abort', done);
      resolve();
    }
    signal.addEventListener('abort', done);
  });
}

/**
 * The replay trial function: plays the modelled curve epoch by epoch (ASHA's budget or an `epochs`
 * parameter sets the length) and returns the last epoch's accuracy.
 */
export async function replayTrial(params: TrialParams, reporter: TrialReporter): Promise<number> {
  const epochs = Number(reporter.trial.budget ?? params.epochs ?? REPLAY_EPOCHS);
  const scale = Number(process.env.FLOE_REPLAY_SCALE ?? 1);
  const { accuracy, epochMs } = replayCurve(params, reporter.trial.seed, epochs);
  for (let t = 0; t < epochs; t++) {
    await sleep(epochMs[t]! * scale, reporter.signal);
    reporter.report(t + 1, accuracy[t]!);
  }
  return accuracy[epochs - 1]!;
}

/** Test helper trial: crashes its worker on the first attempt (`crash`: exit | kill), then replays. */
export async function crashOnceTrial(params: TrialParams, reporter: TrialReporter): Promise<number> {
  if (reporter.trial.attempt === 1 && (params.crash === 'exit' || params.crash === 'kill')) {
    reporter.report(1, 0.5);
    await new Promise((r) => setTimeout(r, 20));
    if (params.crash === 'kill') process.kill(process.pid, 'SIGKILL');
    else process.exit(3);
  }
  if (params.crash === 'always') process.exit(4);
  return replayTrial(params, reporter);
}
