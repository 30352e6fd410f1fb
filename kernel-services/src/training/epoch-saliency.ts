import type { SaliencyArtifactMeta } from '@floe/schema';
import type { LayersModel, Tensor, Tensor2D, Tensor3D, Tensor4D } from '@tensorflow/tfjs-node';
import { explanationPng } from '../registry/explanations';
import type { BlobStore } from '../store';
import type { ActiveRun } from '../tracking/tracker';
import { loadTf } from './backend';
import type { DataSplit, Preprocessing, SampleBatch } from './data';
import { gradCam, saliency } from './explain';
import { deriveSeed, SeededRandom } from './random';

/**
 * Saliency images per epoch: a fixed, seeded pick of validation patches is explained after every N-th
 * epoch and stored on the run as `saliency/epoch-<NNN>` (a folder of PNGs, patch | heatmap overlay, and
 * `SaliencyArtifactMeta`), which the hub serves and the Experiments panel lines up across epochs and runs.
 * The pick depends only on the validation split and `saliency.seed` (not on the training seed), so runs
 * trained on the same dataset show the same patches.
 */

export type SaliencyMethod = SaliencyArtifactMeta['method'];
const METHODS: readonly SaliencyMethod[] = ['saliency', 'gradcam'];

/** `TrainConfig.saliency`: explain a few validation patches after every `every`-th epoch. */
export interface SaliencyOption {
  /** Every how many epochs (default 1); the last epoch trained is always included. */
  every?: number;
  /** How many validation patches (default 4; at most the validation split's size). */
  samples?: number;
  /** `saliency` (input gradients, default) or `gradcam` (last Conv2D layer). */
  method?: SaliencyMethod;
  /** Seed of the patch pick (default 0): the same seed and split give the same patches in every run. */
  seed?: number;
}

export type ResolvedSaliency = Required<SaliencyOption>;

/** Checks the option; every error names `saliency.<field>`. Returns null when off (absent or false). */
export function resolveSaliencyOption(
  option: SaliencyOption | false | undefined,
  validationSize: number,
  tracked: boolean,
): ResolvedSaliency | null {
  if (option === undefined || option === false) return null;
  const fail = (msg: string): never => {
    throw new SaliencyOptionError(msg);
  };
  if (option === null || typeof option !== 'object' || Array.isArray(option))
    fail(`saliency must be an object like { every: 1, samples: 4 } or false, got ${JSON.stringify(option)}`);
  const o = option as SaliencyOption;
  const known = ['every', 'samples', 'method', 'seed'];
  for (const k of Object.keys(o))
    if (!known.includes(k)) fail(`saliency.${k} is not an option (known: ${known.join(', ')})`);
  const every = o.every ?? 1;
  if (typeof every !== 'number' || !Number.isInteger(every) || every < 1)
    fail(`saliency.every must be a positive whole number of epochs, got ${JSON.stringify(o.every)}`);
  const samples = o.samples ?? 4;
  if (typeof samples !== 'number' || !Number.isInteger(samples) || samples < 1)
    fail(`saliency.samples must be a positive whole number of patches, got ${JSON.stringify(o.samples)}`);
  const method = o.method ?? 'saliency';
  if (!METHODS.includes(method)) fail(`saliency.method must be one of ${METHODS.join(', ')}, got '${String(method)}'`);
  const seed = o.seed ?? 0;
  if (typeof seed !== 'number' || !Number.isFinite(seed))
    fail(`saliency.seed must be a finite number, got ${JSON.stringify(o.seed)}`);
  if (validationSize === 0)
    fail('saliency: the patches are picked from the validation split, and the training data has none');
  if (samples > validationSize)
    fail(`saliency.samples is ${samples} but the validation split has only ${validationSize} patches`);
  if (!tracked) fail('saliency: the images are stored on the run; it needs a tracked run (track: true)');
  return { every, samples, method, seed };
}

/** A bad `saliency` option (the trainer rethrows it as its TrainingConfigError). */
export class SaliencyOptionError extends Error {
  override name = 'SaliencyOptionError';
}

