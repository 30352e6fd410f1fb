import * as fs from 'node:fs';
import { once } from 'node:events';
import type { Writable } from 'node:stream';
import type { StatoilRecord } from './statoil';

/**
 * Seeded generator of Statoil/C-CORE-format SAR patches (ships and icebergs on sea clutter).
 * The model and its assumptions are documented in docs/synthetic-data.md; the constants below are
 * the ones named there. Record i depends only on (seed, i, options), so any slice of a dataset can be
 * regenerated on its own.
 */

export interface SyntheticOptions {
  seed: number;
  /** Number of records (default 1604, the size of the real train.json). */
  count?: number;
  /** Index of the first record (for regenerating a slice). */
  start?: number;
  /** Test-set format: no `is_iceberg` field. */
  test?: boolean;
  /** Probability that a record is an iceberg (real train.json: 753/1604 = 0.47). */
  icebergFraction?: number;
  /** Probability of `"na"` for each class (real train.json: 133 missing angles, all ships). */
  missingAngleRate?: { ship: number; iceberg: number };
  /**
   * 0 = textbook ships and icebergs (nearly separable), 1 = many targets that borrow most of their
   * look from the other class. The default is tuned so a LeNet-style CNN lands in the 80–90% band.
   */
  difficulty?: number;
  /** Equivalent number of looks of the speckle (integer 1..16). */
  looks?: number;
  /** Patch side in pixels (75 in the challenge data). */
  size?: number;
}

export const SYNTHETIC_DEFAULTS = {
  count: 1604,
  start: 0,
  icebergFraction: 0.47,
  missingAngleRate: { ship: 0.156, iceberg: 0 },
  difficulty: 0.5,
  looks: 4,
  size: 75,
} as const;

/** Model constants (dB unless said otherwise); see docs/synthetic-data.md. */
export const SAR_MODEL = {
  incidence: { mean: 39.3, std: 3.4, min: 30, max: 46 },
  /** HH sea backscatter at 30° and its fall per degree, plus a per-scene wind offset. */
  seaHH: { at30: -15.5, slopePerDeg: -0.42, windStd: 2 },
  /** Cross-pol sea clutter below HH. */
  seaHVBelowHH: { min: 8, max: 12 },
  /** Thermal noise floor added (in intensity) to HV. */
  noiseFloorHV: { mean: -28, std: 1 },
  swellAmplitude: { min: 0, max: 1.5 },
  /** First null of the point-spread function in pixels (EW GRDM: ~90 m resolution on 40 m pixels). */
  psfWidthPx: [1.4, 2.0],
  ship: {
    lengthPx: [3, 10],
    aspect: [3, 6],
    contrastHH: [18, 30],
    pointFraction: [0.7, 0.95],
    hvBelowHH: [2, 7],
    textureStd: [0.3, 0.8],
    shadow: [0, 0.1],
  },
  iceberg: {
    lengthPx: [4, 13],
    aspect: [1, 1.8],
    contrastHH: [5, 13],
    pointFraction: [0, 0.15],
    hvBelowHH: [7, 12],
    textureStd: [0.5, 1.5],
    shadow: [0.3, 0.7],
  },
} as const;

type Range = readonly [number, number];

/** xoshiro128** seeded through splitmix32: 32-bit integer arithmetic only, identical on every engine. */
export class Xoshiro128 {
  private a: number;
  private b: number;
  private c: number;
  private d: number;

  constructor(...seedWords: number[]) {
    let s = 0x9e3779b9;
    for (const w of seedWords) s = splitmix32(s ^ (w >>> 0)) ^ Math.imul(s, 0x85ebca6b);
    this.a = splitmix32((s += 0x9e3779b9));
    this.b = splitmix32((s += 0x9e3779b9));
    this.c = splitmix32((s += 0x9e3779b9));
    this.d = splitmix32((s += 0x9e3779b9));
    if ((this.a | this.b | this.c | this.d) === 0) this.a = 1;
  }

