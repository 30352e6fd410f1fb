import * as fs from 'node:fs';
import { readStatoil } from './statoil';
import { SYNTHETIC_DEFAULTS, writeSynthetic } from './synthetic';
import { writeSyntheticParallel } from './synthetic-parallel';

type Parsed = { positionals: string[]; options: Record<string, string | true> };
type Out = (line: string) => void;

export class IngestUsageError extends Error {
  override readonly name = 'IngestUsageError';
}

const GENERATE_USAGE = `usage: floe generate --out FILE [--count N] [--seed S] [--test] [--difficulty D]
                     [--iceberg-fraction F] [--looks L] [--start I] [--threads N]
  Writes seeded synthetic SAR patches in the Statoil/C-CORE JSON format (docs/synthetic-data.md).
  --count N            records (default ${SYNTHETIC_DEFAULTS.count}, the size of the real train.json)
  --seed S             integer seed (default 1); the same seed gives the same file
  --test               test-set format: no is_iceberg field
  --difficulty D       0 (textbook) .. 1 (hard), default ${SYNTHETIC_DEFAULTS.difficulty}
  --threads N          worker threads generating and encoding (default 1: this thread); the
                       file is the same whatever N. Measured on the shared 2-core machine the
                       threads cost ~35% more CPU per patch and were not faster (docs/benchmarks.md)
  --out -              write to standard output`;

const VALIDATE_USAGE = `usage: floe validate FILE [--strict] [--html OUT.html] [--unknown-fields warn]
  Reads a Statoil/C-CORE JSON file as a stream and checks it with the default iceberg rule set.
  Exit status: 0 passed, 1 some rule failed, 2 the file could not be read.`;

function num(
  opts: Parsed['options'],
  key: string,
  fallback: number,
  check: (v: number) => boolean,
  what: string,
): number {
  const raw = opts[key];
  if (raw === undefined) return fallback;
  const v = Number(raw);
  if (raw === true || !check(v))
    throw new IngestUsageError(`--${key} must be ${what}, got ${raw === true ? 'nothing' : raw}`);
  return v;
}

export async function generateCommand(args: Parsed, out: Out, err: Out = out): Promise<number> {
  const o = args.options;
  if (o.help) {
    out(GENERATE_USAGE);
    return 0;
  }
  if (typeof o.out !== 'string') throw new IngestUsageError(`--out FILE is required\n${GENERATE_USAGE}`);
  const count = num(
    o,
    'count',
    SYNTHETIC_DEFAULTS.count,
    (v) => Number.isInteger(v) && v >= 0,
    'a non-negative integer',
  );
  const seed = num(o, 'seed', 1, Number.isSafeInteger, 'an integer');
  const difficulty = num(o, 'difficulty', SYNTHETIC_DEFAULTS.difficulty, (v) => v >= 0 && v <= 1, 'in [0, 1]');
  const icebergFraction = num(
    o,
    'iceberg-fraction',
    SYNTHETIC_DEFAULTS.icebergFraction,
    (v) => v >= 0 && v <= 1,
    'in [0, 1]',
  );
  const looks = num(
    o,
    'looks',
    SYNTHETIC_DEFAULTS.looks,
    (v) => Number.isInteger(v) && v >= 1 && v <= 16,
    'an integer 1..16',
  );
  const start = num(o, 'start', 0, (v) => Number.isInteger(v) && v >= 0, 'a non-negative integer');
  const threads = num(o, 'threads', 1, (v) => Number.isInteger(v) && v >= 1 && v <= 64, 'an integer 1..64');
  const toStdout = o.out === '-';
  // Progress goes to stderr when the data itself goes to stdout.
  const log = toStdout ? err : out;
  const t0 = performance.now();
  let lastReport = 0;
  const target = toStdout ? process.stdout : `${o.out}.partial`;
  const options = { seed, count, start, test: o.test === true, difficulty, icebergFraction, looks };
  const progress = (records: number, bytes: number): void => {
    const now = performance.now();
    if (now - lastReport > 2000) {
      lastReport = now;
      log(`  ${records}/${count} records, ${(bytes / 1e6).toFixed(1)} MB`);
    }
  };
  const result =
    threads > 1
      ? await writeSyntheticParallel(target, options, progress, { threads })
      : await writeSynthetic(target, options, progress);
  // Written under a temporary name and renamed, so an interrupted run never leaves a truncated file behind.
  if (!toStdout) fs.renameSync(`${o.out}.partial`, o.out);
  const s = (performance.now() - t0) / 1000;
  log(
    `generated ${result.records} ${o.test === true ? 'unlabelled' : 'labelled'} patches (seed ${seed}, difficulty ${difficulty}) → ${toStdout ? 'stdout' : o.out}: ${(result.bytes / 1e6).toFixed(1)} MB in ${s.toFixed(1)} s (${(result.records / s).toFixed(0)} patches/s)`,
  );
  return 0;
}

export async function validateCommand(args: Parsed, out: Out): Promise<number> {
  const o = args.options;
  const file = args.positionals[0];
  if (o.help || !file) {
    out(VALIDATE_USAGE);
    return file ? 0 : 2;
  }
  const { ICEBERG_SCHEMA, recordToRow } = await import('./iceberg-schema');
  const { validate, icebergRules, renderReportText, renderReportHtml } = await import('../validation');
  const rows = [];
  const stream = readStatoil(file, { unknownFields: o['unknown-fields'] === 'warn' ? 'warn' : 'error' });
  for await (const rec of stream) rows.push(recordToRow(rec));
  for (const w of stream.warnings)
    out(`warning: unknown field ${w.field} in ${w.count} records (first: record ${w.firstRecord})`);
  const report = validate(rows, ICEBERG_SCHEMA, icebergRules(o.strict === true ? 'strict' : 'always'));
  out(renderReportText(report).trimEnd());
  if (typeof o.html === 'string') fs.writeFileSync(o.html, renderReportHtml(report));
  return report.outcome === 'passed' ? 0 : 1;
}
