import type { DriftPayload, DriftWindow } from '@floe/schema';
import { lineChart, type ChartSeries } from '../experiments/chart';
import { badge, el } from '../experiments/dom';
import { downsampleMinMax, toPoints } from './downsample';
import { formatNumber, pairedHistogram } from './plots';
import { dataTable, fact, header, note, section } from './view';

/**
 * A drift report: served requests against the training statistics, per window. The latest windows
 * in full (band table, training vs served histograms, prediction histogram, alerts); every window in
 * a PSI trend per band.
 */

const FULL_WINDOWS = 3;
const TREND_POINTS = 400;
const STATUS_BADGE: Record<DriftWindow['status'], string> = {
  ok: 'completed',
  drift: 'failed',
  'insufficient-data': 'stopped',
  'no-reference': 'stopped',
};

function statusBadge(status: DriftWindow['status']): HTMLElement {
  const node = badge(STATUS_BADGE[status]);
  node.textContent = status;
  node.dataset.floeStatus = status;
  return node;
}

function windowView(w: DriftWindow, open: boolean, key: string): HTMLElement {
  const alerted = new Set(w.alerts.map((a) => a.feature));
  const rows: (string | Node)[][] = w.bands.map((b) => [
    b.band,
    formatNumber(b.served.mean, 3),
    formatNumber(b.reference.mean, 3),
    formatNumber(b.meanShift, 3),
    formatNumber(b.psi, 3),
    formatNumber(b.ks, 3),
  ]);
  if (w.angle) {
    const a = w.angle;
    rows.push([
      `${a.feature} (missing ${formatNumber(a.served.missingRate, 3)} vs ${formatNumber(a.reference.missingRate, 3)})`,
      formatNumber(a.served.mean, 3),
      formatNumber(a.reference.mean, 3),
      '—',
      formatNumber(a.psi, 3),
      formatNumber(a.ks, 3),
    ]);
  }
  const table = dataTable(
    'floe-Drift-bands',
    ['feature', 'served mean', 'training mean', 'shift σ', 'PSI', 'KS'],
    rows,
  );
  const features = [...w.bands.map((b) => b.band), ...(w.angle ? [w.angle.feature] : [])];
  features.forEach((f, i) => {
    if (alerted.has(f)) table.tBodies[0]?.rows[i]?.classList.add('floe-mod-alert');
  });
  const histograms = el('div', 'floe-Output-row floe-Drift-histograms');
  const pair = (
    name: string,
    ref: DriftWindow['bands'][number]['referenceHistogram'],
    served: DriftWindow['bands'][number]['servedHistogram'],
  ): void => {
    if (!ref && !served) return;
    const range = ref ?? served;
    histograms.append(
      pairedHistogram(name, range ? { lo: range.lo, hi: range.hi } : null, [
        ...(ref ? [{ label: 'training', counts: ref.counts, className: 'floe-mod-reference' }] : []),
        ...(served ? [{ label: 'served', counts: served.counts, className: 'floe-mod-served' }] : []),
      ]),
    );
  };
  for (const b of w.bands) pair(b.band, b.referenceHistogram, b.servedHistogram);
  if (w.angle) pair(w.angle.feature, w.angle.referenceHistogram, w.angle.servedHistogram);
  const p = w.predictions;
  histograms.append(
    pairedHistogram('prediction p(iceberg)', { lo: 0, hi: 1 }, [
      { label: 'served', counts: p.histogram, className: 'floe-mod-served' },
    ]),
  );
  const parts: Node[] = [
    table,
    note(
      `predictions: mean ${formatNumber(p.mean, 3)}, positive rate ${formatNumber(p.positiveRate, 3)} (training label rate ${formatNumber(p.referencePositiveRate, 3)})`,
    ),
    histograms,
  ];
  if (w.alerts.length) {
    const list = el('ul', 'floe-Drift-alerts');
    for (const a of w.alerts) list.append(el('li', '', a.message));
    parts.push(list);
  }
  const details = section(key, '', open, ...parts);
  const summary = details.querySelector('summary')!;
  summary.append(
    statusBadge(w.status),
    el(
      'span',
      '',
      ` ${w.start} → ${w.end}: ${w.requests} requests, ${w.instances} instances${w.alerts.length ? `, ${w.alerts.length} alerts` : ''}`,
    ),
  );
  return details;
}

function psiTrend(windows: readonly DriftWindow[]): HTMLElement | null {
  if (windows.length < 2) return null;
  const names = [...new Set(windows.flatMap((w) => w.bands.map((b) => b.band)))];
  const series: ChartSeries[] = names.map((name) => ({
    label: name,
    points: downsampleMinMax(
      toPoints(windows.map((w) => w.bands.find((b) => b.band === name)?.psi ?? null)),
      TREND_POINTS,
    ),
  }));
  return lineChart(`PSI per window (${windows.length} windows)`, series, 420, 160);
}

export function renderDrift(payload: DriftPayload): HTMLElement {
  const r = payload.report;
  const root = el('div', 'floe-Drift');
  const latest = r.windows[r.windows.length - 1];
  root.dataset.floeStatus = latest?.status ?? 'none';
  root.append(
    header(
      `Drift: ${r.model} version ${r.version}`,
      ...(latest ? [statusBadge(latest.status)] : []),
      el('span', 'floe-Output-meta', r.id === null ? 'not recorded' : `report ${r.id}`),
    ),
  );
  const ref = r.reference;
  const facts = el('div', 'floe-Output-facts');
  facts.append(
    fact(
      'reference',
      ref === null
        ? 'none'
        : ref.source === 'feature-store'
          ? `${ref.trainingDataset ?? '?'} · ${ref.featureGroup ?? '?'} commit ${ref.commit ?? '?'} (${ref.rows ?? '?'} rows)`
          : "the model's channel standardisation (no histograms)",
    ),
    fact('windows', String(r.windows.length)),
    fact('thresholds', `PSI ${r.thresholds.psi}, KS ${r.thresholds.ks}, shift ${r.thresholds.meanShift}σ`),
  );
  root.append(facts);
  const trend = psiTrend(r.windows);
  if (trend) root.append(trend);
  if (!r.windows.length) root.append(note('no windows yet: nothing has been served since the reference'));
  const shown = r.windows.slice(-FULL_WINDOWS).reverse();
  shown.forEach((w, i) => root.append(windowView(w, i === 0, `window-${w.start}`)));
  if (r.windows.length > shown.length) {
    root.append(note(`${r.windows.length - shown.length} earlier windows are in the PSI trend above`));
  }
  return root;
}