  /** Next 32-bit unsigned integer. */
  nextU32(): number {
    const result = Math.imul(rotl(Math.imul(this.b, 5), 7), 9);
    const t = this.b << 9;
    this.c ^= this.a;
    this.d ^= this.b;
    this.b ^= this.c;
    this.a ^= this.d;
    this.c ^= t;
    this.d = rotl(this.d, 11);
    return result >>> 0;
  }

  /** Fills `out` with uniform 16-bit integers (both halves of each 32-bit output). */
  fillU16(out: Uint16Array): void {
    let { a, b, c, d } = this;
    const n = out.length;
    for (let i = 0; i < n; i += 2) {
      const r = Math.imul(rotl(Math.imul(b, 5), 7), 9);
      const t = b << 9;
      c ^= a;
      d ^= b;
      b ^= c;
      a ^= d;
      c ^= t;
      d = (d << 11) | (d >>> 21);
      out[i] = r >>> 16;
      if (i + 1 < n) out[i + 1] = r & 0xffff;
    }
    this.a = a;
    this.b = b;
    this.c = c;
    this.d = d;
  }

  /** Uniform in [0, 1). */
  next(): number {
    return this.nextU32() / 4294967296;
  }

  uniform(lo: number, hi: number): number {
    return lo + (hi - lo) * this.next();
  }

  range(r: Range): number {
    return this.uniform(r[0], r[1]);
  }

  /** Standard normal (Box–Muller; one value per call keeps the stream position simple). */
  normal(): number {
    const u = 1 - this.next();
    return Math.sqrt(-2 * Math.log(u)) * Math.cos(2 * Math.PI * this.next());
  }
}

function rotl(x: number, k: number): number {
  return (x << k) | (x >>> (32 - k));
}

function splitmix32(x: number): number {
  x = (x + 0x9e3779b9) | 0;
  x = Math.imul(x ^ (x >>> 16), 0x85ebca6b);
  x = Math.imul(x ^ (x >>> 13), 0xc2b2ae35);
  return (x ^ (x >>> 16)) >>> 0;
}

/** murmur3's finaliser: a bijection on 32-bit integers, so ids of distinct indices never collide. */
function fmix32(x: number): number {
  x ^= x >>> 16;
  x = Math.imul(x, 0x85ebca6b);
  x ^= x >>> 13;
  x = Math.imul(x, 0xc2b2ae35);
  x ^= x >>> 16;
  return x >>> 0;
}

const QUANTILES = 1 << 16;
const speckleTables = new Map<number, { db: Float32Array; lin: Float32Array; meanDb: number }>();

/**
 * Inverse-CDF tables of multi-look intensity speckle G ~ Gamma(L, 1/L) (mean 1): 65,536 quantiles,
 * in dB and linear. One table lookup per pixel instead of a gamma sample and a log.
 */
export function speckleTable(looks: number): { db: Float32Array; lin: Float32Array; meanDb: number } {
  const cached = speckleTables.get(looks);
  if (cached) return cached;
  if (!Number.isInteger(looks) || looks < 1 || looks > 16)
    throw new Error(`looks must be an integer 1..16, got ${looks}`);
  const cdf = (x: number): number => {
    // Regularised lower incomplete gamma P(L, L x) for integer L.
    const lx = looks * x;
    let term = 1;
    let sum = 1;
    for (let k = 1; k < looks; k++) {
      term *= lx / k;
      sum += term;
    }
    return 1 - Math.exp(-lx) * sum;
  };
  // Tabulate the CDF on a fine log(x) grid once, then invert it in one monotone sweep.
  const GRID = 1 << 18;
  const lo = -25;
  const hi = 4;
  const step = (hi - lo) / GRID;
  const db = new Float32Array(QUANTILES);
  const lin = new Float32Array(QUANTILES);
  let meanDb = 0;
  let g = 0;
  let cPrev = cdf(Math.exp(lo));
  let cNext = cdf(Math.exp(lo + step));
  for (let i = 0; i < QUANTILES; i++) {
    const p = (i + 0.5) / QUANTILES;
    while (cNext < p && g < GRID - 1) {
      g++;
      cPrev = cNext;
      cNext = cdf(Math.exp(lo + (g + 1) * step));
    }
    const f = cNext > cPrev ? Math.min(1, Math.max(0, (p - cPrev) / (cNext - cPrev))) : 0;
    const logx = lo + (g + f) * step;
    lin[i] = Math.exp(logx);
    db[i] = (10 / Math.LN10) * logx;
    meanDb += db[i]!;
  }
  const table = { db, lin, meanDb: meanDb / QUANTILES };
  speckleTables.set(looks, table);
  return table;
}

