import { MIME_PREFIX, type ValidationReport } from '@floe/schema';

/** MIME type of a validation report in a notebook output (the payload is the report itself). */
export const VALIDATION_REPORT_MIME = `${MIME_PREFIX}validation+json` as const;

const OUTCOME_TEXT: Record<ValidationReport['outcome'], string> = {
  passed: 'passed',
  accepted_with_failures: 'accepted with failures',
  rejected: 'rejected (nothing committed)',
};

function exampleText(r: ValidationReport['rules'][number]): string {
  return r.examples.map((e) => `#${e.row}${e.id === null ? '' : ` ${e.id}`}: ${e.message}`).join('; ');
}

function clip(s: string, n: number): string {
  return s.length > n ? `${s.slice(0, n - 1)}…` : s;
}

/** A fixed-width table for terminals and `text/plain`. */
export function renderReportText(
  report: ValidationReport,
  opts: { maxRejected?: number; width?: number } = {},
): string {
  const maxRejected = opts.maxRejected ?? 10;
  const width = opts.width ?? 60;
  const head = [
    `validation ${report.ruleSet} (policy ${report.policy}): ${OUTCOME_TEXT[report.outcome]}`,
    `${report.rows} rows, ${report.accepted} accepted, ${report.rejected.length} rejected`,
  ];
  const rows = report.rules.map((r) => [
    r.passed ? 'ok' : 'FAIL',
    r.rule,
    r.level,
    String(r.failing),
    clip(r.message, width),
    clip(exampleText(r), width),
  ]);
  const header = ['', 'rule', 'level', 'failing', 'result', 'examples'];
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => r[i]!.length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => c.padEnd(widths[i]!))
      .join('  ')
      .trimEnd();
  const out = [...head, '', line(header), widths.map((w) => '-'.repeat(w)).join('  '), ...rows.map(line)];
  if (report.rejected.length > 0) {
    out.push(
      '',
      `rejected rows (kept aside${report.rejected.length > maxRejected ? `, first ${maxRejected} of ${report.rejected.length}` : ''}):`,
    );
    for (const r of report.rejected.slice(0, maxRejected))
      out.push(`  #${r.row}${r.id === null ? '' : ` ${r.id}`}: ${r.reasons.join('; ')}`);
  }
  return out.join('\n') + '\n';
}

/** Escapes text for HTML element content and attribute values. */
export function escapeHtml(s: string): string {
  return s.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c]!);
}

/** An HTML table for notebooks (`text/html`); every piece of report text is escaped. */
export function renderReportHtml(report: ValidationReport, opts: { maxRejected?: number } = {}): string {
  const maxRejected = opts.maxRejected ?? 20;
  const e = escapeHtml;
  const status = (passed: boolean): string =>
    `<span class="floe-validation-${passed ? 'pass' : 'fail'}" style="color: var(${passed ? '--jp-success-color1, green' : '--jp-error-color1, #c00'})">${passed ? '✔' : '✘'}</span>`;
  const ruleRows = report.rules
    .map(
      (r) =>
        `<tr><td>${status(r.passed)}</td><td><code>${e(r.rule)}</code></td><td>${e(r.level)}</td><td style="text-align:right">${r.failing}</td><td>${e(r.message)}</td><td>${r.examples
          .map((x) => `#${x.row}${x.id === null ? '' : ` <code>${e(x.id)}</code>`}: ${e(x.message)}`)
          .join('<br>')}</td></tr>`,
    )
    .join('\n');
  const rejected =
    report.rejected.length === 0
      ? ''
      : `<details${report.outcome === 'rejected' ? '' : ' open'}><summary>${report.rejected.length} rejected row${report.rejected.length === 1 ? '' : 's'} (kept aside)${
          report.rejected.length > maxRejected ? `, first ${maxRejected} shown` : ''
        }</summary><table class="floe-validation-rejected"><thead><tr><th>row</th><th>id</th><th>reasons</th></tr></thead><tbody>${report.rejected
          .slice(0, maxRejected)
          .map(
            (r) =>
              `<tr><td>${r.row}</td><td>${r.id === null ? '' : `<code>${e(r.id)}</code>`}</td><td>${r.reasons.map(e).join('<br>')}</td></tr>`,
          )
          .join('')}</tbody></table></details>`;
  return `<div class="floe-validation-report">
<p><b>Validation</b> <code>${e(report.ruleSet)}</code> (policy <code>${e(report.policy)}</code>): <b>${e(OUTCOME_TEXT[report.outcome])}</b> — ${report.rows} rows, ${report.accepted} accepted, ${report.rejected.length} rejected</p>
<table class="floe-validation-rules"><thead><tr><th></th><th>rule</th><th>level</th><th>failing</th><th>result</th><th>examples</th></tr></thead>
<tbody>
${ruleRows}
</tbody></table>
${rejected}</div>`;
}

/** A display bundle for tslab (`display(bundle)`): the report as JSON, HTML and plain text. */
export function validationReportBundle(report: ValidationReport): Record<string, unknown> {
  return {
    [VALIDATION_REPORT_MIME]: report,
    'text/html': renderReportHtml(report),
    'text/plain': renderReportText(report),
  };
}
