import type { ParallelCoordinatesSpec } from '@floe/schema';
import { svg } from './chart';
import { el, formatValue } from './dom';

type Axis = ParallelCoordinatesSpec['axes'][number];
type Value = string | number | boolean;

export interface ParallelCoordinatesOptions {
  /** The best trial: drawn on top, thicker, in the accent colour. */
  bestTrial?: number | null;
  /** Called with a trial number when a line is hovered or focused, and null when it is left. */
  onHighlight?: (trial: number | null) => void;
  width?: number;
  height?: number;
}

/** Where a value sits on its axis, 0 (bottom) .. 1 (top); categorical choices are spread evenly. */
export function axisPosition(axis: Axis, value: Value): number {
  if (axis.kind === 'categorical') {
    const i = axis.domain.indexOf(value);
    return axis.domain.length <= 1 ? 0.5 : Math.max(0, i) / (axis.domain.length - 1);
  }
  const [lo, hi] = axis.domain.map(Number) as [number, number];
  const f = axis.kind === 'log' ? (z: number): number => Math.log(Math.max(z, Number.MIN_VALUE)) : (z: number) => z;
  const v = Number(value);
  if (!Number.isFinite(v) || hi === lo) return 0.5;
  return Math.max(0, Math.min(1, (f(v) - f(lo)) / (f(hi) - f(lo))));
}

/**
 * Parallel coordinates of a search: one vertical axis per parameter plus the metric on the right, one
 * polyline per trial. Early-stopped trials are dashed and faint; the best trial is accented. Each line
 * is focusable (Tab) and hovering or focusing one brings it forward, dims the others and names the
 * trial's values under the chart.
 */
export function parallelCoordinates(spec: ParallelCoordinatesSpec, opts: ParallelCoordinatesOptions = {}): HTMLElement {
  const figure = el('figure', 'floe-Parallel');
  figure.dataset.floeChart = 'parallel coordinates';
  if (!spec.lines.length || spec.axes.length < 2) {
    figure.append(el('div', 'floe-Chart-empty', 'no trial has a metric yet'));
    return figure;
  }
  const height = opts.height ?? 240;
  const pad = { left: 56, right: 84, top: 28, bottom: 12 };
  const width = opts.width ?? Math.max(420, pad.left + pad.right + (spec.axes.length - 1) * 150);
  const step = (width - pad.left - pad.right) / (spec.axes.length - 1);
  const x = (i: number): number => pad.left + i * step;
  const y = (u: number): number => height - pad.bottom - u * (height - pad.top - pad.bottom);
  const metricAxis = spec.axes.length - 1;

  const root = svg('svg', { viewBox: `0 0 ${width} ${height}`, width, height, class: 'floe-Parallel-svg' });
  root.setAttribute('role', 'group');
  root.setAttribute('aria-label', `Parallel coordinates: ${spec.axes.map((a) => a.name).join(', ')}`);
  const text = (content: string, tx: number, ty: number, anchor: string, className: string): SVGTextElement => {
    const t = svg('text', { x: tx, y: ty, 'text-anchor': anchor, class: className });
    t.textContent = content;
    return t;
  };

  spec.axes.forEach((axis, i) => {
    const group = svg('g', { class: `floe-Parallel-axis${i === metricAxis ? ' floe-mod-metric' : ''}` });
    group.dataset.floeAxis = axis.name;
    group.append(svg('line', { x1: x(i), y1: y(0), x2: x(i), y2: y(1), class: 'floe-Chart-axis' }));
    const anchor = i === 0 ? 'start' : i === metricAxis ? 'end' : 'middle';
    // The axis kind as a tooltip on the axis, not inside the name (whose text is the name alone).
    const tip = svg('title', {});
    tip.textContent = `${axis.name} (${axis.kind})`;
    group.append(tip, text(axis.name, x(i), pad.top - 12, anchor, 'floe-Parallel-name'));
    const ticks: Value[] =
      axis.kind === 'categorical' ? axis.domain : [axis.domain[0]!, axis.domain[axis.domain.length - 1]!];
    for (const t of ticks) {
      group.append(text(formatValue(t), x(i) - 5, y(axisPosition(axis, t)) + 4, 'end', 'floe-Chart-tick'));
    }
    root.append(group);
  });

  const readout = el('figcaption', 'floe-Parallel-readout');
  const idle = `${spec.lines.length} trials · hover or Tab to a line to see its values · dashed: stopped early`;
  readout.textContent = idle;
  const lines = svg('g', { class: 'floe-Parallel-lines' });
  // A copy of the highlighted line drawn over all others (moving the line itself would lose its focus).
  const overlay = svg('g', { class: 'floe-Parallel-overlay' });
  // The best trial last, so it is drawn on top.
  const ordered = [...spec.lines].sort(
    (a, b) => Number(a.trial === opts.bestTrial) - Number(b.trial === opts.bestTrial) || a.trial - b.trial,
  );
  const describe = (line: ParallelCoordinatesSpec['lines'][number]): string =>
    `trial ${line.trial}${line.trial === opts.bestTrial ? ' (best)' : ''}${line.stopped ? ' (stopped early)' : ''}: ` +
    spec.axes.map((a, i) => `${a.name} ${formatValue(line.values[i])}`).join(', ');
  for (const line of ordered) {
    const points = line.values.map((v, i) => `${x(i).toFixed(1)},${y(axisPosition(spec.axes[i]!, v)).toFixed(1)}`);
    const best = line.trial === opts.bestTrial;
    const path = svg('polyline', {
      points: points.join(' '),
      class: `floe-Parallel-line${line.stopped ? ' floe-mod-stopped' : ''}${best ? ' floe-mod-best' : ''}`,
      tabindex: 0,
    });
    if (line.stopped) path.setAttribute('stroke-dasharray', '5 4');
    path.dataset.floeTrial = String(line.trial);
    path.setAttribute('role', 'img');
    path.setAttribute('aria-label', describe(line));
    const enter = (): void => {
      root.classList.add('floe-mod-focusing');
      path.classList.add('floe-mod-highlight');
      const copy = path.cloneNode(false) as SVGPolylineElement;
      copy.removeAttribute('tabindex');
      copy.removeAttribute('role');
      copy.removeAttribute('aria-label');
      copy.classList.add('floe-Parallel-copy');
      overlay.replaceChildren(copy);
      readout.textContent = describe(line);
      opts.onHighlight?.(line.trial);
    };
    const leave = (): void => {
      root.classList.remove('floe-mod-focusing');
      path.classList.remove('floe-mod-highlight');
      overlay.replaceChildren();
      readout.textContent = idle;
      opts.onHighlight?.(null);
    };
    path.addEventListener('mouseenter', enter);
    path.addEventListener('focus', enter);
    path.addEventListener('mouseleave', () => {
      if (document.activeElement !== path) leave();
    });
    path.addEventListener('blur', leave);
    lines.append(path);
    // The metric value at the right end, so the best lines can be read without hovering.
    if (best) {
      const end = y(axisPosition(spec.axes[metricAxis]!, line.values[metricAxis]!));
      lines.append(
        svg('circle', { cx: x(metricAxis), cy: end, r: 3.5, class: 'floe-Parallel-bestMark' }),
        text(
          `best ${formatValue(line.values[metricAxis])}`,
          x(metricAxis) + 6,
          end + 4,
          'start',
          'floe-Parallel-bestLabel',
        ),
      );
    }
  }
  root.append(lines, overlay);
  figure.append(root, readout);
  return figure;
}