/** The hidden parameters of one generated patch (returned for tests and documentation). */
export interface SyntheticTruth {
  isIceberg: boolean;
  incidenceDeg: number;
  angleMissing: boolean;
  /** 0 = fully own class look, 1 = fully the other class's look. */
  mimicry: number;
  seaHHdB: number;
  target: TargetParams;
}

interface TargetParams {
  cx: number;
  cy: number;
  lengthPx: number;
  aspect: number;
  orientation: number;
  contrastHH: number;
  pointFraction: number;
  hvBelowHH: number;
  textureStd: number;
  shadow: number;
}

type ClassPrior = (typeof SAR_MODEL)['ship'];

function drawTarget(
  rng: Xoshiro128,
  prior: ClassPrior | (typeof SAR_MODEL)['iceberg'],
): Omit<TargetParams, 'cx' | 'cy' | 'orientation'> {
  return {
    lengthPx: rng.range(prior.lengthPx),
    aspect: rng.range(prior.aspect),
    contrastHH: rng.range(prior.contrastHH),
    pointFraction: rng.range(prior.pointFraction),
    hvBelowHH: rng.range(prior.hvBelowHH),
    textureStd: rng.range(prior.textureStd),
    shadow: rng.range(prior.shadow),
  };
}

/** Generates patches; holds scratch buffers, so one instance per thread of work. */
export class SyntheticSarGenerator {
  readonly options: Required<Omit<SyntheticOptions, 'missingAngleRate'>> & {
    missingAngleRate: { ship: number; iceberg: number };
  };
  /** @internal */
  readonly speckle: { db: Float32Array; lin: Float32Array; meanDb: number };
  private readonly seedHash: number;
  // Scratch (size x size): target intensities relative to the sea, and the shadow attenuation.
  /** @internal */
  readonly blob: Float32Array;
  /** @internal */
  readonly points: Float32Array;
  /** @internal */
  readonly shade: Float32Array;
  private readonly quantiles: Uint16Array;
  /** @internal */
  readonly cosX: Float64Array;
  /** @internal */
  readonly sinX: Float64Array;
  /** @internal */
  readonly cosY: Float64Array;
  /** @internal */
  readonly sinY: Float64Array;

  constructor(options: SyntheticOptions) {
    const o = { ...SYNTHETIC_DEFAULTS, test: false, ...options };
    if (!Number.isSafeInteger(o.seed)) throw new Error(`seed must be an integer, got ${o.seed}`);
    if (!Number.isInteger(o.count) || o.count < 0)
      throw new Error(`count must be a non-negative integer, got ${o.count}`);
    if (!Number.isInteger(o.start) || o.start < 0)
      throw new Error(`start must be a non-negative integer, got ${o.start}`);
    if (!(o.icebergFraction >= 0 && o.icebergFraction <= 1))
      throw new Error(`icebergFraction must be in [0, 1], got ${o.icebergFraction}`);
    if (!(o.difficulty >= 0 && o.difficulty <= 1)) throw new Error(`difficulty must be in [0, 1], got ${o.difficulty}`);
    for (const k of ['ship', 'iceberg'] as const) {
      const r = o.missingAngleRate[k];
      if (!(r >= 0 && r <= 1)) throw new Error(`missingAngleRate.${k} must be in [0, 1], got ${r}`);
    }
    if (!Number.isInteger(o.size) || o.size < 16 || o.size > 1024)
      throw new Error(`size must be an integer 16..1024, got ${o.size}`);
    this.options = o;
    this.speckle = speckleTable(o.looks);
    this.seedHash = fmix32((o.seed % 4294967296) ^ fmix32(Math.floor(o.seed / 4294967296)));
    const n = o.size * o.size;
    this.blob = new Float32Array(n);
    this.points = new Float32Array(n);
    this.shade = new Float32Array(n);
    this.quantiles = new Uint16Array(2 * n);
    this.cosX = new Float64Array(o.size);
    this.sinX = new Float64Array(o.size);
    this.cosY = new Float64Array(o.size);
    this.sinY = new Float64Array(o.size);
  }

