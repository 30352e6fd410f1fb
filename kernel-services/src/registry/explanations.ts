import { EXPLANATION_MIME, type ExplanationPayload, type FloeMimeBundle } from '@floe/schema';
import type { LayersModel, Tensor, Tensor3D } from '@tensorflow/tfjs-node';
import { openProjectStore, type ProjectStore } from '../store';
import { loadTf } from '../training/backend';
import type { PatchRecord } from '../training/data';
import { escapeHtml, showBundle } from '../training/display';
import { gradCam, saliency, type Heatmap } from '../training/explain';
import { encodePng, pngDataUrl } from '../training/png';
import type { ModelSignature } from '../training/train';
import { ModelRegistry } from './registry';

/**
 * Explanations of one prediction, for a registered model or a model in hand: saliency (input
 * gradients) or Grad-CAM, returned as arrays and as a display bundle that overlays the heatmap on the
 * SAR patch (Floe MIME payload + an HTML fallback with inline PNGs).
 */

export type ExplanationMethod = 'saliency' | 'gradcam';

export interface ExplainOptions {
  /** Store to resolve a registry reference in (default: the project store of the environment). */
  store?: ProjectStore;
  /** Grad-CAM target layer (default: the last Conv2D). */
  layer?: string;
  /** Incidence angle in degrees for the angle model when `patch` is a tensor (NaN/absent: the training mean). */
  angle?: number | null;
  /** Show the bundle in the current notebook cell (default: true inside tslab). */
  display?: boolean;
}

export interface Explanation {
  method: ExplanationMethod;
  model: string;
  /** Predicted probability of "iceberg". */
  probability: number;
  heatmap: Heatmap;
  /** The background channel as given (e.g. HH in dB), row-major. */
  background: Float32Array;
  bundle: FloeMimeBundle;
}

function signatureOf(model: LayersModel, fallback?: Record<string, unknown>): ModelSignature | null {
  const meta = model.getUserDefinedMetadata() as { floe?: ModelSignature } | undefined;
  return meta?.floe ?? ((fallback && 'channels' in fallback ? fallback : null) as ModelSignature | null);
}

/** Turns a Statoil-format record into the model's input (channels, standardisation), as training did. */
export function patchFromRecord(
  record: PatchRecord,
  signature: ModelSignature,
): { image: Tensor3D; background: Float32Array; backgroundName: string; angle: number | null } {
  const tf = loadTf();
  const pixels = record.band_1.length;
  const [h, w, c] = signature.inputShape;
  if (h * w !== pixels)
    throw new RangeError(`record ${record.id}: ${pixels} pixels per band, the model takes ${h}x${w}`);
  const values = new Float32Array(pixels * c);
  signature.channels.forEach((name, k) => {
    const mean = signature.preprocessing?.channelMean[k] ?? 0;
    const std = signature.preprocessing?.channelStd[k] ?? 1;
    for (let p = 0; p < pixels; p++) {
      let v: number;
      if (name === 'band_1') v = record.band_1[p]!;
      else if (name === 'band_2') v = record.band_2[p]!;
      else if (name === 'band_avg') v = (record.band_1[p]! + record.band_2[p]!) / 2;
      else
        throw new RangeError(`the model takes channel '${name}', which a Statoil record does not have; pass a tensor`);
      values[p * c + k] = (v - mean) / std;
    }
  });
  return {
    image: tf.tensor3d(values, [h, w, c]),
    background: Float32Array.from(record.band_1),
    backgroundName: 'band_1 (HH, dB)',
    angle: typeof record.inc_angle === 'number' ? record.inc_angle : null,
  };
}

/** 2nd–98th percentile stretch to 0..255 (SAR patches have a few very bright pixels). */
function stretch(values: Float32Array): Uint8Array {
  const finite = Array.from(values)
    .filter(Number.isFinite)
    .sort((a, b) => a - b);
  const lo = finite[Math.floor(finite.length * 0.02)] ?? 0;
  const hi = finite[Math.min(finite.length - 1, Math.floor(finite.length * 0.98))] ?? 1;
  const span = hi - lo || 1;
  return Uint8Array.from(values, (v) =>
    Number.isFinite(v) ? Math.max(0, Math.min(255, Math.round(((v - lo) / span) * 255))) : 0,
  );
}

