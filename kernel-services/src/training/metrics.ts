/**
 * Evaluation metrics for binary classifiers (ship = 0, iceberg = 1), on plain arrays so they are exact,
 * testable and independent of TensorFlow.
 */

export interface ConfusionMatrix {
  /** Rows are the true class, columns the predicted class: [[tn, fp], [fn, tp]]. */
  matrix: [[number, number], [number, number]];
  tn: number;
  fp: number;
  fn: number;
  tp: number;
}

function check(labels: ArrayLike<number>, probs: ArrayLike<number>): void {
  if (labels.length !== probs.length) {
    throw new RangeError(`metrics: ${labels.length} labels but ${probs.length} predictions`);
  }
  if (labels.length === 0) throw new RangeError('metrics: no samples');
  for (let i = 0; i < labels.length; i++) {
    if (labels[i] !== 0 && labels[i] !== 1) throw new RangeError(`metrics: label ${i} is ${labels[i]}, not 0 or 1`);
    const p = probs[i]!;
    if (!(p >= 0 && p <= 1)) throw new RangeError(`metrics: prediction ${i} is ${p}, not a probability`);
  }
}

export function accuracy(labels: ArrayLike<number>, probs: ArrayLike<number>, threshold = 0.5): number {
  check(labels, probs);
  let right = 0;
  for (let i = 0; i < labels.length; i++) if ((probs[i]! >= threshold ? 1 : 0) === labels[i]) right++;
  return right / labels.length;
}

/**
 * Binary log loss (the Statoil/C-CORE challenge metric), with probabilities clipped to [eps, 1-eps]
 * as Keras and scikit-learn do so one confident mistake is large but finite.
 */
export function logLoss(labels: ArrayLike<number>, probs: ArrayLike<number>, eps = 1e-7): number {
  check(labels, probs);
  let sum = 0;
  for (let i = 0; i < labels.length; i++) {
    const p = Math.min(1 - eps, Math.max(eps, probs[i]!));
    sum += labels[i] === 1 ? -Math.log(p) : -Math.log(1 - p);
  }
  return sum / labels.length;
}

/**
 * Area under the ROC curve by the rank statistic (Mann–Whitney U), with ties counted as half: exact,
 * O(n log n). NaN when only one class is present (AUC is undefined there).
 */
export function rocAuc(labels: ArrayLike<number>, probs: ArrayLike<number>): number {
  check(labels, probs);
  const n = labels.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => probs[a]! - probs[b]!);
  let positives = 0;
  let rankSumPositives = 0;
  for (let i = 0; i < n;) {
    let j = i;
    while (j + 1 < n && probs[order[j + 1]!] === probs[order[i]!]) j++;
    const averageRank = (i + j) / 2 + 1; // 1-based ranks, ties share their mean rank
    for (let k = i; k <= j; k++) {
      if (labels[order[k]!] === 1) {
        positives++;
        rankSumPositives += averageRank;
      }
    }
    i = j + 1;
  }
  const negatives = n - positives;
  if (positives === 0 || negatives === 0) return NaN;
  return (rankSumPositives - (positives * (positives + 1)) / 2) / (positives * negatives);
}

/** Points of the ROC curve (false-positive rate, true-positive rate) at every distinct threshold. */
export function rocCurve(
  labels: ArrayLike<number>,
  probs: ArrayLike<number>,
): { fpr: number[]; tpr: number[]; thresholds: number[] } {
  check(labels, probs);
  const n = labels.length;
  const order = Array.from({ length: n }, (_, i) => i).sort((a, b) => probs[b]! - probs[a]!);
  let P = 0;
  for (let i = 0; i < n; i++) P += labels[i]!;
  const N = n - P;
  const fpr = [0];
  const tpr = [0];
  const thresholds = [Infinity];
  let tp = 0;
  let fp = 0;
  for (let i = 0; i < n; i++) {
    if (labels[order[i]!] === 1) tp++;
    else fp++;
    const next = order[i + 1];
    if (next === undefined || probs[next] !== probs[order[i]!]) {
      fpr.push(N ? fp / N : 0);
      tpr.push(P ? tp / P : 0);
      thresholds.push(probs[order[i]!]!);
    }
  }
  return { fpr, tpr, thresholds };
}