  /** The record with absolute index `index` (its content depends only on seed, index and options). */
  record(index: number): StatoilRecord {
    return this.recordWithTruth(index).record;
  }

  recordWithTruth(index: number): { record: StatoilRecord; truth: SyntheticTruth } {
    const o = this.options;
    const size = o.size;
    const rng = new Xoshiro128(o.seed, Math.floor(o.seed / 4294967296), index, Math.floor(index / 4294967296));
    const isIceberg = rng.next() < o.icebergFraction;
    const m = SAR_MODEL;
    const inc = Math.min(m.incidence.max, Math.max(m.incidence.min, m.incidence.mean + m.incidence.std * rng.normal()));
    const incidenceDeg = Math.round(inc * 1e4) / 1e4;
    const angleMissing = rng.next() < (isIceberg ? o.missingAngleRate.iceberg : o.missingAngleRate.ship);

    // Sea clutter: mean HH falls with incidence angle; HV = cross-pol clutter + thermal noise floor.
    const seaHHdB = m.seaHH.at30 + m.seaHH.slopePerDeg * (incidenceDeg - 30) + m.seaHH.windStd * rng.normal();
    const seaHH = 10 ** (seaHHdB / 10);
    const seaHVcross = seaHH * 10 ** (-rng.range([m.seaHVBelowHH.min, m.seaHVBelowHH.max]) / 10);
    const noiseHV = 10 ** ((m.noiseFloorHV.mean + m.noiseFloorHV.std * rng.normal()) / 10);
    const seaHV = seaHVcross + noiseHV;
    const seaHVdB = 10 * Math.log10(seaHV);
    // Swell modulates the clutter (not the noise floor): first-order share of it in HV.
    const swellHVShare = seaHVcross / seaHV;
    const swellAmp = rng.range([m.swellAmplitude.min, m.swellAmplitude.max]);
    const wavelength = rng.uniform(8, 25);
    const dir = rng.uniform(0, Math.PI);
    const phase = rng.uniform(0, 2 * Math.PI);
    const kx = ((2 * Math.PI) / wavelength) * Math.cos(dir);
    const ky = ((2 * Math.PI) / wavelength) * Math.sin(dir);
    for (let i = 0; i < size; i++) {
      this.cosX[i] = Math.cos(kx * i + phase);
      this.sinX[i] = Math.sin(kx * i + phase);
      this.cosY[i] = Math.cos(ky * i);
      this.sinY[i] = Math.sin(ky * i);
    }

    // Target: own-class parameters, pulled towards a draw from the other class by `mimicry`.
    const own = drawTarget(rng, isIceberg ? m.iceberg : m.ship);
    const other = drawTarget(rng, isIceberg ? m.ship : m.iceberg);
    const mimicry = o.difficulty * rng.next() ** 0.7;
    const mix = (k: keyof typeof own): number => own[k] * (1 - mimicry) + other[k] * mimicry;
    const target: TargetParams = {
      cx: (size - 1) / 2 + 3 * rng.normal(),
      cy: (size - 1) / 2 + 3 * rng.normal(),
      orientation: rng.uniform(0, Math.PI),
      lengthPx: mix('lengthPx'),
      aspect: mix('aspect'),
      contrastHH: mix('contrastHH'),
      pointFraction: mix('pointFraction'),
      hvBelowHH: mix('hvBelowHH'),
      textureStd: mix('textureStd'),
      shadow: mix('shadow'),
    };
    const box = this.renderTarget(rng, target);

    const band1 = new Float32Array(size * size);
    const band2 = new Float32Array(size * size);
    const hvFactor = 10 ** (-target.hvBelowHH / 10);
    const quantiles = this.quantiles;
    rng.fillU16(quantiles);
    composeBands(this, box, quantiles, band1, band2, [
      seaHHdB,
      seaHH,
      seaHVcross,
      noiseHV,
      seaHVdB,
      swellHVShare,
      swellAmp,
      hvFactor,
    ]);
    const hexId = fmix32((index + this.seedHash) >>> 0)
      .toString(16)
      .padStart(8, '0');
    const record: StatoilRecord = {
      id: hexId,
      band_1: band1,
      band_2: band2,
      inc_angle: angleMissing ? null : incidenceDeg,
    };
    if (!o.test) record.is_iceberg = isIceberg ? 1 : 0;
    return { record, truth: { isIceberg, incidenceDeg, angleMissing, mimicry, seaHHdB, target } };
  }

