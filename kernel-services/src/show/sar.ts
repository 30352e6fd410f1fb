import { encodePng } from '../training/png';
import { escapeHtml, showBundle } from '../training/display';
import type { FloeMimeBundle } from '@floe/schema';
import { sarScene, type ShowSarSceneOptions } from './sar-scene';

/**
 * `floe.show.sar(patch)`: a static look at a SAR patch (e.g. a 75 × 75 Statoil/C-CORE iceberg patch,
 * HH and HV in dB) as a MIME bundle — a versioned `application/vnd.floe.sar+json` payload, a PNG grid
 * (each band in dB with a 2–98 % stretch, plus the dual-pol composite) and an HTML fallback.
 */

export const SAR_MIME = 'application/vnd.floe.sar+json';

/** Version of the `application/vnd.floe.sar+json` payload (a major bump breaks renderers). */
export const SAR_PAYLOAD_VERSION = { version_major: 1, version_minor: 0 } as const;

export interface SarBand {
  name: string;
  values: ArrayLike<number>;
}

export interface SarPatch {
  width: number;
  height: number;
  bands: SarBand[];
}

/** The Statoil/C-CORE record layout: band_1 (HH) and band_2 (HV), 75 × 75, row-major, in dB. */
export interface StatoilRecord {
  band_1: ArrayLike<number>;
  band_2: ArrayLike<number>;
}

export interface ShowSarOptions {
  /** How stored values relate to dB: already dB (default, as in the Statoil patches), amplitude DN or intensity. */
  scale?: 'db' | 'amplitude' | 'intensity';
  /** Screen pixels per patch pixel in the PNG (default 3: a 75 px patch becomes 225 px). */
  zoom?: number;
  title?: string;
  /** Also show the bundle in the current tslab cell (default true; no-op outside tslab). */
  display?: boolean;
}

export interface SarPayload {
  version_major: number;
  version_minor: number;
  title: string | null;
  width: number;
  height: number;
  bands: { name: string; low: number; high: number; min: number; max: number; valid: number }[];
  /** Panels in the PNG, left to right. */
  panels: string[];
}

function toDb(v: number, scale: NonNullable<ShowSarOptions['scale']>): number {
  if (!Number.isFinite(v)) return NaN;
  if (scale === 'amplitude') return v > 0 ? 20 * Math.log10(v) : NaN;
  if (scale === 'intensity') return v > 0 ? 10 * Math.log10(v) : NaN;
  return v;
}

function stretchOf(values: Float64Array): { low: number; high: number; min: number; max: number; valid: number } {
  const finite = Array.from(values)
    .filter(Number.isFinite)
    .sort((a, b) => a - b);
  if (finite.length === 0) return { low: NaN, high: NaN, min: NaN, max: NaN, valid: 0 };
  const at = (p: number): number => finite[Math.round((p / 100) * (finite.length - 1))]!;
  let low = at(2);
  let high = at(98);
  if (!(high > low)) {
    low -= 1;
    high += 1;
  }
  return { low, high, min: finite[0]!, max: finite[finite.length - 1]!, valid: finite.length };
}

function isStatoil(p: SarPatch | StatoilRecord): p is StatoilRecord {
  return 'band_1' in p && 'band_2' in p;
}

/** Normalises a Statoil record (75 × 75 HH/HV) or a patch, checking sizes. */
export function asPatch(input: SarPatch | StatoilRecord): SarPatch {
  const patch: SarPatch = isStatoil(input)
    ? {
        width: 75,
        height: 75,
        bands: [
          { name: 'HH', values: input.band_1 },
          { name: 'HV', values: input.band_2 },
        ],
      }
    : input;
  if (!(patch.width > 0 && patch.height > 0))
    throw new Error(`show.sar: width and height must be positive (got ${patch.width}×${patch.height})`);
  if (patch.bands.length === 0) throw new Error('show.sar: the patch has no bands');
  for (const band of patch.bands) {
    if (band.values.length !== patch.width * patch.height) {
      throw new Error(
        `show.sar: band ${band.name} has ${band.values.length} values, expected ${patch.width}×${patch.height} = ${patch.width * patch.height}`,
      );
    }
  }
  return patch;
}

