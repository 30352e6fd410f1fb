import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { SyntheticSarGenerator, writeSynthetic } from './synthetic';
import { generateSyntheticParallel, writeSyntheticParallel } from './synthetic-parallel';

const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-synthetic-parallel-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

const bytes = (a: Float32Array): Buffer => Buffer.from(a.buffer, a.byteOffset, a.byteLength);

describe('the synthetic generator on worker threads', () => {
  it('gives the records of the single-thread generator, bit for bit and in index order', async () => {
    const options = { seed: 11, count: 45, start: 7, difficulty: 0.7 };
    const expected = [...new SyntheticSarGenerator(options).records()];
    const got = [];
    for await (const r of generateSyntheticParallel(options, { threads: 2, slice: 4 })) got.push(r);
    expect(got.map((r) => r.id)).toEqual(expected.map((r) => r.id));
    got.forEach((r, i) => {
      const e = expected[i]!;
      expect([r.inc_angle, r.is_iceberg]).toEqual([e.inc_angle, e.is_iceberg]);
      expect(r.band_1).toBeInstanceOf(Float32Array);
      expect(bytes(r.band_1).equals(bytes(e.band_1))).toBe(true);
      expect(bytes(r.band_2).equals(bytes(e.band_2))).toBe(true);
    });
  }, 60_000);

  it('writes the same file as writeSynthetic, also for a test set and for no records', async () => {
    for (const options of [
      { seed: 5, count: 23 },
      { seed: 6, count: 9, test: true },
      { seed: 7, count: 0 },
    ]) {
      const one = path.join(tmp, `one-${options.seed}.json`);
      const many = path.join(tmp, `many-${options.seed}.json`);
      const a = await writeSynthetic(one, options);
      const progress: number[] = [];
      const b = await writeSyntheticParallel(many, options, (n) => progress.push(n), { threads: 2, slice: 5 });
      expect(b).toEqual(a);
      expect(fs.readFileSync(many).equals(fs.readFileSync(one))).toBe(true);
      expect(progress[progress.length - 1]).toBe(options.count);
    }
  }, 60_000);

  it('refuses bad options with the generator error before starting threads', async () => {
    const records = generateSyntheticParallel({ seed: 1, count: -2 });
    await expect(records.next()).rejects.toThrow(/count must be a non-negative integer, got -2/);
  });
});