  /**
   * Renders the target into the scratch arrays (intensities in units of the sea's HH mean) and
   * returns the box outside which they are zero (shade: 1).
   */
  private renderTarget(rng: Xoshiro128, t: TargetParams): { x0: number; x1: number; y0: number; y1: number } {
    const size = this.options.size;
    const R = 9; // half-width of the point-spread function window: sidelobes fade within it
    const half = Math.ceil(t.lengthPx / 2 + 4);
    const x0 = Math.max(0, Math.floor(t.cx - half - R));
    const x1 = Math.min(size, Math.ceil(t.cx + half + R + 4));
    const y0 = Math.max(0, Math.floor(t.cy - half - R));
    const y1 = Math.min(size, Math.ceil(t.cy + half + R));
    for (let y = y0; y < y1; y++) {
      const row = y * size;
      this.blob.fill(0, row + x0, row + x1);
      this.points.fill(0, row + x0, row + x1);
      this.shade.fill(1, row + x0, row + x1);
    }
    const peak = 10 ** (t.contrastHH / 10);
    const blobPeak = peak * (1 - t.pointFraction);
    const pointsPeak = peak * t.pointFraction;
    const a = t.lengthPx / 2; // semi-major axis
    const b = Math.max(0.5, a / t.aspect);
    const cosO = Math.cos(t.orientation);
    const sinO = Math.sin(t.orientation);
    // Irregular outline: low harmonics of the radius; shadow cast towards far range (+x).
    const harm = [2, 3, 4].map((k) => ({ k, c: rng.uniform(0, 0.15), ph: rng.uniform(0, 2 * Math.PI) }));
    // cos(kψ + φ) = cos kψ·cos φ − sin kψ·sin φ, with cos kψ / sin kψ from cos ψ, sin ψ (no atan2, no cos per pixel).
    const [h2, h3, h4] = harm as [(typeof harm)[0], (typeof harm)[0], (typeof harm)[0]];
    const c2 = h2.c * Math.cos(h2.ph);
    const s2 = h2.c * Math.sin(h2.ph);
    const c3 = h3.c * Math.cos(h3.ph);
    const s3 = h3.c * Math.sin(h3.ph);
    const c4 = h4.c * Math.cos(h4.ph);
    const s4 = h4.c * Math.sin(h4.ph);
    const shadowShift = 1 + 2 * t.shadow;
    const outline = (dx: number, dy: number): number => {
      const u = dx * cosO + dy * sinO;
      const v = -dx * sinO + dy * cosO;
      const ua = u / a;
      const vb = v / b;
      const rhoPlain = Math.sqrt(ua * ua + vb * vb);
      // The harmonics change the radius by at most 45%: far outside (weight < 0.2%), skip the exact outline.
      if (rhoPlain > 1.45 * 2.0) return 0;
      const len = Math.sqrt(u * u + v * v);
      const c = len > 0 ? u / len : 1;
      const s = len > 0 ? v / len : 0;
      const cos2 = 2 * c * c - 1;
      const sin2 = 2 * s * c;
      const cos3 = c * (4 * c * c - 3);
      const sin3 = s * (3 - 4 * s * s);
      const cos4 = 2 * cos2 * cos2 - 1;
      const sin4 = 2 * sin2 * cos2;
      const r = 1 + c2 * cos2 - s2 * sin2 + c3 * cos3 - s3 * sin3 + c4 * cos4 - s4 * sin4;
      const rho = rhoPlain / r;
      return 1 / (1 + Math.exp((rho - 1) / 0.15));
    };
    for (let y = y0; y < y1; y++) {
      for (let x = x0; x < x1; x++) {
        const i = y * size + x;
        const inside = outline(x - t.cx, y - t.cy);
        if (blobPeak > 0 && inside > 1e-4) {
          this.blob[i] = blobPeak * inside * 10 ** ((t.textureStd * rng.normal()) / 10);
        }
        if (t.shadow > 0 && inside < 0.999) {
          const behind = outline(x - t.cx - shadowShift, y - t.cy);
          this.shade[i] = 1 - t.shadow * behind * (1 - inside);
        }
      }
    }
    // Point scatterers along the major axis, each a separable sinc² PSF: the sidelobe cross of SAR.
    if (pointsPeak > 0) {
      const n = 2 + Math.floor(t.lengthPx / 3);
      const main = Math.floor(rng.next() * n);
      const width = rng.range(SAR_MODEL.psfWidthPx);
      const px = new Float64Array(2 * R + 1);
      const py = new Float64Array(2 * R + 1);
      for (let j = 0; j < n; j++) {
        const s = (n === 1 ? 0 : j / (n - 1) - 0.5) * t.lengthPx * 0.8;
        const sx = t.cx + s * cosO;
        const sy = t.cy + s * sinO;
        const amp = pointsPeak * (j === main ? 1 : rng.uniform(0.1, 0.5));
        const ix = Math.round(sx);
        const iy = Math.round(sy);
        for (let k = -R; k <= R; k++) {
          px[k + R] = sinc2((ix + k - sx) / width);
          py[k + R] = sinc2((iy + k - sy) / width);
        }
        for (let ky = -R; ky <= R; ky++) {
          const y = iy + ky;
          if (y < y0 || y >= y1) continue;
          const fy = amp * py[ky + R]!;
          for (let kx = -R; kx <= R; kx++) {
            const x = ix + kx;
            if (x < x0 || x >= x1) continue;
            this.points[y * size + x]! += fy * px[kx + R]!;
          }
        }
      }
    }
    return { x0, x1, y0, y1 };
  }

