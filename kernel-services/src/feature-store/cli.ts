/**
 * `floe fs <command>`: the feature store from the command line. Thin: parses options, calls the
 * library, prints. The project store is `--home` or FLOE_HOME (metadata/blob URLs from FLOE_METADATA_URL
 * and FLOE_BLOB_URL, see store/index.ts).
 */
import * as fs from 'node:fs';
import type { FeatureSchema } from '@floe/schema';
import { FeatureStore } from './feature-store';
import type { FeatureStatistics } from './statistics';

export const FS_USAGE = `usage: floe fs <command> [--home DIR]
  create <group> --schema FILE.json|statoil --primary-key F[,F] [--event-time F] [--description TEXT]
                 [--rules FILE.json] [--version N]
  insert <group> --file FILE (.json Statoil/C-CORE array, read as a stream; .jsonl one row per line)
                 [--version N] [--chunk N]
  list
  stats <group> [--version N] [--commit N] [--json]
  dataset <name> --from GROUP[:VERSION] --features F[,F] [--label F] [--filter SQL]
                 [--splits train=0.8,validation=0.1,test=0.1] [--seed N] [--commit N]
  export <dataset>[:VERSION] --format tfrecord|parquet [--out DIR] [--splits S[,S]]
`;

/** The Statoil/C-CORE patch schema (`--schema statoil`). */
export const STATOIL_SCHEMA: FeatureSchema = [
  { name: 'id', kind: 'scalar', dtype: 'string', nullable: false, description: 'patch id' },
  {
    name: 'band_1',
    kind: 'tensor',
    dtype: 'float32',
    shape: [75, 75],
    nullable: false,
    unit: 'dB',
    description: 'HH backscatter',
  },
  {
    name: 'band_2',
    kind: 'tensor',
    dtype: 'float32',
    shape: [75, 75],
    nullable: false,
    unit: 'dB',
    description: 'HV backscatter',
  },
  {
    name: 'inc_angle',
    kind: 'scalar',
    dtype: 'float64',
    nullable: true,
    description: 'incidence angle (degrees); null where "na"',
  },
  { name: 'is_iceberg', kind: 'scalar', dtype: 'int32', nullable: true, description: '1 iceberg, 0 ship' },
];

type Options = Record<string, string | true>;

function str(options: Options, key: string, required = false): string | undefined {
  const v = options[key];
  if (v === true) throw new Error(`--${key} needs a value`);
  if (required && v === undefined) throw new Error(`--${key} is required (see 'floe fs help')`);
  return v;
}

function int(options: Options, key: string): number | undefined {
  const v = str(options, key);
  if (v === undefined) return undefined;
  const n = Number(v);
  if (!Number.isInteger(n)) throw new Error(`--${key} must be an integer, got ${v}`);
  return n;
}

function readJsonFile(file: string, what: string): unknown {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    throw new Error(`${what}: cannot read ${file}: ${(err as Error).message}`);
  }
  try {
    return JSON.parse(text);
  } catch (err) {
    throw new Error(`${what}: ${file} is not valid JSON: ${(err as Error).message}`);
  }
}

function nameVersion(spec: string): { name: string; version: number | undefined } {
  const [name, v] = spec.split(':');
  if (v !== undefined && !/^\d+$/.test(v)) throw new Error(`'${spec}': expected NAME or NAME:VERSION`);
  return { name: name!, version: v === undefined ? undefined : Number(v) };
}

async function* jsonlRows(file: string, chunk: number): AsyncIterable<unknown[]> {
  const readline = await import('node:readline');
  const lines = readline.createInterface({ input: fs.createReadStream(file), crlfDelay: Infinity });
  let rows: unknown[] = [];
  let n = 0;
  for await (const line of lines) {
    n++;
    if (!line.trim()) continue;
    try {
      rows.push(JSON.parse(line));
    } catch (err) {
      throw new Error(`${file}: line ${n} is not valid JSON: ${(err as Error).message}`);
    }
    if (rows.length >= chunk) {
      yield rows;
      rows = [];
    }
  }
  if (rows.length) yield rows;
}

