// Adds up the results of every stage of scripts/test.sh into one closing line.
import { existsSync, readFileSync } from 'node:fs';

const [lintOk, seconds] = process.argv.slice(2);
let passed = 0;
let failed = 0;
let skipped = 0;
const lines = [];

function count(label, p, f, s = 0, note = '') {
  passed += p;
  failed += f;
  skipped += s;
  lines.push(`  ${label.padEnd(26)} ${p} passed, ${f} failed${s ? `, ${s} skipped` : ''}${note}`);
}

count('types + lint', lintOk === '1' ? 1 : 0, lintOk === '1' ? 0 : 1);

if (existsSync('test-results/vitest.json')) {
  const v = JSON.parse(readFileSync('test-results/vitest.json', 'utf8'));
  count(
    'vitest',
    v.numPassedTests,
    v.numFailedTests + (v.numTotalTestSuites && !v.success && !v.numFailedTests ? 1 : 0),
    v.numPendingTests + v.numTodoTests,
  );
} else count('vitest', 0, 1, 0, ' (no report: the run did not finish)');

if (existsSync('test-results/notebooks.tsv')) {
  const rows = readFileSync('test-results/notebooks.tsv', 'utf8').trim().split('\n').filter(Boolean);
  count(
    'notebooks',
    rows.filter((r) => r.endsWith('\tpassed')).length,
    rows.filter((r) => !r.endsWith('\tpassed')).length,
  );
} else count('notebooks', 0, 1, 0, ' (no report)');

if (existsSync('test-results/browser-check.json')) {
  const ok = JSON.parse(readFileSync('test-results/browser-check.json', 'utf8')).passed === true;
  count('jupyterlab browser_check', ok ? 1 : 0, ok ? 0 : 1);
} else count('jupyterlab browser_check', 0, 1, 0, ' (no report)');

if (existsSync('test-results/playwright.json')) {
  const p = JSON.parse(readFileSync('test-results/playwright.json', 'utf8'));
  const st = p.stats ?? {};
  count(
    'browser (Playwright)',
    st.expected ?? 0,
    (st.unexpected ?? 0) + (st.flaky ?? 0) + (p.errors?.length ?? 0),
    st.skipped ?? 0,
  );
} else count('browser (Playwright)', 0, 1, 0, ' (no report)');

console.log(`\nfloe test summary (${seconds ?? '?'} s):\n${lines.join('\n')}`);
console.log(`tests: ${passed} passed, ${failed} failed${skipped ? `, ${skipped} skipped` : ''}`);
process.exit(failed > 0 ? 1 : 0);
