import * as fs from 'node:fs';
import * as os from 'node:os';
import * as path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { openProjectStore, PROJECT_FILE, ProjectBackendMismatchError, readProjectFile } from '.';
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

describe('the project file records the backends', () => {
  it('is written on first open, relative to the folder, and reopening with the same backends works', async () => {
    const home = freshHome();
    const store = await openProjectStore({ home });
    const projectId = await store.meta('project_id');
    await store.close();
    const recorded = readProjectFile(home)!;
    expect(recorded).toMatchObject({
      format: 'floe-project/1',
      projectId,
      metadata: { engine: 'sqlite', path: 'floe.db' },
      blobs: { kind: 'local', path: 'blobs' },
    });
    // The folder can move: recorded paths are relative to it.
    const moved = `${home}-moved`;
    fs.renameSync(home, moved);
    roots.push(moved);
    const again = await openProjectStore({ home: moved, metadataUrl: 'sqlite:floe.db' });
    expect(await again.meta('project_id')).toBe(projectId);
    await again.close();
  });

  it('refuses other backends with an error naming both, and creates nothing for them', async () => {
    const home = freshHome();
    await (await openProjectStore({ home })).close();
    const other = path.join(home, 'other.db');
    await expect(openProjectStore({ home, metadataUrl: `sqlite:${other}` })).rejects.toThrow(
      new RegExp(
        `its metadata is on SQLite ${path.join(home, 'floe.db')}, but this open uses SQLite ${other}.*edit or remove ${path.join(home, PROJECT_FILE)}`,
      ),
    );
    expect(fs.existsSync(other)).toBe(false);
    const elsewhere = path.join(home, 'elsewhere');
    await expect(openProjectStore({ home, blobUrl: elsewhere })).rejects.toThrow(
      new RegExp(
        `its blobs and datasets are in the local folder ${path.join(home, 'blobs')}, but this open uses the local folder ${elsewhere}`,
      ),
    );
    expect(fs.existsSync(elsewhere)).toBe(false);
    const err = await openProjectStore({
      home,
      metadataUrl: 'postgres://floe:secret@db.example:6543/iceberg',
      blobUrl: 's3://floe-data/iceberg',
    }).catch((e: unknown) => e);
    expect(err).toBeInstanceOf(ProjectBackendMismatchError);
    expect((err as Error).message).toMatch(
      /metadata is on SQLite .*floe\.db, but this open uses PostgreSQL database 'iceberg' on db\.example:6543; its blobs and datasets are in the local folder .*blobs, but this open uses s3:\/\/floe-data\/iceberg\//,
    );
    expect((err as Error).message).not.toMatch(/secret/);
  });

  it('says when the recorded SQLite file is gone instead of starting an empty project', async () => {
    const home = freshHome();
    await (await openProjectStore({ home })).close();
    for (const f of fs.readdirSync(home)) if (f.startsWith('floe.db')) fs.rmSync(path.join(home, f));
    await expect(openProjectStore({ home })).rejects.toThrow(/its metadata database .*floe\.db is missing/);
    expect(fs.existsSync(path.join(home, 'floe.db'))).toBe(false);
  });

  it('refuses a metadata database that holds another project', async () => {
    const a = freshHome();
    const b = freshHome();
    await (await openProjectStore({ home: a })).close();
    await (await openProjectStore({ home: b })).close();
    // b's folder now points at a's database file in place of its own (same path, other content).
    fs.copyFileSync(path.join(a, 'floe.db'), path.join(b, 'floe.db'));
    for (const f of fs.readdirSync(b)) if (/^floe\.db-(wal|shm)$/.test(f)) fs.rmSync(path.join(b, f));
    await expect(openProjectStore({ home: b })).rejects.toThrow(
      new RegExp(
        `belongs to project ${readProjectFile(b)!.projectId}, but the metadata database .* holds project ${readProjectFile(a)!.projectId}`,
      ),
    );
  });

  it('adopts a folder from before project files, and names a damaged project file', async () => {
    const home = freshHome();
    await (await openProjectStore({ home })).close();
    fs.rmSync(path.join(home, PROJECT_FILE));
    await (await openProjectStore({ home })).close();
    expect(readProjectFile(home)?.metadata).toEqual({ engine: 'sqlite', path: 'floe.db' });
    fs.writeFileSync(path.join(home, PROJECT_FILE), '{"format": "floe-project/1", ');
    await expect(openProjectStore({ home })).rejects.toThrow(
      new RegExp(`${path.join(home, PROJECT_FILE)} is not valid JSON`),
    );
  });
});
