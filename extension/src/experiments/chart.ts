import { el } from './dom';

const SVG = 'http://www.w3.org/2000/svg';

export interface ChartSeries {
  label: string;
  points: readonly (readonly [number, number])[];
  /** Drawn dashed (e.g. an early-stopped trial). */
  dashed?: boolean;
}

/** An SVG element with attributes (values set as text: nothing from the store is parsed as markup). */
export function svg<K extends keyof SVGElementTagNameMap>(
  tag: K,
  attrs: Record<string, string | number>,
): SVGElementTagNameMap[K] {
  const node = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) node.setAttribute(k, String(v));
  return node;
}

/** Eight colours from JupyterLab's theme-aware palette (`--jp-*` variables), so dark themes work. */
const COLOURS = [
  'var(--jp-brand-color1)',
  'var(--jp-warn-color1)',
  'var(--jp-success-color1)',
  'var(--jp-error-color1)',
  'var(--jp-info-color1)',
  'var(--jp-brand-color3)',
  'var(--jp-warn-color3)',
  'var(--jp-success-color3)',
];

/**
 * A small SVG line chart (several series overlaid, axes with min/max labels, a legend). Kept in-house:
 * curves of a few hundred downsampled points need no plotting library, and the panel loads instantly.
 */
export function lineChart(title: string, series: ChartSeries[], width = 360, height = 180): HTMLElement {
  const figure = el('figure', 'floe-Chart');
  figure.dataset.floeChart = title;
  figure.append(el('figcaption', 'floe-Chart-title', title));
  const all = series.flatMap((s) => s.points);
  if (!all.length) {
    figure.append(el('div', 'floe-Chart-empty', 'no points yet'));
    return figure;
  }
  const pad = { left: 44, right: 8, top: 8, bottom: 22 };
  let [x0, x1, y0, y1] = [Infinity, -Infinity, Infinity, -Infinity];
  for (const [x, y] of all) {
    x0 = Math.min(x0, x);
    x1 = Math.max(x1, x);
    y0 = Math.min(y0, y);
    y1 = Math.max(y1, y);
  }
  if (x1 === x0) x1 = x0 + 1;
  if (y1 === y0) [y0, y1] = [y0 - 0.5, y1 + 0.5];
  const sx = (x: number): number => pad.left + ((x - x0) / (x1 - x0)) * (width - pad.left - pad.right);
  const sy = (y: number): number => height - pad.bottom - ((y - y0) / (y1 - y0)) * (height - pad.top - pad.bottom);
  const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, width, height, role: 'img', class: 'floe-Chart-svg' });
  root.setAttribute('aria-label', title);
  root.append(
    svg('line', {
      x1: pad.left,
      y1: height - pad.bottom,
      x2: width - pad.right,
      y2: height - pad.bottom,
      class: 'floe-Chart-axis',
    }),
    svg('line', { x1: pad.left, y1: pad.top, x2: pad.left, y2: height - pad.bottom, class: 'floe-Chart-axis' }),
  );
  const label = (text: string, x: number, y: number, anchor: string): void => {
    const t = svg('text', { x, y, 'text-anchor': anchor, class: 'floe-Chart-tick' });
    t.textContent = text;
    root.append(t);
  };
  const fmt = (v: number): string =>
    Math.abs(v) >= 1000 || Number.isInteger(v) ? String(Math.round(v)) : v.toPrecision(3);
  label(fmt(y1), pad.left - 4, pad.top + 8, 'end');
  label(fmt(y0), pad.left - 4, height - pad.bottom, 'end');
  label(fmt(x0), pad.left, height - 6, 'start');
  label(fmt(x1), width - pad.right, height - 6, 'end');
  series.forEach((s, i) => {
    if (!s.points.length) return;
    const colour = COLOURS[i % COLOURS.length]!;
    const d = s.points.map(([x, y], j) => `${j ? 'L' : 'M'}${sx(x).toFixed(1)},${sy(y).toFixed(1)}`).join('');
    const path = svg('path', { d, fill: 'none', stroke: colour, 'stroke-width': 1.5, class: 'floe-Chart-line' });
    if (s.dashed) path.setAttribute('stroke-dasharray', '4 3');
    const tip = svg('title', {});
    tip.textContent = s.label;
    path.append(tip);
    root.append(path);
    if (s.points.length === 1) {
      const [x, y] = s.points[0]!;
      root.append(svg('circle', { cx: sx(x), cy: sy(y), r: 2.5, fill: colour }));
    }
  });
  figure.append(root);
  if (series.length > 1) {
    const legend = el('ul', 'floe-Chart-legend');
    series.forEach((s, i) => {
      const item = el('li', s.dashed ? 'floe-mod-dashed' : '');
      const swatch = el('span', 'floe-Chart-swatch');
      swatch.style.background = COLOURS[i % COLOURS.length]!;
      item.append(swatch, el('span', '', s.label));
      legend.append(item);
    });
    figure.append(legend);
  }
  return figure;
}