/** The artifact name of one epoch's images (zero-padded so names sort by epoch). */
export function saliencyArtifactName(epoch: number): string {
  return `saliency/epoch-${String(epoch).padStart(3, '0')}`;
}

/**
 * Which positions of a split (in its own, unshuffled order) to explain: a seeded shuffle walked to take
 * ships and icebergs in turn while both remain, so the few patches shown cover both classes.
 */
export function pickSaliencyPositions(labels: ArrayLike<number>, samples: number, seed: number): number[] {
  const order = new SeededRandom(deriveSeed(seed, 0x5a11)).permutation(labels.length);
  const byClass: number[][] = [[], []];
  for (const p of order) byClass[labels[p]! >= 0.5 ? 1 : 0]!.push(p);
  const picked: number[] = [];
  // Start with the class of the first position in the shuffle, then alternate.
  let turn = labels[order[0]!]! >= 0.5 ? 1 : 0;
  const next = [0, 0];
  while (picked.length < samples) {
    const cls = next[turn]! < byClass[turn]!.length ? turn : 1 - turn;
    picked.push(byClass[cls]![next[cls]!++]!);
    turn = 1 - turn;
  }
  return picked;
}

interface PickedPatch {
  id: string;
  label: number;
  /** The model input [h, w, c] (standardised channels, as training sees them). */
  image: Tensor3D;
  /** Other inputs (the standardised angle [1, 1]) for multi-input models. */
  extra: Tensor[];
  /** The first model channel in its own units (dB for the SAR bands): the PNG's background. */
  background: number[];
}

export interface SaliencyInputs {
  inputs(batch: SampleBatch, rng: null): Tensor | Tensor[];
}

/** The picked validation patches of one training run and the rendering of their images after an epoch. */
export class EpochSaliency {
  private constructor(
    readonly option: ResolvedSaliency,
    private readonly patches: PickedPatch[],
    private readonly backgroundName: string,
    private readonly modelName: string,
  ) {}

  /**
   * Reads the validation split twice (labels, then the picked patches) in its own order; ids are the
   * data's sample ids (record id, primary key) or `validation-<position>` where it has none.
   */
  static async pick(
    option: ResolvedSaliency,
    split: DataSplit,
    pipeline: SaliencyInputs,
    info: { channels: readonly string[]; modelChannel: string; preprocessing: Preprocessing | null; model: string },
  ): Promise<EpochSaliency> {
    const tf = loadTf();
    const labels: number[] = [];
    for await (const b of split.batches({ batchSize: 256 })) {
      labels.push(...(await b.label.data()));
      b.image.dispose();
      b.label.dispose();
    }
    const positions = pickSaliencyPositions(labels, option.samples, option.seed);
    const wanted = new Map(positions.map((p, k) => [p, k]));
    const images: Tensor4D[] = new Array<Tensor4D>(positions.length);
    const angles: number[] = new Array<number>(positions.length).fill(NaN);
    const ids: string[] = new Array<string>(positions.length);
    let offset = 0;
    let withAngles = false;
    for await (const b of split.batches({ batchSize: 256, withIds: true })) {
      const n = b.image.shape[0];
      for (let i = 0; i < n; i++) {
        const k = wanted.get(offset + i);
        if (k === undefined) continue;
        images[k] = b.image.slice([i, 0, 0, 0], [1, -1, -1, -1]);
        if (b.angle) {
          withAngles = true;
          angles[k] = b.angle[i]!;
        }
        ids[k] = b.ids?.[i] ?? `validation-${offset + i}`;
      }
      offset += n;
      b.image.dispose();
      b.label.dispose();
    }
    if (images.some((t) => !t)) {
      images.forEach((t) => t?.dispose());
      throw new SaliencyOptionError(
        `saliency: the validation split gave ${offset} patches, not the ${split.size} it has`,
      );
    }
    const stacked = tf.concat(images) as Tensor4D;
    images.forEach((t) => t.dispose());
    const label = tf.tensor2d(
      Float32Array.from(positions, (p) => labels[p]!),
      [positions.length, 1],
    ) as Tensor2D;
    const batch: SampleBatch = { image: stacked, label, ...(withAngles ? { angle: Float32Array.from(angles) } : {}) };
    let x: Tensor | Tensor[];
    try {
      x = pipeline.inputs(batch, null);
    } finally {
      stacked.dispose();
      label.dispose();
    }
    // Background: the first model channel, standardisation undone so the PNG stretch works in dB.
    const c = info.channels.indexOf(info.modelChannel);
    const mean = info.preprocessing?.channelMean[c] ?? 0;
    const std = info.preprocessing?.channelStd[c] ?? 1;
    const [modelImage, ...rest] = Array.isArray(x) ? x : [x];
    const [, h, w] = modelImage!.shape as [number, number, number, number];
    const patches: PickedPatch[] = [];
    try {
      const firstChannel = modelImage!.slice([0, 0, 0, 0], [-1, -1, -1, 1]);
      const first = (await firstChannel.data()) as Float32Array;
      firstChannel.dispose();
      positions.forEach((_, k) => {
        const background = Array.from(first.subarray(k * h * w, (k + 1) * h * w), (v) => v * std + mean);
        patches.push({
          id: ids[k]!,
          label: labels[positions[k]!]! >= 0.5 ? 1 : 0,
          image: tf.tidy(() => modelImage!.slice([k, 0, 0, 0], [1, -1, -1, -1]).squeeze([0])) as Tensor3D,
          extra: rest.map((t) => t.slice([k, 0], [1, -1])),
          background,
        });
      });
    } finally {
      (Array.isArray(x) ? x : [x]).forEach((t) => t.dispose());
    }
    const name = info.preprocessing ? `${info.modelChannel} (dB)` : info.modelChannel;
    return new EpochSaliency(option, patches, name, info.model);
  }

