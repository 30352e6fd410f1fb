import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openProjectStore } from '../store';
import { ExperimentTracker } from '../tracking/tracker';
import { modelsCommand, runsCommand, trainCommand, UsageError } from './cli';
import { SeededRandom } from './random';

/** Statoil-format records with 16×16 bands (the CLI reads any square patch size). */
function records(n: number): object[] {
  const rng = new SeededRandom(3);
  return Array.from({ length: n }, (_, i) => {
    const iceberg = i % 2;
    const band = (offset: number): number[] =>
      Array.from(
        { length: 256 },
        (_, p) =>
          offset + rng.next() * 2 + (iceberg && Math.abs((p >> 4) - 8) < 2 && Math.abs((p % 16) - 8) < 2 ? 8 : 0),
      );
    return {
      id: `r${i}`,
      band_1: band(-20),
      band_2: band(-26),
      inc_angle: i % 6 === 0 ? 'na' : 35 + (i % 10),
      is_iceberg: iceberg,
    };
  });
}

describe('floe train / runs / models', () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-cli-'));
  const saved = { home: process.env.FLOE_HOME, meta: process.env.FLOE_METADATA_URL, blob: process.env.FLOE_BLOB_URL };
  const file = path.join(dir, 'train.json');
  beforeAll(() => {
    process.env.FLOE_HOME = path.join(dir, 'project');
    delete process.env.FLOE_METADATA_URL;
    delete process.env.FLOE_BLOB_URL;
    fs.writeFileSync(file, JSON.stringify(records(40)));
  });
  afterAll(() => {
    for (const [k, v] of [
      ['FLOE_HOME', saved.home],
      ['FLOE_METADATA_URL', saved.meta],
      ['FLOE_BLOB_URL', saved.blob],
    ] as const) {
      if (v === undefined) delete process.env[k];
      else process.env[k] = v;
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('trains from a Statoil file, registers with an alias, and lists runs and lineage', async () => {
    const out: string[] = [];
    const code = await trainCommand(
      [
        '--data',
        file,
        '--epochs',
        '2',
        '--batch-size',
        '10',
        '--experiment',
        'cli',
        '--register',
        'iceberg',
        '--alias',
        'production',
        '--saliency-every',
        '1',
        '--saliency-samples',
        '2',
        '--json',
      ],
      (l) => out.push(l),
    );
    expect(code).toBe(0);
    const result = JSON.parse(out[0]!) as {
      runId: number;
      epochs: number;
      evaluation: { split: string };
      registered: { name: string; version: number };
    };
    expect(result).toMatchObject({
      epochs: 2,
      evaluation: { split: 'validation' },
      registered: { name: 'iceberg', version: 1 },
    });

    const runs: string[] = [];
    await runsCommand(['list', '--experiment', 'cli', '--json'], (l) => runs.push(l));
    const [run] = JSON.parse(runs[0]!) as { id: number; status: string; code: { path: string } }[];
    expect(run).toMatchObject({ id: result.runId, status: 'finished', code: { path: 'floe train (command line)' } });
    const store = await openProjectStore();
    try {
      const saliency = (await new ExperimentTracker(store).artifacts(result.runId))
        .filter((a) => a.name.startsWith('saliency/'))
        .map((a) => [a.name, (a.meta as { images: unknown[] }).images.length]);
      expect(saliency).toEqual([
        ['saliency/epoch-001', 2],
        ['saliency/epoch-002', 2],
      ]);
    } finally {
      await store.close();
    }

    const lineage: string[] = [];
    await modelsCommand(['lineage', 'iceberg@production'], (l) => lineage.push(l));
    expect(lineage[0]).toBe('model iceberg:1');
    expect(lineage[1]).toContain(`run ${result.runId}`);

    const best: string[] = [];
    expect(await modelsCommand(['best', 'eval_accuracy'], (l) => best.push(l))).toBe(0);
    expect(best[0]).toMatch(/^iceberg:1 \(production\)/);

    // Explain one prediction of the registered model from the command line, with a PNG written.
    const png = path.join(dir, 'explain.png');
    const explained: string[] = [];
    expect(
      await modelsCommand(
        ['explain', 'iceberg@production', '--data', file, '--id', 'r3', '--method', 'gradcam', '--png', png, '--json'],
        (l) => explained.push(l),
      ),
    ).toBe(0);
    const e = JSON.parse(explained[0]!) as { patch: string; probability: number; heatmap: number[]; width: number };
    expect(e.patch).toBe('r3');
    expect(e.probability).toBeGreaterThan(0);
    expect(e.probability).toBeLessThan(1);
    expect(e.width).toBe(16);
    expect(e.heatmap).toHaveLength(256);
    expect(Math.max(...e.heatmap)).toBeCloseTo(1, 5);
    const bytes = fs.readFileSync(png);
    expect(bytes.subarray(1, 4).toString('ascii')).toBe('PNG');
    // Patch and overlay side by side, each 16 pixels ×4, with an 8-pixel gap.
    expect(bytes.readUInt32BE(16)).toBe(2 * 64 + 8);
    expect(bytes.readUInt32BE(20)).toBe(64);
    expect(fs.existsSync(`${png}.partial`)).toBe(false);
    const plain: string[] = [];
    await modelsCommand(['explain', 'iceberg:1', '--data', file], (l) => plain.push(l));
    expect(plain[0]).toMatch(
      /^saliency of iceberg:1 on patch r0: p\(iceberg\) = 0\.\d{3}; heatmap 16x16, peak at row \d+/,
    );
  });

  it('names the bad option or feature', async () => {
    await expect(trainCommand(['--epochs', '1'], () => undefined)).rejects.toThrow(UsageError);
    await expect(trainCommand(['--data', file, '--features', 'band_1,band_9'], () => undefined)).rejects.toThrow(
      "unknown feature 'band_9'",
    );
    await expect(trainCommand(['--data', path.join(dir, 'missing.json')], () => undefined)).rejects.toThrow(
      /--data .*missing\.json/,
    );
    await expect(trainCommand(['--data', file, '--saliency-every', '0'], () => undefined)).rejects.toThrow(
      'saliency.every must be a positive whole number of epochs, got 0',
    );
    await expect(trainCommand(['--data', file, '--saliency-samples', '2'], () => undefined)).rejects.toThrow(
      '--saliency-samples and --saliency-method need --saliency-every N',
    );
    await expect(runsCommand(['frobnicate'], () => undefined)).rejects.toThrow("unknown runs command 'frobnicate'");
    await expect(modelsCommand(['explain', 'iceberg@production'], () => undefined)).rejects.toThrow('needs --data');
    await expect(
      modelsCommand(['explain', 'iceberg@production', '--data', file, '--id', 'nope'], () => undefined),
    ).rejects.toThrow("no patch with id 'nope'");
    await expect(
      modelsCommand(['explain', 'iceberg@production', '--data', file, '--method', 'lime'], () => undefined),
    ).rejects.toThrow("--method is saliency or gradcam, got 'lime'");
  });
});