/** A black–red–yellow–white ramp for heat in [0, 1]. */
function heatColor(t: number): [number, number, number] {
  const x = Math.max(0, Math.min(1, t));
  return [
    Math.round(255 * Math.min(1, x * 3)),
    Math.round(255 * Math.min(1, Math.max(0, x * 3 - 1))),
    Math.round(255 * Math.max(0, x * 3 - 2)),
  ];
}

const SCALE = 4;

function upscaledRgba(width: number, height: number, pixel: (i: number) => [number, number, number]): Uint8Array {
  const W = width * SCALE;
  const out = new Uint8Array(W * height * SCALE * 4);
  for (let y = 0; y < height * SCALE; y++) {
    for (let x = 0; x < W; x++) {
      const [r, g, b] = pixel(Math.floor(y / SCALE) * width + Math.floor(x / SCALE));
      const o = (y * W + x) * 4;
      out[o] = r;
      out[o + 1] = g;
      out[o + 2] = b;
      out[o + 3] = 255;
    }
  }
  return out;
}

/** The patch (grey, 2–98 % stretch) and the heatmap blended over it, each as RGBA upscaled ×4. */
function explanationRgba(payload: ExplanationPayload): { patch: Uint8Array; overlay: Uint8Array } {
  const { width, height } = payload;
  const gray = stretch(Float32Array.from(payload.background));
  const patch = upscaledRgba(width, height, (i) => [gray[i]!, gray[i]!, gray[i]!]);
  const overlay = upscaledRgba(width, height, (i) => {
    const heat = payload.heatmap[i]!;
    const alpha = 0.65 * heat;
    const [r, g, b] = heatColor(heat);
    const base = gray[i]!;
    return [
      Math.round(base * (1 - alpha) + r * alpha),
      Math.round(base * (1 - alpha) + g * alpha),
      Math.round(base * (1 - alpha) + b * alpha),
    ];
  });
  return { patch, overlay };
}

/**
 * One PNG with the patch on the left and the heatmap overlay on the right (a gap of 8 pixels between):
 * what `floe models explain --png` writes.
 */
export function explanationPng(payload: ExplanationPayload): Buffer {
  const { patch, overlay } = explanationRgba(payload);
  const w = payload.width * SCALE;
  const h = payload.height * SCALE;
  const gap = 8;
  const W = 2 * w + gap;
  const out = new Uint8Array(W * h * 4).fill(255);
  for (let y = 0; y < h; y++) {
    out.set(patch.subarray(y * w * 4, (y + 1) * w * 4), y * W * 4);
    out.set(overlay.subarray(y * w * 4, (y + 1) * w * 4), (y * W + w + gap) * 4);
  }
  return encodePng(W, h, out);
}

export function explanationBundle(payload: ExplanationPayload): FloeMimeBundle {
  const { width, height } = payload;
  const images = explanationRgba(payload);
  const patchPng = pngDataUrl(width * SCALE, height * SCALE, images.patch);
  const overlayPng = pngDataUrl(width * SCALE, height * SCALE, images.overlay);
  const title = `${payload.method === 'gradcam' ? 'Grad-CAM' : 'Saliency'} of ${payload.model}: p(iceberg) = ${payload.probability.toFixed(3)}`;
  const html =
    `<div class="floe-explanation" style="font-family:var(--jp-ui-font-family,sans-serif);font-size:12px">` +
    `<div>${escapeHtml(title)}</div><div style="display:flex;gap:8px">` +
    `<figure style="margin:0"><img src="${patchPng}" width="${width * SCALE}" height="${height * SCALE}" alt="patch"/><figcaption>${escapeHtml(payload.backgroundName)}</figcaption></figure>` +
    `<figure style="margin:0"><img src="${overlayPng}" width="${width * SCALE}" height="${height * SCALE}" alt="${escapeHtml(payload.method)} overlay"/><figcaption>${escapeHtml(payload.method)} overlay</figcaption></figure>` +
    `</div></div>`;
  let peak = 0;
  payload.heatmap.forEach((v, i) => {
    if (v > payload.heatmap[peak]!) peak = i;
  });
  const text = `${title}\nheatmap ${height}x${width}, peak at row ${Math.floor(peak / width)}, column ${peak % width}`;
  return { [EXPLANATION_MIME]: payload, 'text/html': html, 'text/plain': text };
}

