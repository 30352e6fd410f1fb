/**
 * Statistics of a commit, computed in one streaming pass over its Arrow batches and mergeable, so the
 * statistics of the whole group at commit N are those at N-1 merged with commit N's own (no rescan).
 * Histograms have fixed bins: their edges are set by the first data a group sees (padded) and
 * inherited by every later commit; values outside land in `below`/`above`. Tensor features get one
 * summary per band: the whole tensor for rank 1-2, each channel of a channels-last rank-3+ tensor.
 */
import type * as arrow from 'apache-arrow';
import { A } from './arrow-lib';
import type { FeatureSchema, TensorFeature } from '@floe/schema';
import { tensorLength } from './arrow';

export const HISTOGRAM_BINS = 20;

export interface Histogram {
  /** Left edge of the first bin and right edge of the last; bins are equal width. */
  lo: number;
  hi: number;
  counts: number[];
  below: number;
  above: number;
}

/** Summary of the finite values of a numeric scalar or of one tensor band. */
export interface NumericSummary {
  /** Finite values counted. */
  count: number;
  /** NaN and ±Infinity values (not in min/max/mean/std/histogram). */
  nonFinite: number;
  min: number | null;
  max: number | null;
  mean: number | null;
  std: number | null;
  /** Sum of squared deviations from the mean (kept so summaries merge exactly). */
  m2: number;
  histogram: Histogram | null;
}

export interface FeatureStatistics {
  name: string;
  kind: 'scalar' | 'tensor';
  dtype: string;
  /** Rows seen. */
  rows: number;
  /** Rows whose value is null. */
  missing: number;
  /** Numeric scalars. */
  numeric?: NumericSummary;
  /** Tensor features: one per band. */
  bands?: (NumericSummary & { band: string })[];
  /** bool features. */
  trueCount?: number;
  /** string features: distinct values, up to DISTINCT_LIMIT (then `distinctCapped`). */
  distinct?: number;
  distinctCapped?: boolean;
  /** timestamp features (ISO-8601). */
  earliest?: string | null;
  latest?: string | null;
}

export interface StatisticsSet {
  rows: number;
  features: Record<string, FeatureStatistics>;
}

export interface CommitStatistics {
  /** The rows this commit inserted. */
  commit: StatisticsSet;
  /** The whole feature group as of this commit. */
  group: StatisticsSet;
}

const DISTINCT_LIMIT = 10_000;

function emptySummary(): NumericSummary {
  return { count: 0, nonFinite: 0, min: null, max: null, mean: null, std: null, m2: 0, histogram: null };
}

/** Edges padded by 5% of the span (a unit either side for a constant) so later data mostly fits. */
function histogramFor(min: number, max: number, bins = HISTOGRAM_BINS): Histogram {
  const span = max - min;
  const pad = span > 0 ? span * 0.05 : Math.max(Math.abs(min) * 0.05, 1);
  return { lo: min - pad, hi: max + pad, counts: new Array<number>(bins).fill(0), below: 0, above: 0 };
}

/**
 * Accumulates one strided numeric stream (a scalar column or one band of a tensor column) without
 * allocating per call: tensors arrive one row at a time, thousands of calls per chunk.
 */
class SummaryBuilder {
  private edges: Histogram | null;
  private counts: Float64Array | null = null;
  private n = 0;
  private nonFinite = 0;
  /** NaN among the non-finite values (Lance refuses NaN in tensor columns). */
  nan = 0;
  private min = Infinity;
  private max = -Infinity;
  // Shifted sums keep the variance accurate for values far from zero (dB bands around -20).
  private shift = NaN;
  private sum = 0;
  private sumsq = 0;
  private below = 0;
  private above = 0;

  constructor(edges: Histogram | null) {
    this.edges = edges;
    if (edges) this.counts = new Float64Array(edges.counts.length);
  }

  get hasEdges(): boolean {
    return this.edges !== null;
  }

  /** Fixes the histogram edges from the finite range of a first stretch of data. */
  setEdgesFrom(lo: number, hi: number): void {
    if (this.edges || !Number.isFinite(lo) || !Number.isFinite(hi)) return;
    this.edges = histogramFor(lo, hi);
    this.counts = new Float64Array(this.edges.counts.length);
  }

