import { el } from '../experiments/dom';

/**
 * Small SVG plots the line chart of the Experiments panel does not cover: signed bars (ablation
 * deltas), paired histograms (drift: training vs served) and parallel coordinates (search trials).
 * Labels are set with textContent; colours come from --jp-* variables through CSS classes.
 */

const SVG = 'http://www.w3.org/2000/svg';

export function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number> = {},
  text?: string,
): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  if (text !== undefined) node.textContent = text;
  return node;
}

export function formatNumber(v: number | null | undefined, digits = 4): string {
  if (v === null || v === undefined || !Number.isFinite(v)) return '—';
  if (Number.isInteger(v) && Math.abs(v) < 1e9) return String(v);
  return Math.abs(v) >= 1e5 || Math.abs(v) < 1e-3 ? v.toExponential(2) : v.toPrecision(digits);
}

function figure(title: string, className: string): HTMLElement {
  const node = el('figure', `floe-Chart ${className}`);
  node.dataset.floeChart = title;
  node.append(el('figcaption', 'floe-Chart-title', title));
  return node;
}

/** Horizontal bars from zero, negative to the left; a bar's class says its sign. */
export function signedBars(title: string, bars: { label: string; value: number; kind?: string }[]): HTMLElement {
  const node = figure(title, 'floe-Bars');
  if (!bars.length) {
    node.append(el('div', 'floe-Chart-empty', 'no bars yet'));
    return node;
  }
  const labelWidth = 150;
  const width = 460;
  const row = 18;
  const height = bars.length * row + 20;
  const span = Math.max(1e-12, ...bars.map((b) => Math.abs(b.value)));
  const mid = labelWidth + (width - labelWidth - 60) / 2;
  const half = (width - labelWidth - 60) / 2;
  const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', class: 'floe-Chart-svg' });
  root.setAttribute('aria-label', title);
  root.append(svg('line', { x1: mid, y1: 0, x2: mid, y2: height - 16, class: 'floe-Chart-axis' }));
  bars.forEach((b, i) => {
    const y = i * row + 2;
    const w = (Math.abs(b.value) / span) * half;
    const label = svg('text', { x: labelWidth - 6, y: y + 12, 'text-anchor': 'end', class: 'floe-Chart-tick' });
    label.textContent = b.label.length > 26 ? `${b.label.slice(0, 25)}…` : b.label;
    label.append(svg('title', {}, b.label));
    const rect = svg('rect', {
      x: b.value < 0 ? mid - w : mid,
      y,
      width: Math.max(1, w),
      height: row - 5,
      class: `floe-Bars-bar ${b.value < 0 ? 'floe-mod-negative' : 'floe-mod-positive'}`,
    });
    rect.append(svg('title', {}, `${b.label}: ${formatNumber(b.value)}`));
    // Values sit right of the zero line (or of a positive bar), never over the component names.
    const value = svg('text', {
      x: b.value < 0 ? mid + 4 : mid + w + 4,
      y: y + 12,
      'text-anchor': 'start',
      class: 'floe-Chart-tick',
    });
    value.textContent = `${b.value >= 0 ? '+' : ''}${formatNumber(b.value, 3)}`;
    root.append(label, rect, value);
  });
  root.append(svg('text', { x: mid, y: height - 3, 'text-anchor': 'middle', class: 'floe-Chart-tick' }, '0'));
  node.append(root);
  return node;
}

/** Two histograms over the same bins, side by side per bin (e.g. training vs served), as fractions. */
export function pairedHistogram(
  title: string,
  range: { lo: number; hi: number } | null,
  series: { label: string; counts: readonly number[]; className: string }[],
): HTMLElement {
  const node = figure(title, 'floe-Histogram');
  const bins = Math.max(0, ...series.map((s) => s.counts.length));
  if (!bins) {
    node.append(el('div', 'floe-Chart-empty', 'no histogram'));
    return node;
  }
  const width = 220;
  const height = 90;
  const pad = { left: 4, right: 4, top: 4, bottom: 16 };
  const fractions = series.map((s) => {
    const total = s.counts.reduce((a, b) => a + b, 0);
    return s.counts.map((c) => (total > 0 ? c / total : 0));
  });
  const top = Math.max(1e-12, ...fractions.flat());
  const slot = (width - pad.left - pad.right) / bins;
  const barWidth = slot / Math.max(1, series.length);
  const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', class: 'floe-Chart-svg' });
  root.setAttribute('aria-label', title);
  fractions.forEach((fs, si) => {
    fs.forEach((f, b) => {
      const h = (f / top) * (height - pad.top - pad.bottom);
      const rect = svg('rect', {
        x: pad.left + b * slot + si * barWidth,
        y: height - pad.bottom - h,
        width: Math.max(0.5, barWidth - 0.5),
        height: h,
        class: `floe-Histogram-bar ${series[si]!.className}`,
      });
      rect.append(svg('title', {}, `${series[si]!.label}: bin ${b + 1}, ${(f * 100).toFixed(1)}%`));
      root.append(rect);
    });
  });
  root.append(
    svg('line', {
      x1: pad.left,
      y1: height - pad.bottom,
      x2: width - pad.right,
      y2: height - pad.bottom,
      class: 'floe-Chart-axis',
    }),
  );
  if (range) {
    root.append(
      svg('text', { x: pad.left, y: height - 4, class: 'floe-Chart-tick' }, formatNumber(range.lo, 3)),
      svg(
        'text',
        { x: width - pad.right, y: height - 4, 'text-anchor': 'end', class: 'floe-Chart-tick' },
        formatNumber(range.hi, 3),
      ),
    );
  }
  node.append(root);
  const legend = el('ul', 'floe-Chart-legend');
  for (const s of series) {
    const swatch = el('span', `floe-Chart-swatch ${s.className}`);
    const item = el('li');
    item.append(swatch, el('span', '', s.label));
    legend.append(item);
  }
  node.append(legend);
  return node;
}

