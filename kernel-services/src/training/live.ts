import { TRAINING_MIME, type EpochRow, type FloeMimeBundle, type RunStatus, type TrainingPayload } from '@floe/schema';
import { escapeHtml, type DisplaySink } from './display';
import type { Evaluation } from './metrics';

/**
 * The live view of one training run: progress, the epoch table and loss/accuracy curves, as the
 * versioned Floe MIME payload (drawn by the extension's renderer) with HTML and text fallbacks.
 */

const fmt = (v: number | undefined | null, digits = 4): string =>
  v === undefined || v === null || !Number.isFinite(v) ? '–' : v.toFixed(digits);

/** Tiny inline SVG line chart (no scripts, no external assets) for the HTML fallback. */
export function svgCurves(
  title: string,
  epochs: number[],
  series: { name: string; values: (number | null)[]; color: string }[],
): string {
  const W = 280;
  const H = 150;
  const pad = { l: 40, r: 8, t: 18, b: 22 };
  const values = series.flatMap((s) => s.values.filter((v): v is number => v !== null && Number.isFinite(v)));
  if (epochs.length === 0 || values.length === 0) return '';
  let lo = Math.min(...values);
  let hi = Math.max(...values);
  if (hi - lo < 1e-9) {
    lo -= 0.5;
    hi += 0.5;
  }
  const x0 = epochs[0]!;
  const x1 = Math.max(epochs[epochs.length - 1]!, x0 + 1);
  const px = (e: number): number => pad.l + ((e - x0) / (x1 - x0)) * (W - pad.l - pad.r);
  const py = (v: number): number => pad.t + (1 - (v - lo) / (hi - lo)) * (H - pad.t - pad.b);
  const lines = series
    .map((s) => {
      const pts = s.values
        .map((v, i) => (v === null || !Number.isFinite(v) ? null : `${px(epochs[i]!).toFixed(1)},${py(v).toFixed(1)}`))
        .filter((p): p is string => p !== null);
      if (pts.length === 0) return '';
      const dots =
        pts.length === 1
          ? `<circle cx="${pts[0]!.split(',')[0]}" cy="${pts[0]!.split(',')[1]}" r="2" fill="${s.color}"/>`
          : '';
      return `<polyline fill="none" stroke="${s.color}" stroke-width="1.5" points="${pts.join(' ')}"/>${dots}`;
    })
    .join('');
  const legend = series
    .map(
      (s, i) => `<text x="${pad.l + 4 + i * 90}" y="12" font-size="10" fill="${s.color}">${escapeHtml(s.name)}</text>`,
    )
    .join('');
  return (
    `<svg xmlns="http://www.w3.org/2000/svg" width="${W}" height="${H}" role="img" aria-label="${escapeHtml(title)}">` +
    `<rect x="${pad.l}" y="${pad.t}" width="${W - pad.l - pad.r}" height="${H - pad.t - pad.b}" fill="none" stroke="#999" stroke-width="0.5"/>` +
    `<text x="2" y="${pad.t + 8}" font-size="9" fill="#666">${fmt(hi, 3)}</text>` +
    `<text x="2" y="${H - pad.b}" font-size="9" fill="#666">${fmt(lo, 3)}</text>` +
    `<text x="${pad.l}" y="${H - 6}" font-size="9" fill="#666">epoch ${x0}</text>` +
    `<text x="${W - pad.r - 40}" y="${H - 6}" font-size="9" fill="#666">${x1}</text>` +
    `<text x="${W / 2}" y="${H - 6}" font-size="10" fill="#333" text-anchor="middle">${escapeHtml(title)}</text>` +
    legend +
    lines +
    '</svg>'
  );
}

export interface LiveState {
  runId: number | null;
  runName: string;
  experiment: string | null;
  status: RunStatus;
  model: string;
  epochs: number;
  epoch: number;
  batch: number;
  batches: number;
  elapsedSeconds: number;
  samplesPerSecond: number | null;
  rows: EpochRow[];
  evaluation: (Evaluation & { split: string }) | null;
  message: string | null;
}

export function trainingPayload(s: LiveState): TrainingPayload {
  const series = (name: string, key: string): { name: string; values: (number | null)[] } => ({
    name,
    values: s.rows.map((r) => (typeof r[key] === 'number' && Number.isFinite(r[key]) ? (r[key] as number) : null)),
  });
  const hasVal = s.rows.some((r) => typeof r.val_loss === 'number');
  return {
    version_major: 1,
    version_minor: 0,
    run: { id: s.runId, name: s.runName, experiment: s.experiment, status: s.status },
    model: s.model,
    progress: {
      epoch: s.epoch,
      epochs: s.epochs,
      batch: s.batch,
      batches: s.batches,
      elapsedSeconds: s.elapsedSeconds,
      samplesPerSecond: s.samplesPerSecond,
    },
    epochs: s.rows,
    curves: {
      epoch: s.rows.map((r) => r.epoch),
      loss: [series('train', 'loss'), ...(hasVal ? [series('validation', 'val_loss')] : [])],
      accuracy: [series('train', 'accuracy'), ...(hasVal ? [series('validation', 'val_accuracy')] : [])],
    },
    evaluation: s.evaluation
      ? {
          split: s.evaluation.split,
          samples: s.evaluation.samples,
          accuracy: s.evaluation.accuracy,
          logLoss: s.evaluation.logLoss,
          rocAuc: Number.isFinite(s.evaluation.rocAuc) ? s.evaluation.rocAuc : null,
          confusion: s.evaluation.confusion.matrix,
          ...(s.evaluation.byAngle
            ? { byAngle: s.evaluation.byAngle.map((b) => ({ label: b.label, count: b.count, accuracy: b.accuracy })) }
            : {}),
        }
      : null,
    message: s.message,
  };
}