  /** Adds `count` values values[start], values[start+stride], ... */
  add(values: ArrayLike<number>, start: number, stride: number, count: number): void {
    // Tensor bands take the monomorphic Float32Array path: the hot loop of every ingest.
    if (values instanceof Float32Array) this.addFloat32(values, start, stride, count);
    else this.addAny(values, start, stride, count);
  }

  private addFloat32(values: Float32Array, start: number, stride: number, count: number): void {
    const counts = this.counts;
    const bins = counts ? counts.length : 0;
    const lo = this.edges ? this.edges.lo : 0;
    const hi = this.edges ? this.edges.hi : 0;
    const scale = this.edges ? bins / (hi - lo) : 0;
    let n = this.n,
      nonFinite = this.nonFinite,
      nan = this.nan,
      min = this.min,
      max = this.max;
    let shift = this.shift,
      sum = this.sum,
      sumsq = this.sumsq,
      below = this.below,
      above = this.above;
    for (let k = 0, i = start; k < count; k++, i += stride) {
      const v = values[i]!;
      if (v - v !== 0) {
        nonFinite++;
        if (v !== v) nan++;
        continue;
      }
      if (shift !== shift) shift = v;
      const d = v - shift;
      sum += d;
      sumsq += d * d;
      n++;
      if (v < min) min = v;
      if (v > max) max = v;
      if (counts !== null) {
        if (v < lo) below++;
        else {
          const b = ((v - lo) * scale) | 0;
          if (b >= bins) {
            if (v === hi) counts[bins - 1]!++;
            else above++;
          } else counts[b]!++;
        }
      }
    }
    this.n = n;
    this.nonFinite = nonFinite;
    this.nan = nan;
    this.min = min;
    this.max = max;
    this.shift = shift;
    this.sum = sum;
    this.sumsq = sumsq;
    this.below = below;
    this.above = above;
  }

  private addAny(values: ArrayLike<number>, start: number, stride: number, count: number): void {
    const counts = this.counts;
    const bins = counts ? counts.length : 0;
    const lo = this.edges ? this.edges.lo : 0;
    const hi = this.edges ? this.edges.hi : 0;
    const scale = this.edges ? bins / (hi - lo) : 0;
    for (let k = 0, i = start; k < count; k++, i += stride) {
      const v = values[i]!;
      if (v - v !== 0) {
        this.nonFinite++;
        if (v !== v) this.nan++;
        continue;
      }
      if (this.shift !== this.shift) this.shift = v;
      const d = v - this.shift;
      this.sum += d;
      this.sumsq += d * d;
      this.n++;
      if (v < this.min) this.min = v;
      if (v > this.max) this.max = v;
      if (counts !== null) {
        if (v < lo) this.below++;
        else {
          const b = Math.floor((v - lo) * scale);
          if (b >= bins) {
            if (v === hi) counts[bins - 1]!++;
            else this.above++;
          } else counts[b]!++;
        }
      }
    }
  }

  summary(): NumericSummary {
    const s: NumericSummary = { ...emptySummary(), nonFinite: this.nonFinite };
    if (this.n > 0) {
      s.count = this.n;
      s.min = this.min;
      s.max = this.max;
      s.mean = this.shift + this.sum / this.n;
      s.m2 = Math.max(0, this.sumsq - (this.sum * this.sum) / this.n);
      s.std = Math.sqrt(s.m2 / this.n);
    }
    if (this.edges && this.counts) {
      s.histogram = {
        lo: this.edges.lo,
        hi: this.edges.hi,
        counts: Array.from(this.counts),
        below: this.below,
        above: this.above,
      };
    }
    return s;
  }
}

/** Finite min and max of a strided stretch (for fixing histogram edges). */
function finiteRange(
  values: ArrayLike<number>,
  start: number,
  stride: number,
  count: number,
  into: [number, number],
): void {
  for (let k = 0, i = start; k < count; k++, i += stride) {
    const v = values[i]!;
    if (v - v !== 0) continue;
    if (v < into[0]) into[0] = v;
    if (v > into[1]) into[1] = v;
  }
}

