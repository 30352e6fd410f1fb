import * as fs from 'node:fs';
import * as path from 'node:path';
import type { TensorflowInfo } from '@floe/schema';
import { floeRoot } from '../env/paths';
import { installLeanKernels } from './native-kernels';

/** The tfjs-node module type; the GPU package exports the same API. */
export type Tf = typeof import('@tensorflow/tfjs-node');

export type TfVariant = TensorflowInfo['variant'];

/** Raised when the native TensorFlow backend cannot be loaded: Floe never falls back to pure JS. */
export class NativeBackendError extends Error {
  override name = 'NativeBackendError';
}

/**
 * Which tfjs-node build to load: `FLOE_TF_VARIANT` (cpu | gpu) when set, else the one set-up built
 * (recorded in .floe-setup/tf-variant), else cpu.
 */
export function tfVariant(): TfVariant {
  let v = process.env.FLOE_TF_VARIANT;
  if (!v) {
    const recorded = path.join(floeRoot(), '.floe-setup', 'tf-variant');
    v = fs.existsSync(recorded) ? fs.readFileSync(recorded, 'utf8').trim() : 'cpu';
  }
  if (v !== 'cpu' && v !== 'gpu') {
    throw new NativeBackendError(`FLOE_TF_VARIANT must be 'cpu' or 'gpu', not '${v}'`);
  }
  return v;
}

let loaded: Tf | undefined;

/**
 * TensorFlow's CPU execution settings. TensorFlow reads them once, when it loads in a process
 * (TF_NUM_INTRAOP_THREADS, TF_ENABLE_ONEDNN_OPTS), so they hold for the whole process.
 */
export interface TfExecution {
  /** Threads in TensorFlow's intra-op pool; null: TensorFlow's default (one per core). */
  intraOpThreads: number | null;
  /** oneDNN CPU kernels on or off; null: TensorFlow's default for this CPU (off without AVX-512). */
  onednn: boolean | null;
}

/** The execution settings this process has (or will have, if TensorFlow is not loaded yet). */
export function tfExecution(): TfExecution {
  const threads = Number(process.env.TF_NUM_INTRAOP_THREADS);
  const onednn = process.env.TF_ENABLE_ONEDNN_OPTS;
  return {
    intraOpThreads: Number.isInteger(threads) && threads > 0 ? threads : null,
    onednn: onednn === undefined || onednn === '' ? null : onednn === '1' || onednn.toLowerCase() === 'true',
  };
}

/**
 * Sets TensorFlow's execution settings for this process before it loads. Once TensorFlow is
 * loaded nothing can change them: `applied` is then true only if they already are what was asked.
 */
export function configureTfExecution(want: Partial<TfExecution>): { applied: boolean; execution: TfExecution } {
  if (want.intraOpThreads != null && !(Number.isInteger(want.intraOpThreads) && want.intraOpThreads > 0))
    throw new RangeError(`intraOpThreads must be a positive integer, got ${want.intraOpThreads}`);
  if (!loaded) {
    if (want.intraOpThreads !== undefined) {
      if (want.intraOpThreads === null) delete process.env.TF_NUM_INTRAOP_THREADS;
      else process.env.TF_NUM_INTRAOP_THREADS = String(want.intraOpThreads);
    }
    if (want.onednn !== undefined) {
      if (want.onednn === null) delete process.env.TF_ENABLE_ONEDNN_OPTS;
      else process.env.TF_ENABLE_ONEDNN_OPTS = want.onednn ? '1' : '0';
    }
  }
  const execution = tfExecution();
  const applied =
    (want.intraOpThreads === undefined || want.intraOpThreads === execution.intraOpThreads) &&
    (want.onednn === undefined || want.onednn === execution.onednn);
  return { applied, execution };
}

/** Loads TensorFlow.js on the native backend (once per process). Throws instead of falling back. */
export function loadTf(): Tf {
  if (loaded) return loaded;
  // TensorFlow's C++ start-up logging is noise in a notebook; keep warnings and errors.
  process.env.TF_CPP_MIN_LOG_LEVEL ??= '2';
  const variant = tfVariant();
  const pkg = variant === 'gpu' ? '@tensorflow/tfjs-node-gpu' : '@tensorflow/tfjs-node';
  let tf: Tf;
  try {
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    tf = require(pkg) as Tf;
  } catch (err) {
    throw new NativeBackendError(
      `cannot load ${pkg} (the native TensorFlow binding): ${(err as Error).message}. ` +
        `Run 'bash scripts/setup.sh'${variant === 'gpu' ? ' with FLOE_TF_VARIANT=gpu' : ''} to build it.`,
    );
  }
  if (tf.getBackend() !== 'tensorflow') {
    throw new NativeBackendError(`tfjs is on the '${tf.getBackend()}' backend, not the native 'tensorflow' one`);
  }
  // Same results, less work: see native-kernels.ts.
  installLeanKernels(tf);
  loaded = tf;
  return tf;
}

interface NativeBinding {
  TF_Version?: string;
  isUsingGpuDevice?: () => boolean;
}

/** What TensorFlow Floe computes with: recorded on every run and shown by the hub. */
export function tensorflowInfo(): TensorflowInfo {
  const tf = loadTf();
  const backend = tf.backend() as unknown as { binding?: NativeBinding; isUsingGpuDevice?: boolean };
  const gpu = backend.isUsingGpuDevice === true;
  return {
    backend: tf.getBackend(),
    native: tf.getBackend() === 'tensorflow',
    version: backend.binding?.TF_Version ?? null,
    tfjsVersion: tf.version.tfjs,
    variant: tfVariant(),
    device: gpu ? 'GPU:0' : 'CPU',
  };
}