export function confusionMatrix(labels: ArrayLike<number>, probs: ArrayLike<number>, threshold = 0.5): ConfusionMatrix {
  check(labels, probs);
  let tn = 0;
  let fp = 0;
  let fn = 0;
  let tp = 0;
  for (let i = 0; i < labels.length; i++) {
    const predicted = probs[i]! >= threshold ? 1 : 0;
    if (labels[i] === 1) {
      if (predicted) tp++;
      else fn++;
    } else if (predicted) fp++;
    else tn++;
  }
  return {
    matrix: [
      [tn, fp],
      [fn, tp],
    ],
    tn,
    fp,
    fn,
    tp,
  };
}

export interface AngleBin {
  /** Inclusive lower and exclusive upper edge in degrees; `missing` collects samples with no angle. */
  label: string;
  low: number | null;
  high: number | null;
  count: number;
  accuracy: number | null;
}

/**
 * Accuracy per incidence-angle bin: backscatter of sea and targets changes with angle, so a model can be
 * good at steep angles and poor at shallow ones. Samples without an angle get their own bin.
 */
export function accuracyByAngle(
  labels: ArrayLike<number>,
  probs: ArrayLike<number>,
  angles: ArrayLike<number | null>,
  edges: number[] = [30, 34, 38, 42, 46],
  threshold = 0.5,
): AngleBin[] {
  check(labels, probs);
  if (angles.length !== labels.length)
    throw new RangeError(`metrics: ${labels.length} labels but ${angles.length} angles`);
  const bins: { low: number | null; high: number | null; right: number; count: number }[] = [];
  bins.push({ low: null, high: edges[0]!, right: 0, count: 0 });
  for (let i = 0; i + 1 < edges.length; i++) bins.push({ low: edges[i]!, high: edges[i + 1]!, right: 0, count: 0 });
  bins.push({ low: edges[edges.length - 1]!, high: null, right: 0, count: 0 });
  const missing: (typeof bins)[number] = { low: null, high: null, right: 0, count: 0 };
  for (let i = 0; i < labels.length; i++) {
    const a = angles[i];
    let bin = missing;
    if (a !== null && a !== undefined && Number.isFinite(a)) {
      bin = bins.find((b) => (b.low === null || a >= b.low) && (b.high === null || a < b.high))!;
    }
    bin.count++;
    if ((probs[i]! >= threshold ? 1 : 0) === labels[i]) bin.right++;
  }
  const label = (b: { low: number | null; high: number | null }): string =>
    b.low === null ? `< ${b.high}°` : b.high === null ? `≥ ${b.low}°` : `${b.low}–${b.high}°`;
  return [...bins.map((b) => ({ ...b, label: label(b) })), { ...missing, label: 'missing' }]
    .filter((b) => b.count > 0)
    .map((b) => ({ label: b.label, low: b.low, high: b.high, count: b.count, accuracy: b.right / b.count }));
}

export interface Evaluation {
  samples: number;
  accuracy: number;
  logLoss: number;
  rocAuc: number;
  confusion: ConfusionMatrix;
  byAngle?: AngleBin[];
}

/** Every metric Floe records for a binary classifier, in one call. */
export function evaluateBinary(
  labels: ArrayLike<number>,
  probs: ArrayLike<number>,
  angles?: ArrayLike<number | null>,
): Evaluation {
  return {
    samples: labels.length,
    accuracy: accuracy(labels, probs),
    logLoss: logLoss(labels, probs),
    rocAuc: rocAuc(labels, probs),
    confusion: confusionMatrix(labels, probs),
    ...(angles ? { byAngle: accuracyByAngle(labels, probs, angles) } : {}),
  };
}
