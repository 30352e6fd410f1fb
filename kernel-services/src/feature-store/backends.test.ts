/**
 * The feature store end to end on both backend pairs — SQLite + local folder and PostgreSQL + S3
 * (servers started by this file on 127.0.0.1) — including a writer killed with SIGKILL mid-insert.
 */
import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { spawnTs, waitForOutput } from '../test-support/child-process';
import { STORE_BACKEND_KINDS, storeBackends } from '../test-support/store-backends';
import { FeatureStore } from './feature-store';
import { PATCH_SCHEMA, patches } from './fixtures.test-support';

const backends = storeBackends();
beforeAll(() => backends.start(), 180_000);
afterAll(async () => {
  // pg-pool's end() resolves before its clients' sockets close; give them a moment so PostgreSQL's
  // shutdown message does not reach a closing client as an unhandled 'error' event.
  await new Promise((r) => setTimeout(r, 300));
  await backends.stop();
});

describe.each(STORE_BACKEND_KINDS)('feature store on %s', (kind) => {
  it('commits, travels in time, refuses duplicates, builds and exports a dataset, streams it', async () => {
    const store = await FeatureStore.open(await backends.freshOptions(kind));
    const out = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-fs-backend-'));
    try {
      const g = await store.createFeatureGroup({ name: 'patches', schema: PATCH_SCHEMA, primaryKey: 'id' });
      await g.insert(patches(12, 1, 'a'));
      await g.insert(patches(8, 2, 'b'));
      expect((await g.read()).length).toBe(20);
      expect((await g.read({ asOf: 1 })).length).toBe(12);
      await expect(g.insert(patches(1, 3, 'b'))).rejects.toThrow(/duplicate primary key id="b00000"/);
      expect((await g.commits()).length).toBe(2);
      const stats = (await g.statistics())!;
      expect(stats.group.rows).toBe(20);
      const td = await store.createTrainingDataset({
        name: 'd',
        featureGroup: g,
        features: ['band_1', 'band_2'],
        label: 'is_iceberg',
        splits: { train: 0.75, test: 0.25 },
      });
      expect(td.info.splitCounts).toEqual({ train: 15, test: 5 });
      const res = await td.export({ format: 'parquet', dir: out, splits: ['test'] });
      expect(res.rows.test).toBe(5);
      const blob = await td.export({ format: 'tfrecord', splits: ['test'] });
      expect(blob.files.test).toMatch(kind === 'postgres+s3' ? /^s3:\/\// : /^file:/);
      const loader = await td.loader({ batchSize: 4 });
      const sizes: number[] = [];
      for await (const b of loader.rawBatches(0)) sizes.push(b.size);
      expect(sizes).toEqual([4, 4, 4, 3]);
      await loader.close();
    } finally {
      await store.close();
      fs.rmSync(out, { recursive: true, force: true });
    }
  });

  it('a writer killed with SIGKILL mid-insert leaves the previous commit readable, and the next insert works', async () => {
    const options = await backends.freshOptions(kind);
    const store = await FeatureStore.open(options);
    try {
      const g = await store.createFeatureGroup({ name: 'crash', schema: PATCH_SCHEMA, primaryKey: 'id' });
      await g.insert(patches(5, 1, 'before'));
      const before = await g.commits();

      const { child, done } = spawnTs(path.join(__dirname, 'insert-child.test-support.ts'), [
        JSON.stringify(options),
        'crash',
        'killed',
      ]);
      await waitForOutput(child, (s) => /appended 60\b/.test(s), 90_000);
      child.kill('SIGKILL');
      const result = await done;
      expect(result.signal).toBe('SIGKILL');
      expect(result.stdout).not.toContain('committed');

      // Lance holds the orphaned appends, but readers see only the recorded commit.
      expect(await g.commits()).toEqual(before);
      const rows = await g.read();
      expect(rows.map((r) => r.id).sort()).toEqual(patches(5, 1, 'before').map((r) => r.id));
      const latestLance = await store.data.openLatest(g.info.datasetTable);
      expect(await latestLance.version()).toBeGreaterThan(before[0]!.lanceVersion);
      latestLance.close();

      // The next insert restores the recorded state first, then commits on top of it.
      const next = await g.insert(patches(3, 2, 'after'));
      expect(next.number).toBe(2);
      expect(next.totalRows).toBe(8);
      const ids = (await g.read({ columns: ['id'] })).map((r) => r.id as string);
      expect(ids).toHaveLength(8);
      expect(ids.some((id) => id.startsWith('killed'))).toBe(false);
      expect((await g.read({ asOf: 1 })).length).toBe(5);
    } finally {
      await store.close();
    }
  });
});