/**
 * Explains the model's prediction for one patch. `model` is a LayersModel or a registry reference
 * (`'iceberg@production'`); `patch` is the model-space input [h, w, c] or a Statoil-format record
 * (prepared with the model's recorded channels and standardisation).
 */
export async function explain(
  model: LayersModel | string,
  patch: Tensor3D | PatchRecord,
  method: ExplanationMethod,
  opts: ExplainOptions = {},
): Promise<Explanation> {
  const tf = loadTf();
  if (method !== 'saliency' && method !== 'gradcam')
    throw new RangeError(`unknown explanation method '${String(method)}'; use 'saliency' or 'gradcam'`);
  let layersModel: LayersModel;
  let label: string;
  let ownModel = false;
  let registered: Record<string, unknown> | undefined;
  if (typeof model === 'string') {
    const store = opts.store ?? (await openProjectStore());
    try {
      const loaded = await new ModelRegistry(store).load(model);
      layersModel = loaded.model;
      registered = loaded.version.signature;
      label = `${loaded.version.name}:${loaded.version.version}`;
      ownModel = true;
    } finally {
      if (!opts.store) await store.close();
    }
  } else {
    layersModel = model;
    label = model.name;
  }
  const signature = signatureOf(layersModel, registered);
  const disposables: Tensor[] = [];
  try {
    let image: Tensor3D;
    let background: Float32Array;
    let backgroundName: string;
    let angle: number | null = opts.angle ?? null;
    if ('band_1' in (patch as object)) {
      if (!signature)
        throw new RangeError('explain: this model records no input signature; pass the patch as a tensor [h, w, c]');
      const prepared = patchFromRecord(patch as PatchRecord, signature);
      image = prepared.image;
      disposables.push(image);
      background = prepared.background;
      backgroundName = prepared.backgroundName;
      angle = opts.angle ?? prepared.angle;
    } else {
      image = patch as Tensor3D;
      const [h, w, c] = image.shape;
      background = tf
        .tidy(
          () =>
            image
              .slice([0, 0, 0], [h, w, 1])
              .reshape([h * w])
              .dataSync() as Float32Array,
        )
        .slice();
      backgroundName = signature?.channels[0] ?? 'channel 0';
      void c;
    }
    const extra: Tensor[] = [];
    if (layersModel.inputs.length > 1) {
      const norm = signature?.angleNormalization ?? { mean: 39.3, std: 3.4 };
      const a = angle === null || !Number.isFinite(angle) ? 0 : (angle - norm.mean) / norm.std;
      const t = tf.tensor2d([[a]]);
      extra.push(t);
      disposables.push(t);
    }
    const heatmap =
      method === 'saliency'
        ? saliency(layersModel, image, extra)
        : gradCam(layersModel, image, { ...(opts.layer ? { layer: opts.layer } : {}), extra });
    const probability = tf.tidy(() => {
      const x = image.expandDims(0);
      const out = layersModel.predict(extra.length ? [x, ...extra] : x) as Tensor;
      return out.dataSync()[0]!;
    });
    const payload: ExplanationPayload = {
      version_major: 1,
      version_minor: 0,
      method,
      model: label,
      probability,
      height: heatmap.height,
      width: heatmap.width,
      heatmap: Array.from(heatmap.values, (v) => Math.round(v * 1000) / 1000),
      background: Array.from(background),
      backgroundName,
    };
    const bundle = explanationBundle(payload);
    if (opts.display ?? true) showBundle(bundle);
    return { method, model: label, probability, heatmap, background, bundle };
  } finally {
    disposables.forEach((t) => t.dispose());
    if (ownModel) layersModel.dispose();
  }
}
