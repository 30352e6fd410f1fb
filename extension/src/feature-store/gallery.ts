import type { GalleryPatch, PatchBand, PatchPageResponse } from '@floe/schema';
import { el } from '../experiments/dom';

/** What the gallery shows of a patch: one polarisation in grey, or both as a false-colour composite. */
export type GalleryMode = 'hh' | 'hv' | 'composite';

export const GALLERY_MODES: { mode: GalleryMode; label: string; caption: string }[] = [
  { mode: 'hh', label: 'HH', caption: 'HH backscatter in dB, grey' },
  { mode: 'hv', label: 'HV', caption: 'HV backscatter in dB, grey' },
  { mode: 'composite', label: 'Composite', caption: 'red HH, green HV, blue HH − HV (dB)' },
];

/** Percentiles of the dB stretch: the darkest and brightest 2% of a page's pixels saturate. */
const STRETCH_PERCENTILES: [number, number] = [0.02, 0.98];

/** Decodes a band sent as base64 of little-endian float32 values. */
export function decodeBand(base64: string): Float32Array {
  const text = atob(base64);
  const bytes = new Uint8Array(text.length);
  for (let i = 0; i < text.length; i++) bytes[i] = text.charCodeAt(i);
  const view = new DataView(bytes.buffer);
  const out = new Float32Array(bytes.length / 4);
  for (let i = 0; i < out.length; i++) out[i] = view.getFloat32(i * 4, true);
  return out;
}

/** Which bands are HH and HV: named so in the name or description, else the first and the second band. */
export function polarisations(bands: readonly PatchBand[]): { hh: string; hv: string | null } {
  const find = (pol: string): string | undefined =>
    bands.find((b) => new RegExp(`(^|[^A-Za-z])${pol}([^A-Za-z]|$)`, 'i').test(`${b.name} ${b.description}`))?.name;
  const hh = find('HH') ?? bands[0]!.name;
  const hv = find('HV') ?? bands.find((b) => b.name !== hh)?.name ?? null;
  return { hh, hv: hv === hh ? null : hv };
}

/**
 * Values in dB: bands whose unit says dB, or with negative values (linear backscatter is never
 * negative), as they are; linear backscatter as 10·log10 (zero → NaN, drawn black).
 */
export function inDecibels(values: Float32Array, unit: string): Float32Array {
  if (/db/i.test(unit) || values.some((v) => v < 0)) return values;
  return values.map((v) => (v > 0 ? 10 * Math.log10(v) : NaN));
}

export interface Stretch {
  lo: number;
  hi: number;
}

/** A percentile stretch shared by every patch of the page (so brightness compares across patches). */
export function percentileStretch(arrays: readonly Float32Array[]): Stretch {
  const total = arrays.reduce((n, a) => n + a.length, 0);
  // A sample of at most ~50k values is plenty for 2% / 98% percentiles.
  const step = Math.max(1, Math.floor(total / 50_000));
  const sample: number[] = [];
  let k = 0;
  for (const a of arrays)
    for (let i = 0; i < a.length; i++, k++) if (k % step === 0 && Number.isFinite(a[i]!)) sample.push(a[i]!);
  if (!sample.length) return { lo: 0, hi: 1 };
  sample.sort((x, y) => x - y);
  const at = (q: number): number => sample[Math.min(sample.length - 1, Math.floor(q * (sample.length - 1)))]!;
  const lo = at(STRETCH_PERCENTILES[0]);
  const hi = at(STRETCH_PERCENTILES[1]);
  return hi > lo ? { lo, hi } : { lo: lo - 0.5, hi: lo + 0.5 };
}

/** A decoded page: per patch its bands in dB, and the stretches of HH, HV and HH − HV over the page. */
export interface DecodedPage {
  page: PatchPageResponse;
  hh: string;
  hv: string | null;
  patches: { patch: GalleryPatch; hh: Float32Array; hv: Float32Array | null; ratio: Float32Array | null }[];
  stretch: { hh: Stretch; hv: Stretch | null; ratio: Stretch | null };
}

