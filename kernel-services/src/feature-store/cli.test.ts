import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { parseArgs } from '../cli/main';
import { writeSynthetic } from '../ingest/synthetic';
import { fsCommand } from './cli';
import { readRecords } from './tfrecord';

describe('floe fs (command line)', () => {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-fs-cli-'));
  afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

  async function run(...argv: string[]): Promise<{ code: number; lines: string[] }> {
    const lines: string[] = [];
    const code = await fsCommand([...argv, '--home', home], (l) => lines.push(l), parseArgs);
    return { code, lines };
  }

  it('creates, inserts a Statoil file, lists, shows statistics, builds and exports a dataset', async () => {
    const file = path.join(home, 'train.json');
    await writeSynthetic(file, { seed: 5, count: 24 });
    expect((await run('create', 'icebergs', '--schema', 'statoil', '--primary-key', 'id')).lines[0]).toMatch(
      /created feature group icebergs v1 \(5 features, primary key id\)/,
    );
    const ins = await run('insert', 'icebergs', '--file', file, '--chunk', '10');
    expect(ins.lines.at(-1)).toMatch(
      /commit 1 of icebergs v1: 24 rows inserted, 0 kept aside by validation, 24 rows in total/,
    );
    expect(ins.lines.some((l) => /read 24 records/.test(l))).toBe(true);
    await expect(run('insert', 'icebergs', '--file', file)).rejects.toThrow(/duplicate primary key/);
    const stats = await run('stats', 'icebergs');
    expect(stats.lines.join('\n')).toMatch(/band_1 +values 135000 +non-finite 0/);
    const ds = await run(
      'dataset',
      'iceberg_split',
      '--from',
      'icebergs:1',
      '--features',
      'band_1,band_2',
      '--label',
      'is_iceberg',
      '--splits',
      'train=0.5,test=0.5',
      '--seed',
      '2',
    );
    expect(ds.lines[0]).toMatch(
      /created training dataset iceberg_split v1 from icebergs v1 commit 1: train 12, test 12/,
    );
    expect((await run('list')).lines.join('\n')).toMatch(
      /icebergs v1 +24 rows +1 commits[\s\S]*dataset iceberg_split v1/,
    );
    const out = path.join(home, 'export');
    const ex = await run('export', 'iceberg_split', '--format', 'tfrecord', '--out', out);
    expect(ex.lines).toHaveLength(2);
    expect([...readRecords(fs.readFileSync(path.join(out, 'test.tfrecord')))]).toHaveLength(12);
    await expect(run('export', 'iceberg_split', '--format', 'csv')).rejects.toThrow(/tfrecord or parquet/);
    await expect(
      run('create', 'x', '--schema', path.join(home, 'missing.json'), '--primary-key', 'id'),
    ).rejects.toThrow(/cannot read/);
  });
});