  /** The configured records, in order. */
  *records(): Generator<StatoilRecord> {
    const { start, count } = this.options;
    for (let i = start; i < start + count; i++) yield this.record(i);
  }
}

/**
 * The per-pixel loop, kept in a small function of its own so the optimising compiler sees stable
 * types (inlined in recordWithTruth it deoptimised and ran 5x slower).
 */
function composeBands(
  g: SyntheticSarGenerator,
  box: { x0: number; x1: number; y0: number; y1: number },
  quantiles: Uint16Array,
  band1: Float32Array,
  band2: Float32Array,
  params: number[],
): void {
  const [seaHHdB, seaHH, seaHVcross, noiseHV, seaHVdB, swellHVShare, swellAmp, hvFactor] = params as [
    number,
    number,
    number,
    number,
    number,
    number,
    number,
    number,
  ];
  const size = g.options.size;
  const { cosX, sinX, cosY, sinY, blob: blobs, points: pointsArr, shade } = g;
  const { db: gDb, lin: gLin } = g.speckle;
  const { x0, x1, y0, y1 } = box;
  // Values go on a 1e-4 dB grid so the JSON text is short and round-trips exactly (encodeStatoilRecord).
  // Two passes, the hot one branch-free: every pixel as sea, then the target's pixels overwritten.
  for (let y = 0; y < size; y++) {
    const cy = cosY[y]!;
    const sy = sinY[y]!;
    const row = y * size;
    for (let x = 0; x < size; x++) {
      const i = row + x;
      const swell = swellAmp * (cosX[x]! * cy - sinX[x]! * sy);
      band1[i] = Math.round((seaHHdB + swell + gDb[quantiles[2 * i]!]!) * 1e4) * 1e-4;
      band2[i] = Math.round((seaHVdB + swellHVShare * swell + gDb[quantiles[2 * i + 1]!]!) * 1e4) * 1e-4;
    }
  }
  for (let y = y0; y < y1; y++) {
    const cy = cosY[y]!;
    const sy = sinY[y]!;
    const row = y * size;
    for (let x = x0; x < x1; x++) {
      const i = row + x;
      const blob = blobs[i]!;
      const pts = pointsArr[i]!;
      const shadeI = shade[i]!;
      if (blob > 1e-3 || pts > 1e-3 || shadeI < 0.999) {
        // Where the target matters: add intensities (sea and blob speckled, point scatterers not).
        // 10^(swell/10) by its cubic Taylor polynomial (|swell| <= 1.5 dB: error < 0.01 dB).
        const swell = swellAmp * (cosX[x]! * cy - sinX[x]! * sy);
        const e = swell * (Math.LN10 / 10);
        const sea = (1 + e * (1 + e * (0.5 + e / 6))) * shadeI;
        const hh = 10 * Math.log10((seaHH * sea + seaHH * blob) * gLin[quantiles[2 * i]!]! + seaHH * pts);
        const hvSea = seaHVcross * sea + noiseHV;
        const hv =
          10 * Math.log10((hvSea + seaHH * blob * hvFactor) * gLin[quantiles[2 * i + 1]!]! + seaHH * pts * hvFactor);
        band1[i] = Math.round(hh * 1e4) * 1e-4;
        band2[i] = Math.round(hv * 1e4) * 1e-4;
      }
    }
  }
}

