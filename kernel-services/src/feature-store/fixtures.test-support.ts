/**
 * Small Statoil-like patches and stores for the feature store's tests. Seeded, so a failing test
 * fails the same way every run.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import type { FeatureRow, FeatureSchema } from '@floe/schema';
import { FeatureStore } from './feature-store';
import type { StoreOptions } from '../store';

export const PATCH_SCHEMA: FeatureSchema = [
  { name: 'id', kind: 'scalar', dtype: 'string', nullable: false, description: '' },
  { name: 'band_1', kind: 'tensor', dtype: 'float32', shape: [75, 75], nullable: false, unit: 'dB', description: 'HH' },
  { name: 'band_2', kind: 'tensor', dtype: 'float32', shape: [75, 75], nullable: false, unit: 'dB', description: 'HV' },
  { name: 'inc_angle', kind: 'scalar', dtype: 'float64', nullable: true, description: '' },
  { name: 'is_iceberg', kind: 'scalar', dtype: 'int32', nullable: false, description: '' },
];

/** A tiny deterministic PRNG (mulberry32) for fixtures. */
export function rng(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

export function patches(n: number, seed = 1, idPrefix = 'p'): FeatureRow[] {
  const r = rng(seed);
  const rows: FeatureRow[] = [];
  for (let i = 0; i < n; i++) {
    const b1 = new Float32Array(5625);
    const b2 = new Float32Array(5625);
    for (let p = 0; p < 5625; p++) {
      b1[p] = -20 + 6 * (r() - 0.5);
      b2[p] = -26 + 6 * (r() - 0.5);
    }
    rows.push({
      id: `${idPrefix}${i.toString().padStart(5, '0')}`,
      band_1: b1,
      band_2: b2,
      inc_angle: i % 7 === 3 ? null : 30 + 15 * r(),
      is_iceberg: i % 3 === 0 ? 1 : 0,
    });
  }
  return rows;
}

export async function tempFeatureStore(
  opts: StoreOptions = {},
): Promise<{ fs: FeatureStore; home: string; cleanup: () => Promise<void> }> {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-fs-test-'));
  const store = await FeatureStore.open({ home, ...opts });
  return {
    fs: store,
    home,
    cleanup: async () => {
      await store.close();
      fs.rmSync(home, { recursive: true, force: true });
    },
  };
}