/** Merges summary `b` into `a` (Chan et al. for mean and squared deviations). Histograms must share edges. */
function mergeInto(a: NumericSummary, b: NumericSummary): void {
  a.nonFinite += b.nonFinite;
  if (b.count > 0) {
    if (a.count === 0) {
      a.count = b.count;
      a.min = b.min;
      a.max = b.max;
      a.mean = b.mean;
      a.m2 = b.m2;
    } else {
      const n = a.count + b.count;
      const delta = b.mean! - a.mean!;
      a.mean = a.mean! + (delta * b.count) / n;
      a.m2 = a.m2 + b.m2 + (delta * delta * a.count * b.count) / n;
      a.count = n;
      a.min = Math.min(a.min!, b.min!);
      a.max = Math.max(a.max!, b.max!);
    }
  }
  a.std = a.count > 0 ? Math.sqrt(a.m2 / a.count) : null;
  if (b.histogram) {
    if (!a.histogram) a.histogram = { ...b.histogram, counts: [...b.histogram.counts] };
    else {
      if (a.histogram.lo !== b.histogram.lo || a.histogram.hi !== b.histogram.hi) {
        throw new Error('internal: merging histograms with different edges');
      }
      b.histogram.counts.forEach((c, i) => (a.histogram!.counts[i]! += c));
      a.histogram.below += b.histogram.below;
      a.histogram.above += b.histogram.above;
    }
  }
}

function bandsOf(f: TensorFeature): { names: string[]; stride: number; perBand: number } {
  const channels = f.shape.length >= 3 ? f.shape[f.shape.length - 1]! : 1;
  const perBand = tensorLength(f) / channels;
  const names = channels === 1 ? [f.name] : Array.from({ length: channels }, (_, c) => `${f.name}[${c}]`);
  return { names, stride: channels, perBand };
}

/**
 * Streams Arrow batches of a feature group into statistics. `previous` (the group's statistics before
 * this commit) supplies the histogram edges so the two merge.
 */
export class StatisticsBuilder {
  private rows = 0;
  private readonly features = new Map<
    string,
    { stat: FeatureStatistics; builders: SummaryBuilder[]; distinct?: Set<string> }
  >();

  constructor(
    private readonly schema: FeatureSchema,
    previous?: StatisticsSet,
  ) {
    for (const f of schema) {
      const prev = previous?.features[f.name];
      const stat: FeatureStatistics = { name: f.name, kind: f.kind, dtype: f.dtype, rows: 0, missing: 0 };
      let builders: SummaryBuilder[] = [];
      if (f.kind === 'tensor') {
        const { names } = bandsOf(f);
        builders = names.map((_, b) => new SummaryBuilder(prev?.bands?.[b]?.histogram ?? null));
      } else if (['float32', 'float64', 'int32', 'int64'].includes(f.dtype)) {
        builders = [new SummaryBuilder(prev?.numeric?.histogram ?? null)];
      } else if (f.dtype === 'bool') stat.trueCount = 0;
      else if (f.dtype === 'timestamp') {
        stat.earliest = null;
        stat.latest = null;
      }
      this.features.set(f.name, { stat, builders, distinct: f.dtype === 'string' ? new Set() : undefined });
    }
  }