/** The MIME bundle for a SAR patch: payload, PNG (bands in dB, then the composite) and HTML. */
export function sarPatchBundle(input: SarPatch | StatoilRecord, options: ShowSarOptions = {}): FloeMimeBundle {
  const patch = asPatch(input);
  const scale = options.scale ?? 'db';
  const zoom = Math.max(1, Math.round(options.zoom ?? 3));
  const { width: w, height: h } = patch;
  const db = patch.bands.map((b) => Float64Array.from(b.values, (v) => toDb(v, scale)));
  const stats = db.map(stretchOf);
  const level = (v: number, s: { low: number; high: number }): number =>
    Math.max(0, Math.min(255, Math.round(((v - s.low) / (s.high - s.low)) * 255)));
  // Panels: each band in grey, then (with two bands) co, cross and co − cross (the ratio) as RGB.
  type Panel = { name: string; pixel: (i: number) => [number, number, number, number] };
  const panels: Panel[] = db.map((values, b) => ({
    name: `${patch.bands[b]!.name} (dB)`,
    pixel: (i) => {
      const v = values[i]!;
      if (!Number.isFinite(v)) return [0, 0, 0, 0];
      const g = level(v, stats[b]!);
      return [g, g, g, 255];
    },
  }));
  if (db.length >= 2) {
    const ratio = db[0]!.map((v, i) => v - db[1]![i]!);
    const rs = stretchOf(ratio);
    const [n0, n1] = [patch.bands[0]!.name, patch.bands[1]!.name];
    panels.push({
      name: `R ${n0}, G ${n1}, B ${n0}/${n1}`,
      pixel: (i) => {
        const a = db[0]![i]!;
        const c = db[1]![i]!;
        if (!Number.isFinite(a) || !Number.isFinite(c)) return [0, 0, 0, 0];
        return [level(a, stats[0]!), level(c, stats[1]!), level(a - c, rs), 255];
      },
    });
  }
  const gap = 4;
  const pw = w * zoom;
  const ph = h * zoom;
  const W = panels.length * pw + (panels.length - 1) * gap;
  const rgba = new Uint8Array(W * ph * 4);
  panels.forEach((panel, p) => {
    for (let y = 0; y < ph; y++) {
      for (let x = 0; x < pw; x++) {
        const px = panel.pixel(Math.floor(y / zoom) * w + Math.floor(x / zoom));
        rgba.set(px, (y * W + p * (pw + gap) + x) * 4);
      }
    }
  });
  const png = encodePng(W, ph, rgba).toString('base64');
  const payload: SarPayload = {
    ...SAR_PAYLOAD_VERSION,
    title: options.title ?? null,
    width: w,
    height: h,
    bands: patch.bands.map((b, i) => ({ name: b.name, ...stats[i]! })),
    panels: panels.map((p) => p.name),
  };
  const fmt = (v: number): string => (Number.isFinite(v) ? v.toFixed(1) : '–');
  const caption = payload.bands
    .map((b) => `${b.name}: ${fmt(b.min)}…${fmt(b.max)} dB, stretch ${fmt(b.low)}…${fmt(b.high)}`)
    .join('; ');
  const title = options.title ? `${options.title}: ` : '';
  return {
    [SAR_MIME]: payload,
    'image/png': png,
    'text/html':
      `<figure class="floe-sar"><img alt="${escapeHtml(`${title}${payload.panels.join(' | ')}`)}" src="data:image/png;base64,${png}" style="image-rendering: pixelated"/>` +
      `<figcaption>${escapeHtml(`${title}${w}×${h} px; ${payload.panels.join(' | ')}; ${caption}`)}</figcaption></figure>`,
    'text/plain': `SAR patch ${title}${w}×${h}, bands ${patch.bands.map((b) => b.name).join(', ')}; ${caption}`,
  };
}

/**
 * Shows a SAR patch in the notebook (tslab) and returns its bundle; given a GeoTIFF path, shows the
 * whole scene with vector overlays instead (`sar-scene.ts`, asynchronous: it reads the file).
 */
export function sar(input: string, options?: ShowSarSceneOptions): Promise<FloeMimeBundle>;
export function sar(input: SarPatch | StatoilRecord, options?: ShowSarOptions): FloeMimeBundle;
export function sar(
  input: SarPatch | StatoilRecord | string,
  options: ShowSarOptions | ShowSarSceneOptions = {},
): FloeMimeBundle | Promise<FloeMimeBundle> {
  if (typeof input === 'string') return sarScene(input, options as ShowSarSceneOptions);
  const bundle = sarPatchBundle(input, options as ShowSarOptions);
  if (options.display ?? true) showBundle(bundle);
  return bundle;
}