  /** Patch ids in the order they are stored. */
  get patchIds(): string[] {
    return this.patches.map((p) => p.id);
  }

  /** Whether `epoch` gets images: every `every`-th epoch, and the last one trained. */
  due(epoch: number, last: boolean): boolean {
    return epoch % this.option.every === 0 || last;
  }

  /**
   * Explains the picked patches with the model as it is after `epoch`, writes one PNG per patch under
   * `runs/<id>/saliency/epoch-<NNN>/` and records the artifact. Returns the seconds it took.
   */
  async record(model: LayersModel, run: ActiveRun, blobs: BlobStore, epoch: number): Promise<number> {
    const tf = loadTf();
    const t0 = performance.now();
    const name = saliencyArtifactName(epoch);
    const prefix = `${run.blobPrefix}${name}/`;
    const images: SaliencyArtifactMeta['images'] = [];
    for (const [k, patch] of this.patches.entries()) {
      const heatmap =
        this.option.method === 'saliency'
          ? saliency(model, patch.image, patch.extra)
          : gradCam(model, patch.image, { extra: patch.extra });
      const probability = tf.tidy(() => {
        const x = patch.image.expandDims(0);
        const out = model.predict(patch.extra.length ? [x, ...patch.extra] : x) as Tensor;
        return out.dataSync()[0]!;
      });
      const png = explanationPng({
        version_major: 1,
        version_minor: 0,
        method: this.option.method,
        model: this.modelName,
        probability,
        height: heatmap.height,
        width: heatmap.width,
        heatmap: Array.from(heatmap.values),
        background: patch.background,
        backgroundName: this.backgroundName,
      });
      const file = `patch-${k}.png`;
      await blobs.put(prefix + file, png);
      images.push({ file, patch: patch.id, label: patch.label, probability: Math.round(probability * 1e4) / 1e4 });
    }
    const meta: SaliencyArtifactMeta = { type: 'saliency', method: this.option.method, epoch, images };
    await run.recordArtifact(name, 'plot', prefix, meta);
    return (performance.now() - t0) / 1000;
  }

  dispose(): void {
    for (const p of this.patches) {
      p.image.dispose();
      p.extra.forEach((t) => t.dispose());
    }
    this.patches.length = 0;
  }
}