async function* statoilRows(file: string, chunk: number, out: (s: string) => void): AsyncIterable<unknown[]> {
  const { readStatoil } = await import('../ingest/statoil');
  let last = 0;
  const stream = readStatoil(file, {
    onProgress: (p) => {
      const now = Date.now();
      if (now - last > 1000 || (p.totalBytes !== undefined && p.bytesRead >= p.totalBytes)) {
        last = now;
        const pct = p.totalBytes ? ` (${((100 * p.bytesRead) / p.totalBytes).toFixed(0)}%)` : '';
        out(`read ${p.records} records, ${(p.bytesRead / 1e6).toFixed(1)} MB${pct}`);
      }
    },
  });
  let rows: unknown[] = [];
  for await (const r of stream) {
    rows.push(r.is_iceberg === undefined ? { ...r, is_iceberg: null } : r);
    if (rows.length >= chunk) {
      yield rows;
      rows = [];
    }
  }
  if (rows.length) yield rows;
}

function statLine(s: FeatureStatistics): string[] {
  const f = (x: number | null | undefined): string =>
    x === null || x === undefined ? '-' : Number(x.toPrecision(6)).toString();
  const lines: string[] = [];
  if (s.bands) {
    for (const b of s.bands) {
      lines.push(
        `  ${b.band.padEnd(16)} values ${b.count}  non-finite ${b.nonFinite}  min ${f(b.min)}  max ${f(b.max)}  mean ${f(b.mean)}  std ${f(b.std)}`,
      );
      if (b.histogram) {
        const peak = Math.max(...b.histogram.counts, 1);
        const bars = b.histogram.counts.map((c) => ' ▁▂▃▄▅▆▇█'[Math.round((8 * c) / peak)]).join('');
        lines.push(`  ${''.padEnd(16)} [${f(b.histogram.lo)} ${bars} ${f(b.histogram.hi)}]`);
      }
    }
  } else if (s.numeric) {
    const n = s.numeric;
    lines.push(
      `  ${s.name.padEnd(16)} rows ${s.rows}  missing ${s.missing}  non-finite ${n.nonFinite}  min ${f(n.min)}  max ${f(n.max)}  mean ${f(n.mean)}  std ${f(n.std)}`,
    );
  } else {
    const extra =
      s.distinct !== undefined
        ? `  distinct ${s.distinct}${s.distinctCapped ? '+' : ''}`
        : s.trueCount !== undefined
          ? `  true ${s.trueCount}`
          : s.earliest
            ? `  ${s.earliest} .. ${s.latest}`
            : '';
    lines.push(`  ${s.name.padEnd(16)} rows ${s.rows}  missing ${s.missing}${extra}`);
  }
  return lines;
}

