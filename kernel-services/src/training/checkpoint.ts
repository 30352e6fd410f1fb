import type { EpochRow } from '@floe/schema';
import type { LayersModel, Optimizer, Tensor } from '@tensorflow/tfjs-node';
import type { io } from '@tensorflow/tfjs-core';

type NamedTensor = { name: string; tensor: Tensor };
import type { BlobStore } from '../store';
import { loadModelFromBlobs, saveModelToBlobs } from '../tracking/model-io';
import { loadTf } from './backend';

/**
 * Training checkpoints on the blob store: `<prefix>model.json` + `weights.bin` (a loadable TF.js
 * model), `optimizer.bin` (optimizer slots such as Adam's moments, so a resumed run steps exactly as
 * an uninterrupted one would), `best.bin` (the best weights so far when early stopping restores them)
 * and `state.json` (written last: a checkpoint without it is incomplete and ignored).
 */

export interface EarlyStoppingState {
  best: number | null;
  bestEpoch: number;
  wait: number;
}

export interface CheckpointState {
  format: 'floe-checkpoint/1';
  epoch: number;
  step: number;
  history: EpochRow[];
  earlyStopping: EarlyStoppingState | null;
  optimizerSpecs: io.WeightsManifestEntry[];
  bestSpecs: io.WeightsManifestEntry[] | null;
  /** What must match when resuming (model, inputs), as recorded at the start. */
  compatibility: Record<string, unknown>;
}

async function encode(tensors: NamedTensor[]): Promise<{ data: Uint8Array; specs: io.WeightsManifestEntry[] }> {
  const tf = loadTf();
  const { data, specs } = await tf.io.encodeWeights(tensors);
  return { data: new Uint8Array(tf.io.CompositeArrayBuffer.join(data)), specs };
}

function decode(bytes: Uint8Array, specs: io.WeightsManifestEntry[]): NamedTensor[] {
  const tf = loadTf();
  const buffer = bytes.buffer.slice(bytes.byteOffset, bytes.byteOffset + bytes.byteLength) as ArrayBuffer;
  const map = tf.io.decodeWeights(buffer, specs);
  return specs.map((s) => ({ name: s.name, tensor: map[s.name]! }));
}

export async function saveCheckpoint(
  blobs: BlobStore,
  prefix: string,
  model: LayersModel,
  optimizer: Optimizer,
  state: Omit<CheckpointState, 'format' | 'optimizerSpecs' | 'bestSpecs'>,
  bestWeights: Tensor[] | null,
): Promise<void> {
  await saveModelToBlobs(model, blobs, prefix);
  const opt = await encode(await optimizer.getWeights());
  await blobs.put(`${prefix}optimizer.bin`, opt.data);
  let bestSpecs: io.WeightsManifestEntry[] | null = null;
  if (bestWeights) {
    const best = await encode(bestWeights.map((tensor, i) => ({ name: `w${i}`, tensor })));
    await blobs.put(`${prefix}best.bin`, best.data);
    bestSpecs = best.specs;
  }
  const full: CheckpointState = { format: 'floe-checkpoint/1', ...state, optimizerSpecs: opt.specs, bestSpecs };
  await blobs.put(`${prefix}state.json`, JSON.stringify(full));
}

export interface LoadedCheckpoint {
  state: CheckpointState;
  /** Model weights in `model.weights` order. */
  weights: Tensor[];
  optimizerWeights: NamedTensor[];
  bestWeights: Tensor[] | null;
}

export async function loadCheckpoint(blobs: BlobStore, prefix: string): Promise<LoadedCheckpoint> {
  const stateKey = `${prefix}state.json`;
  if (!(await blobs.exists(stateKey)))
    throw new RangeError(`checkpoint at ${blobs.url(prefix)} is incomplete (no state.json)`);
  const state = JSON.parse(Buffer.from(await blobs.get(stateKey)).toString('utf8')) as CheckpointState;
  if (state.format !== 'floe-checkpoint/1')
    throw new RangeError(`checkpoint at ${blobs.url(prefix)} has unknown format '${String(state.format)}'`);
  const saved = await loadModelFromBlobs(blobs, prefix);
  const weights = saved.getWeights().map((w) => w.clone());
  saved.dispose();
  const optimizerWeights = state.optimizerSpecs.length
    ? decode(await blobs.get(`${prefix}optimizer.bin`), state.optimizerSpecs)
    : [];
  const bestWeights = state.bestSpecs
    ? decode(await blobs.get(`${prefix}best.bin`), state.bestSpecs).map((n) => n.tensor)
    : null;
  return { state, weights, optimizerWeights, bestWeights };
}

/** Checkpoint folder of an epoch, sortable as text. */
export function checkpointPrefix(runPrefix: string, epoch: number): string {
  return `${runPrefix}checkpoints/epoch-${String(epoch).padStart(5, '0')}/`;
}

/** Deletes all but the newest `keep` checkpoint folders of a run. */
export async function pruneCheckpoints(blobs: BlobStore, runPrefix: string, keep: number): Promise<void> {
  const keys = await blobs.list(`${runPrefix}checkpoints/`);
  const folders = [
    ...new Set(keys.map((k) => k.slice(0, k.indexOf('/', `${runPrefix}checkpoints/`.length) + 1))),
  ].sort();
  for (const folder of folders.slice(0, Math.max(0, folders.length - keep))) {
    // state.json first: a half-deleted checkpoint is then visibly incomplete.
    const inFolder = keys
      .filter((k) => k.startsWith(folder))
      .sort((a, b) => (a.endsWith('state.json') ? -1 : b.endsWith('state.json') ? 1 : 0));
    for (const k of inFolder) await blobs.delete(k);
  }
}