export function decodePage(page: PatchPageResponse): DecodedPage {
  const { hh, hv } = polarisations(page.bands);
  const unit = (name: string): string => page.bands.find((b) => b.name === name)?.unit ?? '';
  const patches = page.patches.map((patch) => {
    const h = inDecibels(decodeBand(patch.bands[hh] ?? ''), unit(hh));
    const v = hv && patch.bands[hv] ? inDecibels(decodeBand(patch.bands[hv]), unit(hv)) : null;
    return { patch, hh: h, hv: v, ratio: v ? h.map((x, i) => x - v[i]!) : null };
  });
  const stretchOf = (pick: (p: (typeof patches)[number]) => Float32Array | null): Stretch | null => {
    const arrays = patches.map(pick).filter((a): a is Float32Array => a !== null);
    return arrays.length ? percentileStretch(arrays) : null;
  };
  return {
    page,
    hh,
    hv,
    patches,
    stretch: { hh: stretchOf((p) => p.hh)!, hv: stretchOf((p) => p.hv), ratio: stretchOf((p) => p.ratio) },
  };
}

function byte(v: number, s: Stretch): number {
  if (!Number.isFinite(v)) return 0;
  const t = (v - s.lo) / (s.hi - s.lo);
  return t <= 0 ? 0 : t >= 1 ? 255 : Math.round(t * 255);
}

/** Paints one patch on a canvas of the patch's own size (CSS scales it, pixelated). */
export function paintPatch(canvas: HTMLCanvasElement, decoded: DecodedPage, index: number, mode: GalleryMode): void {
  const { width, height } = decoded.page;
  const p = decoded.patches[index]!;
  canvas.width = width;
  canvas.height = height;
  const ctx = canvas.getContext('2d');
  if (!ctx) return;
  const image = ctx.createImageData(width, height);
  const px = image.data;
  const { stretch } = decoded;
  const composite = mode === 'composite' && p.hv && p.ratio && stretch.hv && stretch.ratio;
  const grey = mode === 'hv' && p.hv && stretch.hv ? { values: p.hv, s: stretch.hv } : { values: p.hh, s: stretch.hh };
  for (let i = 0, o = 0; i < width * height; i++, o += 4) {
    if (composite) {
      px[o] = byte(p.hh[i]!, stretch.hh);
      px[o + 1] = byte(p.hv![i]!, stretch.hv!);
      px[o + 2] = byte(p.ratio![i]!, stretch.ratio!);
    } else {
      px[o] = px[o + 1] = px[o + 2] = byte(grey.values[i]!, grey.s);
    }
    px[o + 3] = 255;
  }
  ctx.putImageData(image, 0, 0);
}

/** The text under a patch: its label (ship / iceberg for `is_iceberg`) and the prediction, if any. */
export function labelText(labelFeature: string | null, value: GalleryPatch['label']): string {
  if (labelFeature === null) return 'no label';
  if (value === null) return `${labelFeature}: —`;
  if (labelFeature === 'is_iceberg' && (value === 0 || value === 1)) return value === 1 ? 'iceberg' : 'ship';
  return `${labelFeature}: ${typeof value === 'number' && !Number.isInteger(value) ? value.toPrecision(4) : String(value)}`;
}

/** A tile of the gallery: the canvas, the label, and the prediction marked when it disagrees with the label. */
export function patchTile(decoded: DecodedPage, index: number, mode: GalleryMode): HTMLElement {
  const { patch } = decoded.patches[index]!;
  const figure = el('figure', 'floe-Gallery-tile');
  figure.dataset.floeRow = String(patch.row);
  figure.tabIndex = 0;
  figure.title = `row ${patch.row}: ${patch.id}`;
  const canvas = el('canvas', 'floe-Gallery-canvas');
  canvas.setAttribute('role', 'img');
  canvas.setAttribute('aria-label', `patch ${patch.id}`);
  paintPatch(canvas, decoded, index, mode);
  const caption = el('figcaption', 'floe-Gallery-caption');
  caption.append(el('span', 'floe-Gallery-label', labelText(decoded.page.label, patch.label)));
  if (patch.prediction !== null) {
    const predicted = el('span', 'floe-Gallery-prediction', `p=${patch.prediction.toFixed(2)}`);
    const truth = typeof patch.label === 'number' ? patch.label : null;
    if (truth === 0 || truth === 1) {
      const wrong = patch.prediction >= 0.5 !== (truth === 1);
      predicted.classList.toggle('floe-mod-wrong', wrong);
      predicted.title = wrong ? 'the prediction disagrees with the label' : 'the prediction agrees with the label';
    }
    caption.append(predicted);
  }
  caption.append(el('span', 'floe-Gallery-id', patch.id));
  figure.append(canvas, caption);
  return figure;
}
