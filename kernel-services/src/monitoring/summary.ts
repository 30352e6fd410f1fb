import type { BandSummary, HistogramCounts, RequestInputSummary } from '@floe/schema';
import type { ReferenceStatistics } from './reference';

/**
 * Per-request input summaries for the request log: per image channel the moments, range and
 * counts in the training statistics' histogram bins (same binning rule as the feature store's
 * statistics), plus each instance's incidence angle. Summaries merge exactly, so a monitoring window
 * is the merge of its requests.
 */

export interface SummaryLayout {
  channels: readonly string[];
  /** Values per instance of the image input (H·W·C) — channels-last, so channel c is every C-th value. */
  imageSize: number;
  hasAngle: boolean;
}

function emptyHistogram(ref: HistogramCounts): HistogramCounts {
  return { lo: ref.lo, hi: ref.hi, counts: new Array<number>(ref.counts.length).fill(0), below: 0, above: 0 };
}

/** Summarises `count` instances: `image` is count·imageSize values, `angles` one per instance (NaN = missing). */
export function summarizeInputs(
  layout: SummaryLayout,
  reference: ReferenceStatistics | null,
  image: Float32Array,
  angles: Float32Array | null,
  count: number,
): RequestInputSummary {
  const C = layout.channels.length;
  const total = count * layout.imageSize;
  const bands: BandSummary[] = layout.channels.map((band, c) => {
    const refHist = reference?.bands[c]?.histogram ?? null;
    const bins = refHist ? refHist.counts.length : 0;
    const counts = new Float64Array(bins);
    const lo = refHist ? refHist.lo : 0;
    const hi = refHist ? refHist.hi : 0;
    const scale = refHist ? bins / (hi - lo) : 0;
    let n = 0,
      nonFinite = 0,
      below = 0,
      above = 0;
    let min = Infinity,
      max = -Infinity;
    // Shifted sums keep the variance accurate for dB values far from zero.
    let shift = NaN,
      s = 0,
      ss = 0;
    for (let i = c; i < total; i += C) {
      const v = image[i]!;
      if (v - v !== 0) {
        nonFinite++;
        continue;
      }
      if (n === 0) shift = v;
      n++;
      const d = v - shift;
      s += d;
      ss += d * d;
      if (v < min) min = v;
      if (v > max) max = v;
      if (bins > 0) {
        if (v < lo) below++;
        else {
          const b = Math.floor((v - lo) * scale);
          if (b >= bins) {
            if (v === hi) counts[bins - 1]!++;
            else above++;
          } else counts[b]!++;
        }
      }
    }
    const mean = n > 0 ? shift + s / n : null;
    const m2 = n > 0 ? Math.max(0, ss - (s * s) / n) : 0;
    return {
      band,
      count: n,
      nonFinite,
      mean,
      std: n > 0 ? Math.sqrt(m2 / n) : null,
      m2,
      min: n > 0 ? min : null,
      max: n > 0 ? max : null,
      histogram: refHist ? { lo, hi, counts: Array.from(counts), below, above } : null,
    };
  });
  const angleList =
    layout.hasAngle && angles ? Array.from(angles.subarray(0, count), (a) => (Number.isFinite(a) ? a : null)) : null;
  return { bands, angles: angleList };
}

/** Merges band summaries of the same band (Chan et al.'s parallel variance). */
export function mergeBandSummaries(
  band: string,
  parts: readonly BandSummary[],
  reference: HistogramCounts | null,
): BandSummary {
  let n = 0,
    mean = 0,
    m2 = 0,
    nonFinite = 0;
  let min = Infinity,
    max = -Infinity;
  const hist = reference ? emptyHistogram(reference) : null;
  for (const p of parts) {
    nonFinite += p.nonFinite;
    if (p.count === 0 || p.mean === null) continue;
    const total = n + p.count;
    const delta = p.mean - mean;
    mean += (delta * p.count) / total;
    m2 += p.m2 + (delta * delta * n * p.count) / total;
    n = total;
    if (p.min !== null && p.min < min) min = p.min;
    if (p.max !== null && p.max > max) max = p.max;
    // Only counts made with the same bins add up (a request logged before a reference existed has none).
    if (
      hist &&
      p.histogram &&
      p.histogram.counts.length === hist.counts.length &&
      p.histogram.lo === hist.lo &&
      p.histogram.hi === hist.hi
    ) {
      for (let i = 0; i < hist.counts.length; i++) hist.counts[i]! += p.histogram.counts[i]!;
      hist.below += p.histogram.below;
      hist.above += p.histogram.above;
    }
  }
  return {
    band,
    count: n,
    nonFinite,
    mean: n > 0 ? mean : null,
    std: n > 0 ? Math.sqrt(m2 / n) : null,
    m2,
    min: n > 0 ? min : null,
    max: n > 0 ? max : null,
    histogram: hist,
  };
}

/** Counts `values` in the bins of `reference`. */
export function histogramOfValues(values: readonly number[], reference: HistogramCounts): HistogramCounts {
  const h = emptyHistogram(reference);
  const bins = h.counts.length;
  const scale = bins / (h.hi - h.lo);
  for (const v of values) {
    if (v < h.lo) h.below++;
    else {
      const b = Math.floor((v - h.lo) * scale);
      if (b >= bins) {
        if (v === h.hi) h.counts[bins - 1]!++;
        else h.above++;
      } else h.counts[b]!++;
    }
  }
  return h;
}