export async function fsCommand(
  argv: string[],
  out: (line: string) => void,
  parse: (a: string[]) => { positionals: string[]; options: Options },
): Promise<number> {
  const { positionals, options } = parse(argv);
  const [command, target] = positionals;
  if (!command || command === 'help') {
    out(FS_USAGE);
    return command ? 0 : 2;
  }
  const store = await FeatureStore.open(typeof options.home === 'string' ? { home: options.home } : {});
  try {
    switch (command) {
      case 'create': {
        if (!target) throw new Error('create: name the feature group');
        const schemaArg = str(options, 'schema', true)!;
        const schema = schemaArg === 'statoil' ? STATOIL_SCHEMA : readJsonFile(schemaArg, 'create --schema');
        const g = await store.createFeatureGroup({
          name: target,
          version: int(options, 'version'),
          schema,
          primaryKey: str(options, 'primary-key', true)!.split(','),
          eventTime: str(options, 'event-time'),
          description: str(options, 'description'),
          ruleSet: options.rules ? readJsonFile(str(options, 'rules')!, 'create --rules') : undefined,
        });
        out(
          `created feature group ${g.name} v${g.version} (${g.schema.length} features, primary key ${g.info.primaryKey.join(', ')})`,
        );
        return 0;
      }
      case 'insert': {
        if (!target) throw new Error('insert: name the feature group');
        const file = str(options, 'file', true)!;
        if (!fs.existsSync(file)) throw new Error(`insert: no file ${file}`);
        const chunk = int(options, 'chunk') ?? 500;
        const g = await store.getFeatureGroup(target, int(options, 'version'));
        const rows = file.endsWith('.jsonl') ? jsonlRows(file, chunk) : statoilRows(file, chunk, out);
        const c = await g.insert(rows, { chunkRows: chunk });
        out(
          `commit ${c.number} of ${g.name} v${g.version}: ${c.rowsInserted} rows inserted, ${c.rowsRejected} kept aside by validation, ${c.totalRows} rows in total`,
        );
        return 0;
      }
      case 'list': {
        const groups = await store.listFeatureGroups();
        if (groups.length === 0) out('no feature groups');
        for (const g of groups) {
          out(
            `${`${g.name} v${g.version}`.padEnd(30)} ${String(g.rows).padStart(8)} rows  ${String(g.commits).padStart(4)} commits  ${g.lastCommitAt?.toISOString() ?? '-'}  ${g.description}`,
          );
        }
        const datasets = await store.listTrainingDatasets();
        for (const d of datasets) {
          const l = d.spec.lineage.featureGroup;
          out(
            `dataset ${`${d.name} v${d.version}`.padEnd(22)} from ${l.name} v${l.version} commit ${l.commit}  ${Object.entries(
              d.splitCounts,
            )
              .map(([k, v]) => `${k} ${v}`)
              .join(', ')}`,
          );
        }
        return 0;
      }
      case 'stats': {
        if (!target) throw new Error('stats: name the feature group');
        const g = await store.getFeatureGroup(target, int(options, 'version'));
        const c = await g.commit(int(options, 'commit'));
        if (!c) {
          out(`${g.name} v${g.version} has no commit yet`);
          return 0;
        }
        if (options.json === true) {
          out(JSON.stringify({ commit: c.number, statistics: c.statistics, validation: c.validation }, null, 2));
          return 0;
        }
        out(
          `${g.name} v${g.version} commit ${c.number} (${c.committedAt.toISOString()}): ${c.rowsInserted} inserted, ${c.rowsRejected} rejected, ${c.totalRows} in the group`,
        );
        out('group statistics as of this commit:');
        for (const s of Object.values(c.statistics.group.features)) statLine(s).forEach((l) => out(l));
        return 0;
      }
      case 'dataset': {
        if (!target) throw new Error('dataset: name the training dataset');
        const from = nameVersion(str(options, 'from', true)!);
        const splits = options.splits
          ? Object.fromEntries(
              str(options, 'splits')!
                .split(',')
                .map((kv) => {
                  const [k, v] = kv.split('=');
                  if (!k || v === undefined || Number.isNaN(Number(v)))
                    throw new Error(`dataset --splits: expected name=fraction, got '${kv}'`);
                  return [k, Number(v)];
                }),
            )
          : undefined;
        const td = await store.createTrainingDataset({
          name: target,
          featureGroup: from,
          commit: int(options, 'commit'),
          features: str(options, 'features', true)!.split(','),
          label: str(options, 'label'),
          filter: str(options, 'filter'),
          splits,
          seed: int(options, 'seed'),
        });
        const l = td.spec.lineage.featureGroup;
        out(
          `created training dataset ${td.name} v${td.version} from ${l.name} v${l.version} commit ${l.commit}: ${Object.entries(
            td.info.splitCounts,
          )
            .map(([k, v]) => `${k} ${v}`)
            .join(', ')}`,
        );
        return 0;
      }
      case 'export': {
        if (!target) throw new Error('export: name the training dataset');
        const { name, version } = nameVersion(target);
        const format = str(options, 'format', true)!;
        if (format !== 'tfrecord' && format !== 'parquet')
          throw new Error(`export --format must be tfrecord or parquet, got ${format}`);
        const td = await store.getTrainingDataset(name, version);
        const res = await td.export({
          format,
          dir: str(options, 'out'),
          splits: options.splits ? str(options, 'splits')!.split(',') : undefined,
        });
        for (const [split, file] of Object.entries(res.files))
          out(`${split}: ${res.rows[split]} rows, ${(res.bytes[split]! / 1e6).toFixed(1)} MB -> ${file}`);
        return 0;
      }
      default:
        throw new Error(`unknown fs command '${command}'\n${FS_USAGE}`);
    }
  } finally {
    await store.close();
  }
}
