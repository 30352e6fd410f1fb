/**
 * SAR rendering, pure functions shared by the decoding worker and the view: value scales (amplitude,
 * intensity, dB), percentile stretches, colormaps and the RGBA tile painter.
 */

/**
 * How stored values relate to backscatter: amplitude digital numbers (dB = 20·log10 DN), intensity /
 * power (dB = 10·log10 I), already in dB, or shown linearly without conversion.
 */
export type ValueScale = 'amplitude' | 'intensity' | 'db' | 'linear';

export const VALUE_SCALES: readonly ValueScale[] = ['amplitude', 'intensity', 'db', 'linear'];

export const COLORMAPS = ['gray', 'viridis', 'magma', 'ice'] as const;
export type ColormapName = (typeof COLORMAPS)[number];

/** Display value of one stored value; NaN where it has none (nodata, NaN, zero or negative power). */
export function toDisplay(value: number, scale: ValueScale, nodata: number | null): number {
  if (Number.isNaN(value) || (nodata !== null && value === nodata)) return NaN;
  switch (scale) {
    case 'amplitude':
      return value > 0 ? 20 * Math.log10(value) : NaN;
    case 'intensity':
      return value > 0 ? 10 * Math.log10(value) : NaN;
    default:
      return Number.isFinite(value) ? value : NaN;
  }
}

/** The dB value of a stored value for the readout (NaN when there is none). */
export function toDb(value: number, scale: ValueScale, nodata: number | null): number {
  return toDisplay(value, scale === 'linear' ? 'intensity' : scale, nodata);
}

/**
 * Guesses the value scale: integers are amplitude digital numbers (Sentinel-1 GRD); floats with
 * negative values, or named/described as dB, are dB; other floats are linear intensity.
 */
export function guessValueScale(opts: { isFloat: boolean; minValue: number | null; hints: string }): {
  scale: ValueScale;
  reason: string;
} {
  if (!opts.isFloat) return { scale: 'amplitude', reason: 'integer samples: amplitude digital numbers' };
  if (/(^|[^a-z])d[bB]([^a-z]|$)|_db\b|decibel/i.test(opts.hints))
    return { scale: 'db', reason: 'named or described as dB' };
  if (opts.minValue !== null && opts.minValue < 0)
    return { scale: 'db', reason: 'float samples with negative values: dB' };
  return { scale: 'intensity', reason: 'non-negative float samples: linear intensity' };
}

export interface Stretch {
  /** Display values mapped to the bottom and top of the colormap. */
  low: number;
  high: number;
}

export interface ChannelStats extends Stretch {
  min: number;
  max: number;
  valid: number;
  total: number;
}

/** Percentile stretch (e.g. 2–98 %) of the finite values, with min/max and the valid count. */
export function percentileStats(values: Float32Array, lowPct = 2, highPct = 98): ChannelStats {
  const finite = new Float32Array(values.length);
  let n = 0;
  for (let i = 0; i < values.length; i++) {
    const v = values[i]!;
    if (Number.isFinite(v)) finite[n++] = v;
  }
  if (n === 0) return { low: NaN, high: NaN, min: NaN, max: NaN, valid: 0, total: values.length };
  const sorted = finite.subarray(0, n).sort();
  const at = (pct: number): number => sorted[Math.min(n - 1, Math.max(0, Math.round((pct / 100) * (n - 1))))]!;
  let low = at(lowPct);
  let high = at(highPct);
  if (!(high > low)) {
    // A flat image: widen so the single value lands mid-scale rather than dividing by zero.
    low -= 1;
    high += 1;
  }
  return { low, high, min: sorted[0]!, max: sorted[n - 1]!, valid: n, total: values.length };
}

// Key colours sampled from the matplotlib maps (viridis, magma) and a blue-white "ice" ramp.
const STOPS: Record<ColormapName, string[]> = {
  gray: ['#000000', '#ffffff'],
  viridis: [
    '#440154',
    '#482878',
    '#3e4989',
    '#31688e',
    '#26828e',
    '#1f9e89',
    '#35b779',
    '#6ece58',
    '#b5de2b',
    '#fde725',
  ],
  magma: ['#000004', '#1c1044', '#4f127b', '#812581', '#b5367a', '#e55964', '#fb8761', '#fec287', '#fcfdbf'],
  ice: ['#04051a', '#14306e', '#2f6db0', '#79b4dc', '#e8f4fb'],
};