  /** NaN values seen so far in tensor features (by feature name). */
  tensorNaNs(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const f of this.schema) {
      if (f.kind !== 'tensor') continue;
      const n = this.features.get(f.name)!.builders.reduce((a, b) => a + b.nan, 0);
      if (n > 0) out[f.name] = n;
    }
    return out;
  }

  addBatch(batch: arrow.RecordBatch | arrow.Table): void {
    const batches = batch instanceof A.Table ? batch.batches : [batch];
    for (const b of batches) this.addOne(b);
  }

  private addOne(batch: arrow.RecordBatch): void {
    const n = batch.numRows;
    this.rows += n;
    for (const f of this.schema) {
      const entry = this.features.get(f.name)!;
      const col = batch.getChild(f.name);
      if (!col) throw new Error(`statistics: batch has no column '${f.name}'`);
      entry.stat.rows += n;
      entry.stat.missing += col.nullCount;
      for (const data of col.data) {
        if (f.kind === 'tensor') {
          const { stride, perBand } = bandsOf(f);
          const size = tensorLength(f);
          const child = data.children[0]!;
          const values = child.values as Float32Array;
          entry.builders.forEach((builder, band) => {
            if (builder.hasEdges) return;
            const range: [number, number] = [Infinity, -Infinity];
            for (let i = 0; i < data.length; i++) {
              if (data.getValid(i))
                finiteRange(values, (data.offset + i) * size + child.offset + band, stride, perBand, range);
            }
            builder.setEdgesFrom(range[0], range[1]);
          });
          for (let i = 0; i < data.length; i++) {
            if (!data.getValid(i)) continue;
            const base = (data.offset + i) * size + child.offset;
            for (let band = 0; band < entry.builders.length; band++)
              entry.builders[band]!.add(values, base + band, stride, perBand);
          }
        } else if (entry.builders.length === 1) {
          const values = data.values as ArrayLike<number | bigint>;
          const numeric: ArrayLike<number> =
            values instanceof BigInt64Array
              ? Float64Array.from(values, (x) => Number(x))
              : (values as ArrayLike<number>);
          let valid: ArrayLike<number> = numeric;
          let start = data.offset;
          if (data.nullCount > 0) {
            const kept: number[] = [];
            for (let i = 0; i < data.length; i++) if (data.getValid(i)) kept.push(numeric[data.offset + i]!);
            valid = kept;
            start = 0;
          }
          const count = data.length - data.nullCount;
          const range: [number, number] = [Infinity, -Infinity];
          if (!entry.builders[0]!.hasEdges) finiteRange(valid, start, 1, count, range);
          entry.builders[0]!.setEdgesFrom(range[0], range[1]);
          entry.builders[0]!.add(valid, start, 1, count);
        } else {
          const vec = A.makeVector(data);
          for (let i = 0; i < data.length; i++) {
            if (!data.getValid(i)) continue;
            const v = vec.get(i) as unknown;
            if (f.dtype === 'bool') entry.stat.trueCount! += v ? 1 : 0;
            else if (f.dtype === 'string' && entry.distinct) {
              entry.distinct.add(v as string);
              if (entry.distinct.size > DISTINCT_LIMIT) {
                entry.distinct = undefined;
                entry.stat.distinctCapped = true;
              }
            } else if (f.dtype === 'timestamp') {
              const iso = new Date(Number(v instanceof Date ? v.getTime() : (v as number | bigint))).toISOString();
              if (entry.stat.earliest === null || iso < entry.stat.earliest!) entry.stat.earliest = iso;
              if (entry.stat.latest === null || iso > entry.stat.latest!) entry.stat.latest = iso;
            }
          }
        }
      }
    }
  }

  finish(): StatisticsSet {
    const features: Record<string, FeatureStatistics> = {};
    for (const f of this.schema) {
      const { stat, builders, distinct } = this.features.get(f.name)!;
      const out: FeatureStatistics = { ...stat };
      if (f.kind === 'tensor') {
        const { names } = bandsOf(f);
        out.bands = builders.map((b, i) => ({ band: names[i]!, ...b.summary() }));
      } else if (builders.length === 1) out.numeric = builders[0]!.summary();
      if (f.dtype === 'string') out.distinct = distinct ? distinct.size : DISTINCT_LIMIT;
      features[f.name] = out;
    }
    return { rows: this.rows, features };
  }
}

/** The group's statistics after a commit: the previous group statistics merged with the commit's. */
export function mergeStatistics(previous: StatisticsSet | undefined, commit: StatisticsSet): StatisticsSet {
  if (!previous) return structuredClone(commit);
  const features: Record<string, FeatureStatistics> = {};
  for (const [name, c] of Object.entries(commit.features)) {
    const p = previous.features[name];
    if (!p) {
      features[name] = structuredClone(c);
      continue;
    }
    const m: FeatureStatistics = structuredClone(p);
    m.rows += c.rows;
    m.missing += c.missing;
    if (m.numeric && c.numeric) mergeInto(m.numeric, c.numeric);
    if (m.bands && c.bands) m.bands.forEach((b, i) => mergeInto(b, c.bands![i]!));
    if (c.trueCount !== undefined) m.trueCount = (m.trueCount ?? 0) + c.trueCount;
    // Distinct counts cannot merge without the values; the group's count is a lower bound.
    if (c.distinct !== undefined) m.distinct = Math.max(m.distinct ?? 0, c.distinct);
    if (c.earliest && (!m.earliest || c.earliest < m.earliest)) m.earliest = c.earliest;
    if (c.latest && (!m.latest || c.latest > m.latest)) m.latest = c.latest;
    features[name] = m;
  }
  return { rows: previous.rows + commit.rows, features };
}