function sinc2(x: number): number {
  if (Math.abs(x) < 1e-6) return 1;
  const s = Math.sin(Math.PI * x) / (Math.PI * x);
  return s * s;
}

/** In-memory records (for tests and small notebooks). */
export function generateSynthetic(options: SyntheticOptions): StatoilRecord[] {
  return [...new SyntheticSarGenerator(options).records()];
}

/**
 * One record as Statoil JSON bytes. Values on a 1e-4 grid (the generator's) are written with at
 * most four decimals, anything else with JavaScript's shortest round-trip form of the float32 value.
 */
export function encodeStatoilRecord(rec: StatoilRecord): Buffer {
  const n = rec.band_1.length + rec.band_2.length;
  const out = Buffer.allocUnsafe(256 + Buffer.byteLength(rec.id) * 6 + n * 26);
  let p = out.write(`{"id": ${JSON.stringify(rec.id)}, "band_1": [`, 0, 'utf8');
  p = writeBand(out, p, rec.band_1);
  p += out.write('], "band_2": [', p, 'latin1');
  p = writeBand(out, p, rec.band_2);
  p += out.write(`], "inc_angle": ${rec.inc_angle === null ? '"na"' : String(rec.inc_angle)}`, p, 'latin1');
  if (rec.is_iceberg !== undefined) p += out.write(`, "is_iceberg": ${rec.is_iceberg}`, p, 'latin1');
  out[p++] = 0x7d; // }
  return out.subarray(0, p);
}