const lutCache = new Map<ColormapName, Uint8Array>();

/** A 256-entry RGB lookup table, interpolated linearly between the map's key colours. */
export function colormapLut(name: ColormapName): Uint8Array {
  const cached = lutCache.get(name);
  if (cached) return cached;
  const stops = (STOPS[name] ?? STOPS.gray).map((hex) => [1, 3, 5].map((o) => parseInt(hex.slice(o, o + 2), 16)));
  const lut = new Uint8Array(256 * 3);
  for (let i = 0; i < 256; i++) {
    const t = (i / 255) * (stops.length - 1);
    const k = Math.min(stops.length - 2, Math.floor(t));
    const f = t - k;
    for (let c = 0; c < 3; c++) lut[i * 3 + c] = Math.round(stops[k]![c]! * (1 - f) + stops[k + 1]![c]! * f);
  }
  lutCache.set(name, lut);
  return lut;
}

/** What to paint: one band through a colormap, or a dual-pol composite (co-pol, cross-pol, ratio as RGB). */
export type RenderSpec =
  | {
      kind: 'single';
      band: number;
      scale: ValueScale;
      stretch: Stretch;
      colormap: ColormapName;
    }
  | {
      kind: 'composite';
      /** Band indices of the co-polarised (VV/HH) and cross-polarised (VH/HV) channels. */
      co: number;
      cross: number;
      scale: ValueScale;
      /** Stretches for R (co dB), G (cross dB) and B (co − cross dB, i.e. the co/cross ratio). */
      stretches: [Stretch, Stretch, Stretch];
    };

function level(v: number, s: Stretch): number {
  const t = (v - s.low) / (s.high - s.low);
  return t <= 0 ? 0 : t >= 1 ? 255 : Math.round(t * 255);
}

/** Where painted pixels go: a `width × height` block at (x0, y0) of an RGBA buffer `stride` pixels wide. */
export interface PaintTarget {
  out: Uint8ClampedArray;
  width: number;
  height: number;
  stride: number;
  x0: number;
  y0: number;
}

/** Integer sample arrays small enough for a lookup table over every possible value. */
type SmallInt = Uint8Array | Int8Array | Uint16Array | Int16Array;

function smallIntOffset(a: ArrayLike<number>): number | null {
  if (a instanceof Uint8Array || a instanceof Uint16Array) return 0;
  if (a instanceof Int8Array) return 128;
  if (a instanceof Int16Array) return 32768;
  return null;
}

const dbLutCache = new Map<string, Float32Array>();

/**
 * Display values (dB, or the value itself) of every value an 8/16-bit integer band can hold, indexed by
 * value + offset: one log10 per possible value instead of one per pixel. A few tables are kept.
 */
function displayLut(a: SmallInt, scale: ValueScale, nodata: number | null): { lut: Float32Array; offset: number } {
  const offset = smallIntOffset(a)!;
  const n = a instanceof Uint8Array || a instanceof Int8Array ? 256 : 65536;
  const key = `${n}:${offset}:${scale}:${nodata}`;
  let lut = dbLutCache.get(key);
  if (!lut) {
    lut = new Float32Array(n);
    for (let i = 0; i < n; i++) lut[i] = toDisplay(i - offset, scale, nodata);
    if (dbLutCache.size >= 8) dbLutCache.delete(dbLutCache.keys().next().value!);
    dbLutCache.set(key, lut);
  }
  return { lut, offset };
}

const levelLutCache = new WeakMap<Float32Array, { low: number; high: number; levels: Int16Array }>();

