import type { AblationBundle } from '@floe/schema';
import { svg } from './chart';
import { badge, el, formatValue } from './dom';

/** A metric change with its sign, to three decimals (accuracies and losses differ in the 2nd–3rd). */
const signed = (v: number): string => `${v >= 0 ? '+' : '−'}${Math.abs(v).toFixed(3)}`;

/**
 * An ablation study: one horizontal bar per removed component, its length the metric's change against
 * the base trial (zero line in the middle). Bars are coloured by whether removing the component hurt
 * (it helped the model) or not, under the study's direction; the table below lists every trial.
 */
export function ablationView(study: AblationBundle, onOpenRun?: (runId: number) => void): HTMLElement {
  const root = el('div', 'floe-Ablation');
  const { metric, direction, baseMetric } = study.study;
  root.append(
    el(
      'p',
      'floe-Ablation-base',
      baseMetric === null
        ? `The base trial has no ${metric} yet: deltas appear when it finishes.`
        : `Base ${metric}: ${formatValue(baseMetric)} (${direction === 'max' ? 'higher' : 'lower'} is better). ` +
            'Each bar is the change when that component is removed.',
    ),
  );
  const bars = [...study.chart.bars].sort((a, b) => a.delta - b.delta);
  if (bars.length) {
    const rowHeight = 26;
    const labelWidth = 150;
    const valueWidth = 70;
    const width = 560;
    const plot = width - labelWidth - 2 * valueWidth;
    const height = bars.length * rowHeight + 28;
    const span = Math.max(1e-9, ...bars.map((b) => Math.abs(b.delta)));
    const zero = labelWidth + valueWidth + plot / 2;
    const chart = svg('svg', { viewBox: `0 0 ${width} ${height}`, width, height, class: 'floe-Ablation-svg' });
    chart.setAttribute('role', 'img');
    chart.setAttribute(
      'aria-label',
      `${metric} change per removed component: ${bars.map((b) => `${b.component} ${signed(b.delta)}`).join(', ')}`,
    );
    bars.forEach((bar, i) => {
      const top = 8 + i * rowHeight;
      const length = (Math.abs(bar.delta) / span) * (plot / 2);
      // Removing a component that made the model better moves the metric the wrong way.
      const hurt = direction === 'max' ? bar.delta < 0 : bar.delta > 0;
      const g = svg('g', { class: `floe-Ablation-bar ${hurt ? 'floe-mod-hurt' : 'floe-mod-helped'}` });
      g.dataset.floeComponent = bar.component;
      const name = svg('text', { x: labelWidth - 6, y: top + 15, 'text-anchor': 'end', class: 'floe-Ablation-label' });
      name.textContent = bar.component.length > 22 ? `${bar.component.slice(0, 21)}…` : bar.component;
      const rect = svg('rect', {
        x: bar.delta < 0 ? zero - length : zero,
        y: top + 3,
        width: Math.max(1, length),
        height: rowHeight - 8,
        class: 'floe-Ablation-rect',
      });
      const tip = svg('title', {});
      tip.textContent = `without ${bar.component} (${bar.kind}): ${metric} ${signed(bar.delta)}`;
      rect.append(tip);
      const value = svg('text', {
        x: bar.delta < 0 ? zero - length - 4 : zero + length + 4,
        y: top + 15,
        'text-anchor': bar.delta < 0 ? 'end' : 'start',
        class: 'floe-Ablation-value',
      });
      value.textContent = signed(bar.delta);
      g.append(name, rect, value);
      chart.append(g);
    });
    chart.append(
      svg('line', { x1: zero, y1: 4, x2: zero, y2: height - 18, class: 'floe-Chart-axis' }),
      Object.assign(svg('text', { x: zero, y: height - 4, 'text-anchor': 'middle', class: 'floe-Chart-tick' }), {
        textContent: `Δ ${metric} vs base`,
      }),
    );
    const legend = el('p', 'floe-Ablation-legend');
    legend.append(
      el('span', 'floe-Ablation-key floe-mod-hurt', 'removing it hurt (the component helps)'),
      el('span', 'floe-Ablation-key floe-mod-helped', 'removing it did not hurt'),
    );
    root.append(chart, legend);
  }

  const table = el('table', 'floe-Panel-table floe-Ablation-table');
  const head = el('tr');
  for (const h of ['component', 'kind', 'removed', 'status', metric, 'Δ vs base', 'run']) head.append(el('th', '', h));
  const thead = el('thead');
  thead.append(head);
  const body = el('tbody');
  for (const row of study.rows) {
    const tr = el('tr');
    tr.dataset.floeComponent = row.component;
    const status = el('td');
    status.append(badge(row.status));
    const run = el('td');
    if (row.runId !== null && onOpenRun) {
      const open = el('button', 'floe-LinkButton', `#${row.runId}`);
      open.type = 'button';
      open.title = `Open run ${row.runId}`;
      open.addEventListener('click', () => onOpenRun(row.runId!));
      run.append(open);
    }
    tr.append(
      el('td', '', row.component),
      el('td', '', row.kind),
      el('td', '', row.removed.join(', ')),
      status,
      el('td', '', formatValue(row.metric)),
      el('td', 'floe-Ablation-delta', row.delta === null ? '—' : signed(row.delta)),
      run,
    );
    body.append(tr);
  }
  table.append(thead, body);
  root.append(table);
  return root;
}