function writeBand(out: Buffer, p: number, band: Float32Array): number {
  for (let i = 0; i < band.length; i++) {
    if (i > 0) {
      out[p++] = 0x2c; // ,
      out[p++] = 0x20;
    }
    const v = band[i]!;
    const k = Math.round(v * 1e4);
    if (Math.fround(k / 1e4) === v && Math.abs(k) < 1e15) {
      let a = k;
      if (a < 0 || (a === 0 && 1 / v < 0)) {
        out[p++] = 0x2d;
      }
      a = Math.abs(a);
      let ip = Math.floor(a / 1e4);
      let frac = a - ip * 1e4;
      if (ip < 10) out[p++] = 0x30 + ip;
      else if (ip < 100) {
        out[p++] = 0x30 + Math.floor(ip / 10);
        out[p++] = 0x30 + (ip % 10);
      } else {
        let digits = 0;
        for (let t = ip; t > 0; t = Math.floor(t / 10)) digits++;
        for (let d = digits - 1; d >= 0; d--) {
          out[p + d] = 0x30 + (ip % 10);
          ip = Math.floor(ip / 10);
        }
        p += digits;
      }
      if (frac > 0) {
        out[p++] = 0x2e;
        let digits = 4;
        while (frac % 10 === 0) {
          frac /= 10;
          digits--;
        }
        for (let d = digits - 1; d >= 0; d--) {
          out[p + d] = 0x30 + (frac % 10);
          frac = Math.floor(frac / 10);
        }
        p += digits;
      }
    } else {
      if (!Number.isFinite(v)) throw new Error(`cannot write ${v} in a band: Statoil bands hold finite numbers`);
      p += out.write(String(v), p, 'latin1');
    }
  }
  return p;
}

/**
 * A file path (opened here) or a writable stream as an awaited `write` that waits out back-pressure and
 * fails with the stream's error; `finish` ends a file opened here, `abort` destroys it.
 */
export function outputWriter(target: string | Writable): {
  write(chunk: Buffer): Promise<void>;
  finish(): Promise<void>;
  abort(): void;
} {
  const stream = typeof target === 'string' ? fs.createWriteStream(target) : target;
  const failed = new Promise<never>((_, reject) => stream.once('error', reject));
  failed.catch(() => undefined);
  return {
    async write(chunk) {
      if (!stream.write(chunk)) await Promise.race([once(stream, 'drain'), failed]);
    },
    async finish() {
      if (typeof target !== 'string') return;
      stream.end();
      await Promise.race([once(stream, 'finish'), failed]);
    },
    abort() {
      if (typeof target === 'string') stream.destroy();
    },
  };
}

/** Writes records as one Statoil JSON array to a file path or a writable stream. */
export async function writeStatoil(
  records: Iterable<StatoilRecord> | AsyncIterable<StatoilRecord>,
  target: string | Writable,
  onProgress?: (records: number, bytes: number) => void,
): Promise<{ records: number; bytes: number }> {
  const { write, finish } = outputWriter(target);
  let count = 0;
  let bytes = 0;
  // Batch small writes: one record is ~100 kB, a batch ~1 MB.
  let pending: Buffer[] = [Buffer.from('[')];
  let pendingBytes = 1;
  for await (const rec of records) {
    const buf = encodeStatoilRecord(rec);
    if (count > 0) {
      pending.push(Buffer.from(', '));
      pendingBytes += 2;
    }
    pending.push(buf);
    pendingBytes += buf.length;
    count++;
    if (pendingBytes >= 1 << 20) {
      await write(Buffer.concat(pending, pendingBytes));
      bytes += pendingBytes;
      pending = [];
      pendingBytes = 0;
      onProgress?.(count, bytes);
    }
  }
  pending.push(Buffer.from(']\n'));
  pendingBytes += 2;
  await write(Buffer.concat(pending, pendingBytes));
  bytes += pendingBytes;
  onProgress?.(count, bytes);
  await finish();
  return { records: count, bytes };
}

/** Generates a Statoil-format dataset straight to a file or stream (memory: one record). */
export async function writeSynthetic(
  target: string | Writable,
  options: SyntheticOptions,
  onProgress?: (records: number, bytes: number) => void,
): Promise<{ records: number; bytes: number }> {
  return writeStatoil(new SyntheticSarGenerator(options).records(), target, onProgress);
}
