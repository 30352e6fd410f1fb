import type { ValidationReport } from '@floe/schema';
import { badge, el } from '../experiments/dom';
import { fact, header, note, section, dataTable } from './view';

/** A validation report: outcome, one row per rule with examples, and the rows kept aside. */

const OUTCOME: Record<ValidationReport['outcome'], { text: string; badge: string }> = {
  passed: { text: 'passed', badge: 'completed' },
  accepted_with_failures: { text: 'accepted with failures', badge: 'stopped' },
  rejected: { text: 'rejected (nothing committed)', badge: 'failed' },
};
const MAX_REJECTED = 50;

export function renderValidation(r: ValidationReport): HTMLElement {
  const root = el('div', 'floe-Validation');
  root.dataset.floeOutcome = r.outcome;
  const outcome = badge(OUTCOME[r.outcome].badge);
  outcome.textContent = OUTCOME[r.outcome].text;
  root.append(header(`Validation ${r.ruleSet}`, outcome, el('span', 'floe-Output-meta', `policy ${r.policy}`)));
  const facts = el('div', 'floe-Output-facts');
  const failed = r.rules.filter((x) => !x.passed).length;
  facts.append(
    fact('rows', String(r.rows)),
    fact('accepted', String(r.accepted)),
    fact('rejected', String(r.rejected.length)),
    fact('rules failed', `${failed} of ${r.rules.length}`),
  );
  root.append(facts);
  const rules = dataTable(
    'floe-Validation-rules',
    ['', 'rule', 'level', 'failing', 'result', 'examples'],
    r.rules.map((x) => {
      const mark = el('span', x.passed ? 'floe-Validation-pass' : 'floe-Validation-fail', x.passed ? '✔' : '✘');
      mark.setAttribute('aria-label', x.passed ? 'passed' : 'failed');
      const examples = el('div', 'floe-Validation-examples');
      for (const e of x.examples)
        examples.append(el('div', '', `#${e.row}${e.id === null ? '' : ` ${e.id}`}: ${e.message}`));
      return [mark, x.rule, x.level, x.failing, x.message, examples];
    }),
  );
  root.append(rules);
  if (r.rejected.length) {
    const shown = r.rejected.slice(0, MAX_REJECTED);
    const parts: Node[] = [
      dataTable(
        'floe-Validation-rejected',
        ['row', 'id', 'reasons'],
        shown.map((x) => [x.row, x.id ?? '—', x.reasons.join('; ')]),
      ),
    ];
    if (shown.length < r.rejected.length)
      parts.push(note(`first ${shown.length} of ${r.rejected.length} rejected rows`));
    root.append(
      section(
        'rejected',
        `${r.rejected.length} rejected row${r.rejected.length === 1 ? '' : 's'} (kept aside)`,
        r.outcome !== 'rejected',
        ...parts,
      ),
    );
  }
  root.append(note(`validated ${r.validatedAt}`));
  return root;
}
