import type {
  BandDrift,
  DriftAlert,
  DriftThresholds,
  DriftWindow,
  HistogramCounts,
  PredictionDrift,
  RequestInputSummary,
} from '@floe/schema';
import type { ReferenceStatistics } from './reference';
import { histogramOfValues, mergeBandSummaries } from './summary';

/**
 * Drift of one window of served requests against the training statistics: per band PSI and KS on
 * the training histogram's bins (with the out-of-range counts as two more bins) and the mean shift
 * in training standard deviations; the incidence angle's PSI, KS and missing rate; the prediction
 * distribution and its positive rate against the training label rate. Values over a threshold
 * become alerts.
 */

export interface LoggedRequest {
  at: string;
  instances: number;
  inputs: RequestInputSummary;
  outputs: (number | null)[];
}

function buckets(h: HistogramCounts): number[] {
  return [h.below, ...h.counts, h.above];
}

/** Floor for empty bins, so a bin present on one side only adds a large but finite term. */
const PSI_EPSILON = 1e-4;

/** Population stability index Σ (q − p) ln(q / p) over the bins (p reference, q served); null when either side is empty. */
export function psi(reference: HistogramCounts, served: HistogramCounts): number | null {
  const p = buckets(reference);
  const q = buckets(served);
  const tp = p.reduce((a, b) => a + b, 0);
  const tq = q.reduce((a, b) => a + b, 0);
  if (tp === 0 || tq === 0 || p.length !== q.length) return null;
  let sum = 0;
  for (let i = 0; i < p.length; i++) {
    const a = Math.max(p[i]! / tp, PSI_EPSILON);
    const b = Math.max(q[i]! / tq, PSI_EPSILON);
    sum += (b - a) * Math.log(b / a);
  }
  return sum;
}

/** Kolmogorov–Smirnov distance between the binned distributions: the largest gap between their CDFs at bin edges. */
export function ks(reference: HistogramCounts, served: HistogramCounts): number | null {
  const p = buckets(reference);
  const q = buckets(served);
  const tp = p.reduce((a, b) => a + b, 0);
  const tq = q.reduce((a, b) => a + b, 0);
  if (tp === 0 || tq === 0 || p.length !== q.length) return null;
  let cp = 0,
    cq = 0,
    d = 0;
  for (let i = 0; i < p.length; i++) {
    cp += p[i]! / tp;
    cq += q[i]! / tq;
    d = Math.max(d, Math.abs(cp - cq));
  }
  return d;
}

/**
 * Adjacent bins merged `factor` at a time. Angles are one value per instance, so a window holds
 * hundreds, not millions: on 20 bins sampling noise alone would give a PSI near (bins − 1)·(1/n + 1/m).
 */
export function coarsen(h: HistogramCounts, factor: number): HistogramCounts {
  if (factor <= 1) return h;
  const counts: number[] = [];
  for (let i = 0; i < h.counts.length; i += factor)
    counts.push(h.counts.slice(i, i + factor).reduce((a, b) => a + b, 0));
  return { ...h, counts };
}

/** Bins merged into this many for the per-instance angle's PSI and KS. */
const ANGLE_BINS = 5;

const round = (v: number | null, digits = 6): number | null =>
  v === null || !Number.isFinite(v) ? null : Number(v.toFixed(digits));