export interface ParallelAxis {
  name: string;
  kind: 'linear' | 'log' | 'categorical';
  domain: readonly (string | number | boolean)[];
}

/** Where a value sits on an axis, 0 (bottom) … 1 (top); null when it cannot be placed. */
export function axisPosition(axis: ParallelAxis, value: string | number | boolean): number | null {
  if (axis.kind === 'categorical') {
    const i = axis.domain.findIndex((d) => d === value);
    if (i < 0) return null;
    return axis.domain.length === 1 ? 0.5 : i / (axis.domain.length - 1);
  }
  const [lo, hi] = [Number(axis.domain[0]), Number(axis.domain[1])];
  const v = Number(value);
  if (!Number.isFinite(v) || !Number.isFinite(lo) || !Number.isFinite(hi)) return null;
  if (axis.kind === 'log' && lo > 0 && hi > 0 && v > 0) {
    return hi === lo ? 0.5 : (Math.log(v) - Math.log(lo)) / (Math.log(hi) - Math.log(lo));
  }
  return hi === lo ? 0.5 : (v - lo) / (hi - lo);
}

/** One vertical axis per parameter (and the metric last), one polyline per trial; stopped trials dashed. */
export function parallelCoordinates(
  title: string,
  axes: readonly ParallelAxis[],
  lines: readonly { trial: number; values: readonly (string | number | boolean)[]; stopped: boolean }[],
  best: number | null,
): HTMLElement {
  const node = figure(title, 'floe-Parallel');
  if (axes.length < 2 || !lines.length) {
    node.append(el('div', 'floe-Chart-empty', 'no finished trials yet'));
    return node;
  }
  const width = Math.max(320, Math.min(900, axes.length * 130));
  const height = 200;
  const pad = { left: 44, right: 44, top: 30, bottom: 24 };
  const ax = (i: number): number => pad.left + (i / (axes.length - 1)) * (width - pad.left - pad.right);
  const ay = (f: number): number => height - pad.bottom - f * (height - pad.top - pad.bottom);
  const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', class: 'floe-Chart-svg' });
  root.setAttribute('aria-label', title);
  for (const line of lines) {
    const pts: string[] = [];
    line.values.forEach((v, i) => {
      const axis = axes[i];
      const f = axis ? axisPosition(axis, v) : null;
      if (f !== null) pts.push(`${ax(i).toFixed(1)},${ay(Math.max(0, Math.min(1, f))).toFixed(1)}`);
    });
    if (pts.length < 2) continue;
    const poly = svg('polyline', {
      points: pts.join(' '),
      fill: 'none',
      class: `floe-Parallel-line${line.stopped ? ' floe-mod-stopped' : ''}${line.trial === best ? ' floe-mod-best' : ''}`,
    });
    poly.append(svg('title', {}, `trial ${line.trial}${line.stopped ? ' (stopped early)' : ''}`));
    root.append(poly);
  }
  axes.forEach((axis, i) => {
    const x = ax(i);
    root.append(svg('line', { x1: x, y1: pad.top, x2: x, y2: height - pad.bottom, class: 'floe-Chart-axis' }));
    // The outer names align to their axis so they stay inside the chart.
    const anchor = i === 0 ? 'start' : i === axes.length - 1 ? 'end' : 'middle';
    const name = svg('text', {
      x: i === 0 ? x - 20 : i === axes.length - 1 ? x + 20 : x,
      y: 11,
      'text-anchor': anchor,
      class: 'floe-Chart-tick floe-Parallel-name',
    });
    name.textContent = axis.name.length > 18 ? `${axis.name.slice(0, 17)}…` : axis.name;
    name.append(svg('title', {}, axis.name));
    const [lo, hi] =
      axis.kind === 'categorical'
        ? [String(axis.domain[0] ?? ''), String(axis.domain[axis.domain.length - 1] ?? '')]
        : [formatNumber(Number(axis.domain[0]), 3), formatNumber(Number(axis.domain[1]), 3)];
    root.append(
      name,
      svg('text', { x, y: height - pad.bottom + 12, 'text-anchor': 'middle', class: 'floe-Chart-tick' }, lo),
      svg('text', { x, y: pad.top - 4, 'text-anchor': 'middle', class: 'floe-Chart-tick' }, hi),
    );
  });
  node.append(root);
  return node;
}