/** Colormap index (level × 3) of each display-table entry for a stretch, −1 where transparent. */
function levelLut(lut: Float32Array, stretch: Stretch): Int16Array {
  const cached = levelLutCache.get(lut);
  if (cached && cached.low === stretch.low && cached.high === stretch.high) return cached.levels;
  const levels = new Int16Array(lut.length);
  for (let i = 0; i < lut.length; i++) {
    const v = lut[i]!;
    levels[i] = Number.isNaN(v) ? -1 : level(v, stretch) * 3;
  }
  levelLutCache.set(lut, { low: stretch.low, high: stretch.high, levels });
  return levels;
}

/**
 * Paints decoded samples (one array per band, all `width × height`) into RGBA; pixels without a
 * display value (nodata, NaN, zero amplitude) stay transparent.
 */
export function paint(
  bands: ArrayLike<number>[],
  nodata: readonly (number | null)[],
  spec: RenderSpec,
  out: Uint8ClampedArray,
): void {
  const n = bands[spec.kind === 'single' ? spec.band : spec.co]!.length;
  paintInto(bands, nodata, spec, { out, width: n, height: 1, stride: n, x0: 0, y0: 0 });
}

/**
 * Paints into a block of a larger RGBA buffer (a tile whose edge the image does not fill), without an
 * intermediate copy. 8/16-bit integer bands (Sentinel-1 GRD amplitude) go through lookup tables.
 */
export function paintInto(
  bands: ArrayLike<number>[],
  nodata: readonly (number | null)[],
  spec: RenderSpec,
  target: PaintTarget,
): void {
  const { out, width, height, stride, x0, y0 } = target;
  if (spec.kind === 'single') {
    const src = bands[spec.band]!;
    const lut = colormapLut(spec.colormap);
    const nd = nodata[spec.band] ?? null;
    const { low, high } = spec.stretch;
    const k = 255 / (high - low);
    const small = smallIntOffset(src) !== null ? displayLut(src as SmallInt, spec.scale, nd) : null;
    const levels = small ? levelLut(small.lut, spec.stretch) : null;
    for (let y = 0; y < height; y++) {
      let o = ((y0 + y) * stride + x0) * 4;
      const row = y * width;
      for (let x = 0; x < width; x++, o += 4) {
        let l: number;
        if (levels) l = levels[src[row + x]! + small!.offset]!;
        else {
          const v = toDisplay(src[row + x]!, spec.scale, nd);
          if (Number.isNaN(v)) l = -1;
          else {
            const t = (v - low) * k;
            l = (t <= 0 ? 0 : t >= 255 ? 255 : Math.round(t)) * 3;
          }
        }
        if (l < 0) {
          out[o + 3] = 0;
          continue;
        }
        out[o] = lut[l]!;
        out[o + 1] = lut[l + 1]!;
        out[o + 2] = lut[l + 2]!;
        out[o + 3] = 255;
      }
    }
    return;
  }
  const co = bands[spec.co]!;
  const cross = bands[spec.cross]!;
  const [r, g, b] = spec.stretches;
  const ndCo = nodata[spec.co] ?? null;
  const ndCross = nodata[spec.cross] ?? null;
  const coLut = smallIntOffset(co) !== null ? displayLut(co as SmallInt, spec.scale, ndCo) : null;
  const crossLut = smallIntOffset(cross) !== null ? displayLut(cross as SmallInt, spec.scale, ndCross) : null;
  for (let y = 0; y < height; y++) {
    let o = ((y0 + y) * stride + x0) * 4;
    const row = y * width;
    for (let x = 0; x < width; x++, o += 4) {
      const i = row + x;
      const c = coLut ? coLut.lut[co[i]! + coLut.offset]! : toDisplay(co[i]!, spec.scale, ndCo);
      const d = crossLut ? crossLut.lut[cross[i]! + crossLut.offset]! : toDisplay(cross[i]!, spec.scale, ndCross);
      if (Number.isNaN(c) || Number.isNaN(d)) {
        out[o + 3] = 0;
        continue;
      }
      out[o] = level(c, r);
      out[o + 1] = level(d, g);
      out[o + 2] = level(c - d, b);
      out[o + 3] = 255;
    }
  }
}