const COLUMNS: [string, string][] = [
  ['loss', 'loss'],
  ['accuracy', 'acc'],
  ['val_loss', 'val loss'],
  ['val_accuracy', 'val acc'],
  ['val_auc', 'val AUC'],
  ['seconds', 's'],
];

function progressLine(p: TrainingPayload): string {
  const pr = p.progress;
  const rate = pr.samplesPerSecond ? `, ${pr.samplesPerSecond.toFixed(1)} samples/s` : '';
  const batch = p.run.status === 'running' && pr.batches ? `, batch ${pr.batch}/${pr.batches}` : '';
  return `${p.run.name} (${p.model}) ${p.run.status}: epoch ${pr.epoch}/${pr.epochs}${batch}, ${pr.elapsedSeconds.toFixed(1)} s${rate}`;
}

export function trainingText(p: TrainingPayload): string {
  const lines = [progressLine(p)];
  if (p.message) lines.push(p.message);
  const cols = COLUMNS.filter(([k]) => p.epochs.some((r) => typeof r[k] === 'number'));
  if (p.epochs.length) {
    lines.push(['epoch', ...cols.map(([, h]) => h)].join('\t'));
    for (const r of p.epochs)
      lines.push(
        [String(r.epoch), ...cols.map(([k]) => fmt(r[k] as number | undefined, k === 'seconds' ? 1 : 4))].join('\t'),
      );
  }
  if (p.evaluation) {
    const e = p.evaluation;
    lines.push(
      `${e.split}: accuracy ${fmt(e.accuracy)}, log loss ${fmt(e.logLoss)}, ROC AUC ${fmt(e.rocAuc)}, confusion [[tn, fp], [fn, tp]] = ${JSON.stringify(e.confusion)}`,
    );
  }
  return lines.join('\n');
}

export function trainingHtml(p: TrainingPayload): string {
  const pr = p.progress;
  const fraction = pr.epochs
    ? Math.min(
        1,
        (Math.max(0, pr.epoch - (p.run.status === 'running' ? 1 : 0)) +
          (p.run.status === 'running' && pr.batches ? pr.batch / pr.batches : 0)) /
          pr.epochs,
      )
    : 0;
  const cols = COLUMNS.filter(([k]) => p.epochs.some((r) => typeof r[k] === 'number'));
  const table = p.epochs.length
    ? `<table style="border-collapse:collapse;font-size:12px"><thead><tr><th style="text-align:right;padding:0 6px">epoch</th>${cols
        .map(([, h]) => `<th style="text-align:right;padding:0 6px">${escapeHtml(h)}</th>`)
        .join('')}</tr></thead><tbody>${p.epochs
        .map(
          (r) =>
            `<tr><td style="text-align:right;padding:0 6px">${r.epoch}</td>${cols.map(([k]) => `<td style="text-align:right;padding:0 6px">${fmt(r[k] as number | undefined, k === 'seconds' ? 1 : 4)}</td>`).join('')}</tr>`,
        )
        .join('')}</tbody></table>`
    : '';
  const colors = ['#1f77b4', '#ff7f0e'];
  const loss = svgCurves(
    'loss',
    p.curves.epoch,
    p.curves.loss.map((s, i) => ({ ...s, color: colors[i]! })),
  );
  const acc = svgCurves(
    'accuracy',
    p.curves.epoch,
    p.curves.accuracy.map((s, i) => ({ ...s, color: colors[i]! })),
  );
  const e = p.evaluation;
  const evaluation = e
    ? `<div style="font-size:12px;margin-top:4px">${escapeHtml(e.split)} (${e.samples} samples): accuracy ${fmt(e.accuracy)}, log loss ${fmt(e.logLoss)}, ROC AUC ${fmt(e.rocAuc)}; confusion [[tn, fp], [fn, tp]] = ${escapeHtml(JSON.stringify(e.confusion))}</div>`
    : '';
  return (
    `<div class="floe-training" style="font-family:var(--jp-ui-font-family,sans-serif)">` +
    `<div style="font-size:12px">${escapeHtml(progressLine(p))}</div>` +
    `<progress max="1" value="${fraction.toFixed(3)}" style="width:300px"></progress>` +
    (p.message
      ? `<div style="font-size:12px;color:${p.run.status === 'failed' ? '#c00' : 'inherit'}">${escapeHtml(p.message)}</div>`
      : '') +
    `<div style="display:flex;gap:12px;flex-wrap:wrap">${loss}${acc}</div>` +
    table +
    evaluation +
    '</div>'
  );
}

export function trainingBundle(state: LiveState): FloeMimeBundle {
  const payload = trainingPayload(state);
  return { [TRAINING_MIME]: payload, 'text/html': trainingHtml(payload), 'text/plain': trainingText(payload) };
}

/** Throttles progress updates between epochs so a fast loop does not flood the notebook. */
export class LiveTrainingView {
  private lastShown = 0;
  constructor(
    private readonly sink: DisplaySink | null,
    private readonly minIntervalMs = 500,
  ) {}

  get active(): boolean {
    return this.sink !== null;
  }

  show(state: LiveState, force = false): void {
    if (!this.sink) return;
    const now = Date.now();
    if (!force && now - this.lastShown < this.minIntervalMs) return;
    this.lastShown = now;
    try {
      this.sink(trainingBundle(state));
    } catch {
      // A display failure (e.g. the kernel's output channel closed) must not fail the training run.
    }
  }
}
