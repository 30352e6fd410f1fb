import type { AblationBundle, SearchBundle } from '@floe/schema';
import { lineChart, type ChartSeries } from '../experiments/chart';
import { badge, el, formatValue } from '../experiments/dom';
import { downsampleMinMax, tableWindow, toPoints } from './downsample';
import { formatNumber, parallelCoordinates, signedBars } from './plots';
import { dataTable, fact, header, note, scrollBox, section } from './view';

/**
 * Searches and ablation studies as the driver reports them: trials with their stop reasons, learning
 * curves with early-stopped trials dashed, parallel coordinates, the best trial; ablation deltas.
 */

const CURVE_POINTS = 300;
/** Beyond this many trials the curves chart keeps the best ones and says how many it left out. */
const MAX_CURVES = 40;
const TABLE_HEAD = 50;
const TABLE_TAIL = 150;

type Trial = SearchBundle['trials'][number];

function metricOrder(direction: 'max' | 'min'): (a: Trial, b: Trial) => number {
  const value = (t: Trial): number => t.bestMetric ?? t.metric ?? (direction === 'max' ? -Infinity : Infinity);
  return direction === 'max' ? (a, b) => value(b) - value(a) : (a, b) => value(a) - value(b);
}

function learningCurves(b: SearchBundle): HTMLElement {
  const withCurves = b.trials.filter((t) => t.curve.length > 0);
  const chosen =
    withCurves.length > MAX_CURVES
      ? [...withCurves].sort(metricOrder(b.search.direction)).slice(0, MAX_CURVES)
      : withCurves;
  const series: ChartSeries[] = chosen
    .sort((x, y) => x.number - y.number)
    .map((t) => ({
      label: `#${t.number}${t.status === 'stopped' ? ' (stopped)' : ''}`,
      points: downsampleMinMax(toPoints(t.curve), CURVE_POINTS),
      dashed: t.status === 'stopped',
    }));
  const chart = lineChart(`${b.search.metric} per step`, series, 420, 200);
  chart.classList.add('floe-Search-curves');
  if (chosen.length < withCurves.length) {
    chart.append(note(`the ${chosen.length} best of ${withCurves.length} trials drawn; all are in the table`));
  }
  return chart;
}

function trialTable(b: SearchBundle): HTMLElement {
  const names = Object.keys(b.space);
  const { rows, hidden } = tableWindow(b.trials.length, TABLE_HEAD, TABLE_TAIL);
  const body: (string | number | Node)[][] = [];
  let bestRow = -1;
  rows.forEach((i, n) => {
    if (hidden && n === TABLE_HEAD) body.push(['…', '', ...names.map(() => ''), '', '', '', '']);
    const t = b.trials[i]!;
    if (b.best && t.number === b.best.trial) bestRow = body.length;
    body.push([
      t.number,
      badge(t.status),
      ...names.map((name) => formatValue(t.params[name])),
      formatNumber(t.metric),
      t.steps,
      t.budget === null ? '—' : `${formatNumber(t.budget)}${t.rung === null ? '' : ` (rung ${t.rung})`}`,
      t.stopReason ?? t.error ?? '',
    ]);
  });
  const table = dataTable(
    'floe-Search-trialTable',
    ['#', 'status', ...names, b.search.metric, 'steps', 'budget', 'why it ended early'],
    body,
  );
  if (bestRow >= 0) table.tBodies[0]?.rows[bestRow]?.classList.add('floe-mod-best');
  const parts: Node[] = [scrollBox(table)];
  if (hidden) parts.push(note(`${hidden} of ${b.trials.length} trials not listed here`));
  return section('trials', `Trials (${b.trials.length})`, true, ...parts);
}

export function renderSearch(b: SearchBundle): HTMLElement {
  const s = b.search;
  const root = el('div', 'floe-Search');
  root.dataset.floeStatus = s.status;
  root.dataset.floeTrials = String(b.trials.length);
  root.append(header(s.name, badge(s.status), el('span', 'floe-Output-meta', `${s.kind} ${s.id}`)));
  const facts = el('div', 'floe-Output-facts');
  const stopped = b.trials.filter((t) => t.status === 'stopped').length;
  facts.append(
    fact('optimizer', s.optimizer),
    fact('metric', `${s.metric} (${s.direction})`),
    fact('trials', `${b.trials.length}/${s.numTrials}${stopped ? `, ${stopped} stopped early` : ''}`),
    fact('workers', `${s.workers} ${s.mode}`),
  );
  root.append(facts);
  if (b.best) {
    const best = el('div', 'floe-Search-bestTrial');
    const params = Object.entries(b.best.params)
      .map(([k, v]) => `${k} = ${formatValue(v)}`)
      .join(', ');
    best.textContent = `best: trial #${b.best.trial}, ${s.metric} = ${formatNumber(b.best.metric)}${params ? ` — ${params}` : ''}`;
    root.append(best);
  }
  const charts = el('div', 'floe-Output-row');
  charts.append(
    learningCurves(b),
    parallelCoordinates(
      'parallel coordinates',
      b.parallelCoordinates.axes,
      b.parallelCoordinates.lines,
      b.best?.trial ?? null,
    ),
  );
  root.append(charts);
  root.append(trialTable(b));
  return root;
}

export function renderAblation(b: AblationBundle): HTMLElement {
  const s = b.study;
  const root = el('div', 'floe-Ablation');
  root.dataset.floeStatus = s.status;
  root.append(header(s.name, badge(s.status), el('span', 'floe-Output-meta', `ablation ${s.id}`)));
  const facts = el('div', 'floe-Output-facts');
  facts.append(fact('metric', `${s.metric} (${s.direction})`), fact('full model', formatNumber(s.baseMetric)));
  root.append(facts);
  root.append(
    signedBars(
      `${s.metric} change when removed`,
      b.chart.bars.map((bar) => ({ label: bar.component, value: bar.delta, kind: bar.kind })),
    ),
  );
  root.append(
    note(
      s.direction === 'max'
        ? 'a negative change means the component helped'
        : 'a positive change means the component helped',
    ),
  );
  root.append(
    section(
      'components',
      `Components (${b.rows.length})`,
      true,
      dataTable(
        'floe-Ablation-rows',
        ['component', 'kind', 'removed', 'status', s.metric, 'change'],
        b.rows.map((r) => [
          r.component,
          r.kind,
          r.removed.join(', '),
          badge(r.status),
          formatNumber(r.metric),
          r.delta === null ? '—' : `${r.delta >= 0 ? '+' : ''}${formatNumber(r.delta)}`,
        ]),
      ),
    ),
  );
  return root;
}
