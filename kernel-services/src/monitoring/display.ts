import { DRIFT_MIME, DriftPayload, type DriftReport, type DriftWindow, type FloeMimeBundle } from '@floe/schema';
import { escapeHtml } from '../training/display';

/**
 * The drift report as a notebook display: `application/vnd.floe.drift+json` (version_major 1) for the
 * Floe renderer, with an HTML table and plain text for front ends without it. Everything that came
 * from the store (model names, feature names, messages) is escaped in the HTML.
 */

const fmt = (v: number | null | undefined, digits = 3): string =>
  v === null || v === undefined ? '—' : Number(v.toFixed(digits)).toString();

function windowLines(w: DriftWindow): string[] {
  const lines = [
    `window ${w.start} → ${w.end}: ${w.requests} requests, ${w.instances} instances — ${w.status.toUpperCase()}`,
  ];
  for (const b of w.bands) {
    lines.push(
      `  ${b.band.padEnd(12)} mean ${fmt(b.served.mean, 2)} (train ${fmt(b.reference.mean, 2)})  std ${fmt(b.served.std, 2)} (train ${fmt(b.reference.std, 2)})  shift ${fmt(b.meanShift)}σ  PSI ${fmt(b.psi)}  KS ${fmt(b.ks)}`,
    );
  }
  if (w.angle) {
    const a = w.angle;
    lines.push(
      `  ${a.feature.padEnd(12)} mean ${fmt(a.served.mean, 2)} (train ${fmt(a.reference.mean, 2)})  missing ${fmt(a.served.missingRate)} (train ${fmt(a.reference.missingRate)})  PSI ${fmt(a.psi)}  KS ${fmt(a.ks)}`,
    );
  }
  const p = w.predictions;
  lines.push(
    `  ${'prediction'.padEnd(12)} mean ${fmt(p.mean)}  positive rate ${fmt(p.positiveRate)} (training label rate ${fmt(p.referencePositiveRate)})`,
  );
  for (const a of w.alerts) lines.push(`  ALERT ${a.message}`);
  return lines;
}

export function renderDriftText(report: DriftReport): string {
  const ref = report.reference;
  const head = [
    `drift report${report.id !== null ? ` ${report.id}` : ''}: model ${report.model} version ${report.version}`,
    ref
      ? `reference: ${ref.source === 'feature-store' ? `training dataset ${ref.trainingDataset}, feature group ${ref.featureGroup} commit ${ref.commit} (${ref.rows} rows)` : "the model's channel standardisation (no feature-store lineage: no histograms)"}`
      : 'reference: none (the model has neither feature-store lineage nor preprocessing statistics)',
  ];
  return [...head, ...report.windows.flatMap(windowLines)].join('\n');
}

function cell(v: string): string {
  return `<td>${escapeHtml(v)}</td>`;
}

export function renderDriftHtml(report: DriftReport): string {
  const parts: string[] = [
    `<div class="floe-drift"><h4>Drift: ${escapeHtml(report.model)} version ${report.version}</h4>`,
    `<p>${escapeHtml(renderDriftText({ ...report, windows: [] }).split('\n')[1] ?? '')}</p>`,
  ];
  for (const w of report.windows) {
    parts.push(
      `<p><b>${escapeHtml(w.status.toUpperCase())}</b> ${escapeHtml(`${w.start} → ${w.end}: ${w.requests} requests, ${w.instances} instances`)}</p>`,
    );
    parts.push(
      '<table><thead><tr><th>feature</th><th>served mean</th><th>training mean</th><th>shift σ</th><th>PSI</th><th>KS</th></tr></thead><tbody>',
    );
    for (const b of w.bands) {
      parts.push(
        `<tr>${[b.band, fmt(b.served.mean, 2), fmt(b.reference.mean, 2), fmt(b.meanShift), fmt(b.psi), fmt(b.ks)].map(cell).join('')}</tr>`,
      );
    }
    if (w.angle) {
      const a = w.angle;
      parts.push(
        `<tr>${[`${a.feature} (missing ${fmt(a.served.missingRate)} vs ${fmt(a.reference.missingRate)})`, fmt(a.served.mean, 2), fmt(a.reference.mean, 2), '—', fmt(a.psi), fmt(a.ks)].map(cell).join('')}</tr>`,
      );
    }
    const p = w.predictions;
    parts.push(
      `<tr>${[`prediction (positive rate ${fmt(p.positiveRate)} vs label rate ${fmt(p.referencePositiveRate)})`, fmt(p.mean), '—', '—', '—', '—'].map(cell).join('')}</tr>`,
    );
    parts.push('</tbody></table>');
    if (w.alerts.length) parts.push(`<ul>${w.alerts.map((a) => `<li>${escapeHtml(a.message)}</li>`).join('')}</ul>`);
  }
  parts.push('</div>');
  return parts.join('');
}

export function driftBundle(report: DriftReport): FloeMimeBundle {
  const payload: DriftPayload = DriftPayload.parse({ version_major: 1, version_minor: 0, report });
  return {
    [DRIFT_MIME]: payload,
    'text/plain': renderDriftText(report),
    'text/html': renderDriftHtml(report),
  };
}
