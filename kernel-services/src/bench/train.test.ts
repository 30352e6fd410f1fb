import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../cli/main';
import { DEFAULT_LENET } from '../training/models';
import { parseTrainBenchArgs, writeBenchData } from './train';

describe('floe bench train options', () => {
  it('reads the documented options and keeps the defaults otherwise', () => {
    const o = parseTrainBenchArgs(['--steps', '7', '--warmup=0', '--threads', '1', '--samples', '64', '--xla']);
    expect(o).toMatchObject({ steps: 7, warmup: 0, threads: 1, samples: 64, batch: 32, xla: true });
  });

  it('names the option at fault', () => {
    expect(() => parseTrainBenchArgs(['--steps', '0'])).toThrow(/--steps must be an integer >= 1, got '0'/);
    expect(() => parseTrainBenchArgs(['--batch', 'x'])).toThrow(/--batch/);
    expect(() => parseTrainBenchArgs(['--samples', '100'])).toThrow(
      /--samples \(100\) must be a multiple of --batch \(32\)/,
    );
    expect(() => parseTrainBenchArgs(['--epochs', '3'])).toThrow(/unknown option --epochs/);
    expect(() => parseTrainBenchArgs(['--steps'])).toThrow(/--steps needs a value/);
  });
});

describe('bench data', () => {
  it('writes standardised HH+HV patches followed by 0/1 labels', () => {
    const file = path.join(fs.mkdtempSync(path.join(os.tmpdir(), 'floe-bench-data-')), 'd.f32');
    try {
      writeBenchData(file, 32, 5, DEFAULT_LENET);
      const b = fs.readFileSync(file);
      const v = new Float32Array(b.buffer, b.byteOffset, b.byteLength / 4);
      const pixels = 32 * 75 * 75 * 2;
      expect(v.length).toBe(pixels + 32);
      let sum = 0;
      for (let i = 0; i < pixels; i++) sum += v[i]!;
      expect(Math.abs(sum / pixels)).toBeLessThan(1e-3);
      const labels = Array.from(v.subarray(pixels));
      expect(labels.every((l) => l === 0 || l === 1)).toBe(true);
      expect(new Set(labels).size).toBe(2);
    } finally {
      fs.rmSync(path.dirname(file), { recursive: true, force: true });
    }
  });
});

describe('floe bench train (tiny run: Floe and Python Keras)', () => {
  afterEach(() => vi.restoreAllMocks());

  it('ends with one JSON line carrying the contract and positive samples/s for both sides', async () => {
    const out: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out.push(String(chunk));
      return true;
    });
    const code = await main([
      'bench',
      'train',
      '--steps',
      '2',
      '--warmup',
      '1',
      '--samples',
      '32',
      '--rounds',
      '1',
      '--threads',
      '2',
    ]);
    vi.restoreAllMocks();
    const lines = out.join('').trim().split('\n');
    const jsonLines = lines.filter((l) => l.startsWith('{'));
    expect(jsonLines).toHaveLength(1);
    expect(lines[lines.length - 1]).toBe(jsonLines[0]);
    expect(code).toBe(0);
    const r = JSON.parse(jsonLines[0]!) as Record<string, unknown>;
    expect(r).toMatchObject({
      bench: 'train',
      goal: 0.9,
      better: 'higher',
      steps: 2,
      batch: 32,
      threads: 2,
      device: 'CPU',
    });
    expect(r.floeSamplesPerSecond as number).toBeGreaterThan(0);
    expect(r.kerasSamplesPerSecond as number).toBeGreaterThan(0);
    expect(r.ratio).toBeCloseTo((r.floeSamplesPerSecond as number) / (r.kerasSamplesPerSecond as number), 2);
    // Same network on both sides (the bench refuses to report otherwise): 935,505 weights for the default LeNet.
    expect(r.parameters).toBe(935505);
    expect(r.tensorflowVersion).toBe(r.pythonTensorflowVersion);
    for (const key of ['tfjsVersion', 'kerasVersion', 'cpuModel', 'reference']) expect(typeof r[key]).toBe('string');
    // Progress lines came before the JSON line.
    expect(lines.some((l) => l.startsWith('round 1/1: Python Keras'))).toBe(true);
    expect(lines.some((l) => l.startsWith('round 1/1: Floe'))).toBe(true);
  }, 120_000);
});
