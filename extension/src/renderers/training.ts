import type { TrainingPayload } from '@floe/schema';
import { lineChart, type ChartSeries } from '../experiments/chart';
import { badge, el } from '../experiments/dom';
import { downsampleMinMax, tableWindow, toPoints } from './downsample';
import { formatNumber } from './plots';
import { dataTable, fact, header, note, scrollBox, section } from './view';

/**
 * Live training output: one display per run, re-drawn on each update_display_data — status,
 * progress bar, loss and accuracy curves, the epoch table, and the final evaluation with its
 * confusion matrix and accuracy per incidence-angle bin.
 */

const CURVE_POINTS = 600;
const TABLE_HEAD = 10;
const TABLE_TAIL = 50;

/** Fraction of the run done: finished epochs plus the current epoch's batches. */
export function progressFraction(p: TrainingPayload): number {
  const pr = p.progress;
  if (!pr.epochs) return 0;
  if (p.run.status === 'finished') return 1;
  const running = p.run.status === 'running';
  const done = Math.max(0, pr.epoch - (running ? 1 : 0)) + (running && pr.batches ? pr.batch / pr.batches : 0);
  return Math.max(0, Math.min(1, done / pr.epochs));
}

function curves(title: string, epochs: readonly number[], series: TrainingPayload['curves']['loss']): HTMLElement {
  let thinned = false;
  const chartSeries: ChartSeries[] = series.map((s) => {
    const points = toPoints(s.values, epochs);
    const drawn = downsampleMinMax(points, CURVE_POINTS);
    thinned ||= drawn.length < points.length;
    return { label: s.name, points: drawn };
  });
  const chart = lineChart(title, chartSeries, 340, 180);
  if (thinned) chart.append(note(`${epochs.length} epochs, drawn from ${CURVE_POINTS} points (min/max per bucket)`));
  return chart;
}

const COLUMNS: [string, string][] = [
  ['loss', 'loss'],
  ['accuracy', 'accuracy'],
  ['val_loss', 'val loss'],
  ['val_accuracy', 'val accuracy'],
  ['val_auc', 'val AUC'],
];

function epochTable(p: TrainingPayload): HTMLElement {
  const known = new Set(['epoch', 'seconds', ...COLUMNS.map(([k]) => k)]);
  const extra = [...new Set(p.epochs.flatMap((r) => Object.keys(r)))].filter((k) => !known.has(k)).sort();
  const cols = [
    ...COLUMNS.filter(([k]) => p.epochs.some((r) => typeof r[k] === 'number')),
    ...extra.map((k) => [k, k] as [string, string]),
  ];
  const { rows, hidden } = tableWindow(p.epochs.length, TABLE_HEAD, TABLE_TAIL);
  const body: (string | number)[][] = [];
  rows.forEach((i, n) => {
    if (hidden && n === TABLE_HEAD) body.push(['…', ...cols.map(() => ''), '']);
    const r = p.epochs[i]!;
    body.push([r.epoch, ...cols.map(([k]) => formatNumber(r[k], 4)), r.seconds.toFixed(1)]);
  });
  const table = dataTable('floe-Training-epochs', ['epoch', ...cols.map(([, h]) => h), 's'], body);
  const parts: Node[] = [scrollBox(table)];
  if (hidden) parts.push(note(`${hidden} of ${p.epochs.length} epochs not listed here (the curves draw all of them)`));
  return section('epochs', `Epochs (${p.epochs.length})`, true, ...parts);
}

type Confusion = NonNullable<TrainingPayload['evaluation']>['confusion'];

