/**
 * Long series (a 20,000-step loss curve, a search with thousands of reports) are drawn from at most a
 * few hundred points. Min/max per bucket keeps every spike and dip that a plain stride would skip, so a
 * series is thinned, never cut short: the first and last points always survive.
 */

export type Point = readonly [number, number];

/** Points of `values` against `xs` (or 1, 2, 3 …), skipping nulls and non-finite values. */
export function toPoints(values: readonly (number | null)[], xs?: readonly number[]): Point[] {
  const out: Point[] = [];
  values.forEach((v, i) => {
    const x = xs ? xs[i] : i + 1;
    if (v !== null && Number.isFinite(v) && x !== undefined && Number.isFinite(x)) out.push([x, v]);
  });
  return out;
}

/**
 * At most `maxPoints` (≥ 4) of `points`, in order: the first and last, and from each of the buckets in
 * between its lowest and highest point.
 */
export function downsampleMinMax(points: readonly Point[], maxPoints = 600): Point[] {
  if (maxPoints < 4) throw new RangeError(`maxPoints must be at least 4, got ${maxPoints}`);
  if (points.length <= maxPoints) return points.slice();
  const inner = points.length - 2;
  const buckets = Math.floor((maxPoints - 2) / 2);
  const out: Point[] = [points[0]!];
  for (let b = 0; b < buckets; b++) {
    const start = 1 + Math.floor((b * inner) / buckets);
    const end = 1 + Math.floor(((b + 1) * inner) / buckets);
    if (end <= start) continue;
    let lo = start;
    let hi = start;
    for (let i = start + 1; i < end; i++) {
      if (points[i]![1] < points[lo]![1]) lo = i;
      if (points[i]![1] > points[hi]![1]) hi = i;
    }
    if (lo === hi) out.push(points[lo]!);
    else if (lo < hi) out.push(points[lo]!, points[hi]!);
    else out.push(points[hi]!, points[lo]!);
  }
  out.push(points[points.length - 1]!);
  return out;
}

/** Row indices to show of a table with `count` rows: all, or the first `head` and the last `tail`. */
export function tableWindow(count: number, head: number, tail: number): { rows: number[]; hidden: number } {
  if (count <= head + tail) return { rows: Array.from({ length: count }, (_, i) => i), hidden: 0 };
  const rows = [
    ...Array.from({ length: head }, (_, i) => i),
    ...Array.from({ length: tail }, (_, i) => count - tail + i),
  ];
  return { rows, hidden: count - head - tail };
}
