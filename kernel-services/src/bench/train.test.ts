import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterEach, describe, expect, it, vi } from 'vitest';
import { main } from '../cli/main';
import { DEFAULT_LENET } from '../training/models';
import { parseTrainBenchArgs, writeBenchData } from './train';
import { parseAccuracyBenchArgs, summarizeSide } from './train-accuracy';

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
    expect(() => parseTrainBenchArgs(['--lr', '3', '--rounds', 'x'])).toThrow(/--rounds/);
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

describe('floe bench train --epochs (accuracy mode)', () => {
  afterEach(() => vi.restoreAllMocks());

  it('reads its options, defaults to 2000 records, and names the option at fault', () => {
    expect(parseAccuracyBenchArgs(['--epochs', '20'])).toMatchObject({ epochs: 20, count: 2000, seed: 42, batch: 32 });
    expect(parseAccuracyBenchArgs(['--epochs=3', '--count', '500', '--seed', '7'])).toMatchObject({
      epochs: 3,
      count: 500,
      seed: 7,
    });
    expect(() => parseAccuracyBenchArgs(['--epochs', '0'])).toThrow(/--epochs must be an integer >= 1, got '0'/);
    expect(() => parseAccuracyBenchArgs(['--epochs', '2', '--steps', '3'])).toThrow(
      /unknown option --steps with --epochs/,
    );
  });

  it('summarises a side: first epoch apart, samples/s over the later epochs, best accuracy and its epoch', () => {
    const s = summarizeSide({
      epochSeconds: [4, 2, 2],
      valAccuracy: [0.5, 0.8, 0.75],
      valLogLoss: [0.7, 0.5, 0.45],
      trainSize: 100,
      validationSize: 25,
      parameters: 1,
      tensorflowVersion: 'x',
    });
    expect(s).toMatchObject({
      epochSeconds: 8 / 3,
      firstEpochSeconds: 4,
      laterEpochSeconds: 2,
      samplesPerSecond: 50,
      finalValAccuracy: 0.75,
      bestValAccuracy: 0.8,
      bestEpoch: 2,
      finalValLogLoss: 0.45,
    });
  });

  it('trains both sides on the same split and ends with one JSON line with both accuracies and epoch times', async () => {
    const out: string[] = [];
    vi.spyOn(process.stdout, 'write').mockImplementation((chunk: string | Uint8Array) => {
      out.push(String(chunk));
      return true;
    });
    const code = await main(['bench', 'train', '--epochs', '2', '--count', '200', '--threads', '2']);
    vi.restoreAllMocks();
    const lines = out.join('').trim().split('\n');
    const jsonLines = lines.filter((l) => l.startsWith('{'));
    expect(jsonLines).toHaveLength(1);
    expect(lines[lines.length - 1]).toBe(jsonLines[0]);
    expect(code).toBe(0);
    interface SideFigures {
      firstEpochSeconds: number;
      laterEpochSeconds: number;
      finalValLogLoss: number;
      bestValAccuracy: number;
      trainSize: number;
      validationSize: number;
    }
    const r = JSON.parse(jsonLines[0]!) as Record<string, number | number[] | string> & {
      floe: SideFigures;
      keras: SideFigures;
    };
    expect(r).toMatchObject({ bench: 'train', mode: 'epochs', goal: 0.9, better: 'higher', epochs: 2, count: 200 });
    for (const acc of [
      r.floeFinalValAccuracy,
      r.kerasFinalValAccuracy,
      r.floe.bestValAccuracy,
      r.keras.bestValAccuracy,
    ]) {
      expect(acc).toBeGreaterThanOrEqual(0);
      expect(acc).toBeLessThanOrEqual(1);
    }
    for (const side of [r.floe, r.keras]) {
      expect(side.firstEpochSeconds).toBeGreaterThan(0);
      expect(side.laterEpochSeconds).toBeGreaterThan(0);
      expect(side.finalValLogLoss).toBeGreaterThan(0);
    }
    expect(r.floeEpochSeconds).toHaveLength(2);
    expect(r.kerasEpochSeconds).toHaveLength(2);
    // 200 records, 20% validation: the same 160 / 40 split on both sides.
    expect([r.floe.trainSize, r.floe.validationSize]).toEqual([160, 40]);
    expect([r.keras.trainSize, r.keras.validationSize]).toEqual([160, 40]);
    expect(r.ratio).toBeCloseTo((r.floeSamplesPerSecond as number) / (r.kerasSamplesPerSecond as number), 2);
    expect(r.parameters).toBe(935505);
    // The markdown table came before the JSON line.
    expect(lines.some((l) => l.startsWith('| Floe (tfjs-node) |'))).toBe(true);
    expect(lines.some((l) => l.startsWith('| Python Keras |'))).toBe(true);
  }, 120_000);
});