function confusionMatrix(matrix: Confusion): HTMLTableElement {
  const total = matrix[0][0] + matrix[0][1] + matrix[1][0] + matrix[1][1];
  const table = el('table', 'floe-Output-table floe-Confusion');
  table.setAttribute('aria-label', 'confusion matrix');
  const head = el('tr');
  head.append(el('th', '', ''), el('th', '', 'predicted ship'), el('th', '', 'predicted iceberg'));
  table.append(head);
  (['ship', 'iceberg'] as const).forEach((actual, i) => {
    const tr = el('tr');
    tr.append(el('th', '', `actual ${actual}`));
    for (let j = 0; j < 2; j++) {
      const count = matrix[i as 0 | 1][j as 0 | 1];
      const share = total > 0 ? count / total : 0;
      const td = el('td', `floe-Confusion-cell ${i === j ? 'floe-mod-right' : 'floe-mod-wrong'}`);
      td.append(
        el('span', 'floe-Confusion-count', String(count)),
        el('span', 'floe-Confusion-share', `${(share * 100).toFixed(1)}%`),
      );
      // Shade by share of all samples (a computed number, never payload text).
      td.style.setProperty('--floe-share', `${Math.round(share * 100)}%`);
      tr.append(td);
    }
    table.append(tr);
  });
  return table;
}

function evaluation(e: NonNullable<TrainingPayload['evaluation']>): HTMLElement {
  const facts = el('div', 'floe-Output-facts');
  facts.append(
    fact('samples', String(e.samples)),
    fact('accuracy', formatNumber(e.accuracy, 4)),
    fact('log loss', formatNumber(e.logLoss, 4)),
    fact('ROC AUC', formatNumber(e.rocAuc, 4)),
  );
  const body = el('div', 'floe-Training-evaluation');
  body.append(facts);
  const grid = el('div', 'floe-Output-row');
  grid.append(confusionMatrix(e.confusion));
  if (e.byAngle?.length) {
    grid.append(
      dataTable(
        'floe-Training-byAngle',
        ['incidence angle', 'samples', 'accuracy'],
        e.byAngle.map((b) => [b.label, b.count, formatNumber(b.accuracy, 3)]),
      ),
    );
  }
  body.append(grid);
  return section('evaluation', `Evaluation on ${e.split}`, true, body);
}

export function renderTraining(p: TrainingPayload): HTMLElement {
  const root = el('div', 'floe-Training');
  root.dataset.floeStatus = p.run.status;
  root.dataset.floeEpoch = String(p.progress.epoch);
  root.dataset.floeEpochs = String(p.progress.epochs);
  const meta: Node[] = [el('span', 'floe-Output-meta', p.model)];
  if (p.run.experiment !== null) meta.push(el('span', 'floe-Output-meta', `experiment ${p.run.experiment}`));
  if (p.run.id !== null) meta.push(el('span', 'floe-Output-meta', `run ${p.run.id}`));
  root.append(header(p.run.name, badge(p.run.status), ...meta));

  const pr = p.progress;
  const fraction = progressFraction(p);
  const progress = el('div', 'floe-Progress');
  const bar = el('div', 'floe-Progress-track');
  bar.setAttribute('role', 'progressbar');
  bar.setAttribute('aria-valuemin', '0');
  bar.setAttribute('aria-valuemax', '100');
  bar.setAttribute('aria-valuenow', String(Math.round(fraction * 100)));
  const fill = el('div', `floe-Progress-fill floe-mod-${p.run.status}`);
  fill.style.width = `${(fraction * 100).toFixed(1)}%`;
  bar.append(fill);
  const parts = [`epoch ${pr.epoch}/${pr.epochs}`];
  if (p.run.status === 'running' && pr.batches) parts.push(`batch ${pr.batch}/${pr.batches}`);
  parts.push(`${pr.elapsedSeconds.toFixed(1)} s`);
  if (pr.samplesPerSecond !== null) parts.push(`${pr.samplesPerSecond.toFixed(1)} samples/s`);
  progress.append(bar, el('span', 'floe-Progress-text', parts.join(' · ')));
  root.append(progress);
  if (p.message) root.append(note(p.message, p.run.status === 'failed' ? 'floe-mod-error' : ''));

  const charts = el('div', 'floe-Output-row floe-Training-charts');
  if (p.curves.epoch.length) {
    charts.append(curves('loss', p.curves.epoch, p.curves.loss), curves('accuracy', p.curves.epoch, p.curves.accuracy));
  } else {
    charts.append(note('curves appear after the first epoch'));
  }
  root.append(charts);
  if (p.evaluation) root.append(evaluation(p.evaluation));
  if (p.epochs.length) root.append(epochTable(p));
  return root;
}
