import type { DriftThresholdsInput } from '@floe/schema';
import { monitorDrift } from './monitor';
import { renderDriftText } from './display';

/** `floe monitor MODEL [options]`: a drift report of the model's logged requests against its training statistics. */

export const MONITOR_USAGE = `usage: floe monitor MODEL[:VERSION|@ALIAS] [options]

Compares the model version's logged requests with its training dataset's statistics (per band PSI,
KS and mean shift; incidence angle PSI, KS and missing rate; prediction positive rate), records the
report and its alerts in the project store, and prints it.

options:
  --since T         start: an ISO time or a duration ago (30m, 6h, 2d); default: the first logged request
  --until T         end (exclusive): an ISO time or a duration ago; default: now
  --window D        cut the range into windows of this length (e.g. 15m); default: one window
  --json            print the report as JSON
  --no-record       do not record the report and alerts
  --fail-on-drift   exit with status 1 when a window drifted
  --psi X  --ks X  --mean-shift X  --missing-rate X  --positive-rate X  --min-instances N
                    alert thresholds (defaults 0.2, 0.2, 0.5, 0.15, 0.3, 20)
`;

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000 };

/** `15m` → 900000; throws naming the option otherwise. */
export function parseDuration(text: string, option: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(text.trim());
  if (!m) throw new RangeError(`monitor: --${option} '${text}' is not a duration like 30s, 15m, 6h or 2d`);
  return Number(m[1]) * UNITS[m[2]!]!;
}

function parseTime(text: string, option: string, now: number): Date {
  if (/^\d+(?:\.\d+)?(ms|s|m|h|d)$/.test(text.trim())) return new Date(now - parseDuration(text, option));
  const d = new Date(text);
  if (Number.isNaN(d.getTime()))
    throw new RangeError(`monitor: --${option} '${text}' is neither an ISO time nor a duration ago (e.g. 6h)`);
  return d;
}

const THRESHOLD_OPTIONS: Record<string, keyof DriftThresholdsInput> = {
  psi: 'psi',
  ks: 'ks',
  'mean-shift': 'meanShift',
  'missing-rate': 'missingRate',
  'positive-rate': 'positiveRate',
  'min-instances': 'minInstances',
};
const KNOWN = new Set([
  'since',
  'until',
  'window',
  'json',
  'no-record',
  'fail-on-drift',
  'help',
  ...Object.keys(THRESHOLD_OPTIONS),
]);

export async function monitorCommand(
  positionals: string[],
  options: Record<string, string | true>,
  out: (line: string) => void,
): Promise<number> {
  if (options.help === true) {
    out(MONITOR_USAGE);
    return 0;
  }
  for (const k of Object.keys(options))
    if (!KNOWN.has(k)) throw new RangeError(`monitor: unknown option --${k} (see 'floe monitor --help')`);
  if (positionals.length !== 1)
    throw new RangeError(`monitor: name one model (e.g. 'floe monitor iceberg@production')`);
  const now = Date.now();
  const value = (k: string): string | undefined => {
    const v = options[k];
    if (v === true) throw new RangeError(`monitor: --${k} needs a value`);
    return v;
  };
  const thresholds: DriftThresholdsInput = {};
  for (const [opt, key] of Object.entries(THRESHOLD_OPTIONS)) {
    const v = value(opt);
    if (v === undefined) continue;
    const n = Number(v);
    if (!Number.isFinite(n) || n <= 0) throw new RangeError(`monitor: --${opt} must be a positive number, got '${v}'`);
    thresholds[key] = n;
  }
  const since = value('since');
  const until = value('until');
  const window = value('window');
  const report = await monitorDrift({
    model: positionals[0]!,
    ...(since !== undefined ? { since: parseTime(since, 'since', now) } : {}),
    ...(until !== undefined ? { until: parseTime(until, 'until', now) } : {}),
    ...(window !== undefined ? { windowMs: parseDuration(window, 'window') } : {}),
    thresholds,
    record: options['no-record'] !== true,
    display: false,
  });
  out(options.json === true ? JSON.stringify(report) : renderDriftText(report));
  const drifted = report.windows.some((w) => w.status === 'drift');
  return options['fail-on-drift'] === true && drifted ? 1 : 0;
}