export function evaluateWindow(
  reference: ReferenceStatistics | null,
  requests: readonly LoggedRequest[],
  thresholds: DriftThresholds,
  window: { start: string; end: string },
  channels: readonly string[],
  angleFeature: string | null,
): DriftWindow {
  const instances = requests.reduce((s, r) => s + r.instances, 0);
  const alerts: DriftAlert[] = [];
  const alert = (
    feature: string,
    metric: DriftAlert['metric'],
    value: number | null,
    threshold: number,
    what: string,
  ): void => {
    if (value === null || !(Math.abs(value) > threshold)) return;
    alerts.push({
      feature,
      metric,
      value: round(value)!,
      threshold,
      message: `${feature}: ${what} ${round(value, 3)} exceeds ${threshold}`,
    });
  };

  const bands: BandDrift[] = channels.map((band, c) => {
    const ref = reference?.bands[c] ?? null;
    const merged = mergeBandSummaries(
      band,
      requests.map((r) => r.inputs.bands[c]).filter((b) => b !== undefined),
      ref?.histogram ?? null,
    );
    const p = ref?.histogram && merged.histogram ? psi(ref.histogram, merged.histogram) : null;
    const k = ref?.histogram && merged.histogram ? ks(ref.histogram, merged.histogram) : null;
    const shift =
      ref && ref.mean !== null && ref.std && merged.mean !== null ? (merged.mean - ref.mean) / ref.std : null;
    alert(band, 'psi', p, thresholds.psi, 'PSI');
    alert(band, 'ks', k, thresholds.ks, 'KS distance');
    alert(band, 'mean_shift', shift, thresholds.meanShift, 'mean shift (training standard deviations)');
    return {
      band,
      reference: { mean: ref?.mean ?? null, std: ref?.std ?? null },
      served: {
        mean: round(merged.mean),
        std: round(merged.std),
        min: merged.min,
        max: merged.max,
        count: merged.count,
      },
      psi: round(p),
      ks: round(k),
      meanShift: round(shift),
      referenceHistogram: ref?.histogram ?? null,
      servedHistogram: merged.histogram,
    };
  });

  let angle: DriftWindow['angle'] = null;
  if (angleFeature) {
    const values: number[] = [];
    let missing = 0;
    for (const r of requests) {
      for (const a of r.inputs.angles ?? []) {
        if (a === null) missing++;
        else values.push(a);
      }
    }
    const total = values.length + missing;
    const mean = values.length ? values.reduce((a, b) => a + b, 0) / values.length : null;
    const std =
      mean !== null ? Math.sqrt(values.reduce((a, b) => a + (b - mean) * (b - mean), 0) / values.length) : null;
    const ref = reference?.angle ?? null;
    const servedHistogram = ref?.histogram ? histogramOfValues(values, ref.histogram) : null;
    const factor = ref?.histogram ? Math.ceil(ref.histogram.counts.length / ANGLE_BINS) : 1;
    const p =
      ref?.histogram && servedHistogram && values.length
        ? psi(coarsen(ref.histogram, factor), coarsen(servedHistogram, factor))
        : null;
    const k = ref?.histogram && servedHistogram && values.length ? ks(ref.histogram, servedHistogram) : null;
    const missingRate = total ? missing / total : null;
    const missingDelta = missingRate !== null && ref?.missingRate != null ? missingRate - ref.missingRate : null;
    alert(angleFeature, 'psi', p, thresholds.psi, 'PSI');
    alert(angleFeature, 'ks', k, thresholds.ks, 'KS distance');
    alert(angleFeature, 'missing_rate', missingDelta, thresholds.missingRate, 'missing-rate change');
    angle = {
      feature: angleFeature,
      reference: { mean: ref?.mean ?? null, std: ref?.std ?? null, missingRate: ref?.missingRate ?? null },
      served: { mean: round(mean), std: round(std), missingRate: round(missingRate), count: total },
      psi: round(p),
      ks: round(k),
      referenceHistogram: ref?.histogram ?? null,
      servedHistogram,
    };
  }

  const histogram = new Array<number>(10).fill(0);
  let sum = 0,
    n = 0,
    positive = 0;
  for (const r of requests) {
    for (const v of r.outputs) {
      if (v === null || !Number.isFinite(v)) continue;
      histogram[Math.min(9, Math.max(0, Math.floor(v * 10)))]!++;
      sum += v;
      n++;
      if (v >= 0.5) positive++;
    }
  }
  const positiveRate = n ? positive / n : null;
  const referencePositiveRate = reference?.labelRate ?? null;
  const predictions: PredictionDrift = {
    histogram,
    mean: round(n ? sum / n : null),
    positiveRate: round(positiveRate),
    referencePositiveRate,
  };
  if (positiveRate !== null && referencePositiveRate !== null) {
    alert(
      'prediction',
      'positive_rate',
      positiveRate - referencePositiveRate,
      thresholds.positiveRate,
      'positive-rate change against the training label rate',
    );
  }

  let status: DriftWindow['status'];
  if (instances < thresholds.minInstances) status = 'insufficient-data';
  else if (!reference) status = 'no-reference';
  else status = alerts.length > 0 ? 'drift' : 'ok';
  return {
    start: window.start,
    end: window.end,
    requests: requests.length,
    instances,
    status,
    bands,
    angle,
    predictions,
    // A window too small to judge raises nothing.
    alerts: status === 'insufficient-data' ? [] : alerts,
  };
}
