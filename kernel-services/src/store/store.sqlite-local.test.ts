import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openProjectStore } from '.';
import { describeStoreBehaviour } from './store-behaviour';
import { runTs, spawnTs } from '../test-support/child-process';

const CHILD = path.join(__dirname, '..', 'test-support', 'open-store-child.ts');

const roots: string[] = [];
afterAll(() => {
  for (const root of roots) fs.rmSync(root, { recursive: true, force: true });
});

function freshHome(): string {
  const home = fs.mkdtempSync(path.join(os.tmpdir(), 'floe-store-'));
  roots.push(home);
  return home;
}

describeStoreBehaviour('SQLite + local folder', () => ({
  freshStore: async () => ({ home: freshHome() }),
  leftovers: async (options) => fs.readdirSync(path.join(options.home!, 'blobs', '.floe-tmp')),
}));

describe('project store defaults (SQLite + local folder)', () => {
  it('lays out a project folder: floe.db in WAL mode, blobs/, features/ for datasets', async () => {
    const home = freshHome();
    const store = await openProjectStore({ home });
    try {
      expect(store.dialect).toBe('sqlite');
      expect(fs.existsSync(path.join(home, 'floe.db'))).toBe(true);
      await store.blobs.put('a/b.txt', 'x');
      expect(fs.readFileSync(path.join(home, 'blobs', 'a', 'b.txt'), 'utf8')).toBe('x');
      expect(store.datasetLocation('feature_groups/iceberg/1')).toEqual({
        uri: path.join(home, 'features', 'feature_groups', 'iceberg', '1'),
      });
      const mode = await store.db.executeQuery<{ journal_mode: string }>({
        sql: 'pragma journal_mode',
        parameters: [],
        query: { kind: 'RawNode' } as never,
      });
      expect(mode.rows[0].journal_mode).toBe('wal');
    } finally {
      await store.close();
    }
  });

  it('takes FLOE_HOME, FLOE_METADATA_URL and FLOE_BLOB_URL from the environment', async () => {
    const home = freshHome();
    const saved = { ...process.env };
    process.env.FLOE_HOME = home;
    process.env.FLOE_METADATA_URL = `sqlite:${path.join(home, 'meta', 'other.db')}`;
    process.env.FLOE_BLOB_URL = path.join(home, 'elsewhere');
    try {
      const store = await openProjectStore();
      await store.blobs.put('k', 'v');
      await store.close();
      expect(store.home).toBe(home);
      expect(fs.existsSync(path.join(home, 'meta', 'other.db'))).toBe(true);
      expect(fs.readFileSync(path.join(home, 'elsewhere', 'k'), 'utf8')).toBe('v');
    } finally {
      process.env = saved;
    }
  });

  it('makes plain db.transaction() take the write lock at begin, so read-then-write is safe across processes', async () => {
    const home = freshHome();
    const arg = JSON.stringify({ home });
    await runTs(CHILD, [arg, 'open']);
    const startAt = String(Date.now() + 1500);
    const results = await Promise.all([0, 1].map(() => spawnTs(CHILD, [arg, 'count-plain', '25', startAt]).done));
    for (const r of results) expect(r.code, r.stderr).toBe(0);
    const store = await openProjectStore({ home });
    try {
      expect(await store.meta('test_counter')).toBe('50');
    } finally {
      await store.close();
    }
  });

  it('names the file when the metadata database cannot be opened', async () => {
    const home = freshHome();
    fs.writeFileSync(
      path.join(home, 'floe.db'),
      'this is not a database, just text long enough to be read as a header........',
    );
    await expect(openProjectStore({ home })).rejects.toThrow(new RegExp(`floe\\.db`));
  });
});
