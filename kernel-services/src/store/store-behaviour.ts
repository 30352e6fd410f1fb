/**
 * The project store's behaviour, as one vitest suite run against each backend pair
 * ({SQLite + local folder}, {PostgreSQL + S3}): a store behaves the same whatever it runs on.
 */
import * as path from 'node:path';
import { sql } from 'kysely';
import { afterEach, describe, expect, it } from 'vitest';
import { spawnTs, waitForOutput } from '../test-support/child-process';
import {
  BlobNotFoundError,
  InvalidBlobKeyError,
  MIGRATIONS,
  openProjectStore,
  type Migration,
  type ProjectStore,
  type StoreOptions,
} from '.';
import { migrateToLatest, StoreSchemaError } from './migrator';
import { addAutoIdColumn, readBool, readJson, readTime, storedBool, storedJson, storedTime } from './portable';

const CHILD = path.join(__dirname, '..', 'test-support', 'open-store-child.ts');

export interface StoreBackendUnderTest {
  /** Options for a fresh, empty, isolated store (its own database and blob prefix). */
  freshStore(): Promise<StoreOptions>;
  /** Reaches objects behind the store's back, to prove that nothing partial is left (e.g. temp files, S3 uploads). */
  leftovers(options: StoreOptions): Promise<string[]>;
}

async function* failingStream(afterBytes: number): AsyncIterable<Uint8Array> {
  yield new Uint8Array(afterBytes).fill(7);
  throw new Error('source failed midway');
}

export function describeStoreBehaviour(name: string, backend: () => StoreBackendUnderTest): void {
  describe(`project store on ${name}`, () => {
    const open: ProjectStore[] = [];
    const openStore = async (options: StoreOptions): Promise<ProjectStore> => {
      const store = await openProjectStore(options);
      open.push(store);
      return store;
    };
    afterEach(async () => {
      await Promise.all(open.splice(0).map((s) => s.close()));
    });

    it('creates the schema once; reopening applies nothing and keeps the project id', async () => {
      const options = await backend().freshStore();
      const first = await openStore(options);
      expect(first.schema.applied).toEqual(MIGRATIONS.map((m) => m.name));
      const projectId = await first.meta('project_id');
      expect(projectId).toMatch(/^[0-9a-f-]{36}$/);
      expect(await first.meta('schema_version')).toBe(MIGRATIONS[MIGRATIONS.length - 1].name);
      const second = await openStore(options);
      expect(second.schema.applied).toEqual([]);
      expect(await second.meta('project_id')).toBe(projectId);
      const rows = await second.db.selectFrom('floe_migration').select('name').execute();
      expect(rows.map((r) => r.name).sort()).toEqual(MIGRATIONS.map((m) => m.name).sort());
    });

    it('applies only new migrations, rolls back a failing one, and refuses a schema from a newer Floe', async () => {
      const options = await backend().freshStore();
      const store = await openStore(options);
      const extra: Migration = {
        name: '900_test_extra',
        async up(db, ctx) {
          await addAutoIdColumn(db.schema.createTable('test_extra'), ctx.dialect)
            .addColumn('label', ctx.types.text)
            .execute();
        },
      };
      const broken: Migration = {
        name: '901_test_broken',
        async up(db, ctx) {
          await db.schema.createTable('test_half').addColumn('x', ctx.types.integer).execute();
          await sql`select * from no_such_table`.execute(db);
        },
      };
      const where = 'the test store';
      await expect(migrateToLatest(store.db, store.dialect, where, [...MIGRATIONS, extra, broken])).rejects.toThrow(
        /901_test_broken failed/,
      );
      // All or nothing: neither the extra table nor the half-made one survived the failed run.
      const names = async (): Promise<string[]> =>
        (await store.db.selectFrom('floe_migration').select('name').execute()).map((r) => r.name);
      expect(await names()).not.toContain('900_test_extra');
      await expect(sql`select * from test_half`.execute(store.db)).rejects.toThrow();

      const result = await migrateToLatest(store.db, store.dialect, where, [...MIGRATIONS, extra]);
      expect(result.applied).toEqual(['900_test_extra']);
      expect((await migrateToLatest(store.db, store.dialect, where, [...MIGRATIONS, extra])).applied).toEqual([]);
      await store.close();
      await expect(openProjectStore(options)).rejects.toThrow(StoreSchemaError);
      await expect(openProjectStore(options)).rejects.toThrow(/900_test_extra.*newer Floe/);
    });

    it('stores JSON, times, booleans and 64-bit counts the same way on both engines', async () => {
      const store = await openStore(await backend().freshStore());
      const m: Migration = {
        name: '902_test_values',
        async up(db, ctx) {
          await addAutoIdColumn(db.schema.createTable('test_values'), ctx.dialect)
            .addColumn('doc', ctx.types.json)
            .addColumn('at', ctx.types.timestamp)
            .addColumn('flag', ctx.types.boolean)
            .addColumn('big', ctx.types.bigint)
            .addColumn('ratio', ctx.types.double)
            .addColumn('raw', ctx.types.bytes)
            .execute();
        },
      };
      await migrateToLatest(store.db, store.dialect, 'test', [...MIGRATIONS, m]);
      // The test table is not part of FloeDatabase: go through an untyped view of the same db.
      // eslint-disable-next-line @typescript-eslint/no-explicit-any
      const db = store.db as any;
      const at = new Date('2026-11-22T04:30:00.123Z');
      const doc = { bands: ['HH', 'HV'], shape: [75, 75], note: 'ü', nested: { a: null } };
      const inserted = await db
        .insertInto('test_values')
        .values({
          doc: storedJson(doc),
          at: storedTime(at),
          flag: storedBool(true),
          big: 2 ** 40 + 1,
          ratio: 0.1,
          raw: Buffer.from([0, 1, 255]),
        })
        .returning('id')
        .executeTakeFirstOrThrow();
      expect(inserted.id).toBe(1);
      const row = await db
        .selectFrom('test_values')
        .selectAll()
        .where('id', '=', inserted.id)
        .executeTakeFirstOrThrow();
      expect(readJson(row.doc)).toEqual(doc);
      expect(readTime(row.at).getTime()).toBe(at.getTime());
      expect(readBool(row.flag)).toBe(true);
      expect(row.big).toBe(2 ** 40 + 1);
      expect(row.ratio).toBe(0.1);
      expect([...(row.raw as Uint8Array)]).toEqual([0, 1, 255]);
      const counted = await db
        .selectFrom('test_values')
        .select((eb: { fn: { countAll: () => { as: (n: string) => unknown } } }) => eb.fn.countAll().as('n'))
        .executeTakeFirst();
      expect(counted.n).toBe(1);
      // Times compare in SQL as text in time order.
      const later = await db
        .selectFrom('test_values')
        .select('id')
        .where('at', '>', storedTime('2026-11-22T04:29:59.999Z'))
        .execute();
      expect(later).toHaveLength(1);
      expect(() => storedJson({ x: Number.NaN })).toThrow(/NaN.*"x"/);
    });

    it('opens safely from several processes at once, and serialises their writes', async () => {
      const options = await backend().freshStore();
      const arg = JSON.stringify(options);
      const opened = await Promise.all([0, 1, 2].map(() => spawnTs(CHILD, [arg, 'open']).done));
      for (const r of opened) expect(r.code, r.stderr).toBe(0);
      const results = opened.map((r) => JSON.parse(r.stdout) as { applied: string[]; projectId: string });
      // Exactly one process created the schema; all see the same project.
      expect(results.flatMap((r) => r.applied).sort()).toEqual(MIGRATIONS.map((m) => m.name).sort());
      expect(new Set(results.map((r) => r.projectId)).size).toBe(1);

      const startAt = String(Date.now() + 3000); // both start counting at once
      const counters = await Promise.all([0, 1].map(() => spawnTs(CHILD, [arg, 'count', '30', startAt]).done));
      for (const r of counters) expect(r.code, r.stderr).toBe(0);
      const store = await openStore(options);
      expect(await store.meta('test_counter')).toBe('60');
    });

    it('writes audit rows and rolls back a failed write transaction', async () => {
      const store = await openStore(await backend().freshStore());
      await store.audit('test.create', 'thing:1', { size: 3 });
      await expect(
        store.writeTransaction(async (trx) => {
          await store.audit('test.never', 'thing:2', null, trx);
          throw new Error('abort on purpose');
        }),
      ).rejects.toThrow('abort on purpose');
      const rows = await store.db.selectFrom('audit_log').selectAll().orderBy('id').execute();
      expect(rows.map((r) => r.action)).toEqual(['test.create']);
      expect(readJson(rows[0].details)).toEqual({ size: 3 });
      expect(rows[0].actor).toMatch(/@.+:\d+$/);
    });

    it('puts, gets, reads ranges, lists and deletes blobs', async () => {
      const store = await openStore(await backend().freshStore());
      const { blobs } = store;
      await blobs.put('models/iceberg/1/model.json', '{"format":"layers-model"}');
      const bytes = Uint8Array.from({ length: 1000 }, (_, i) => i % 251);
      await blobs.put('models/iceberg/1/weights.bin', bytes);
      await blobs.put('reports/r.txt', 'report');
      await blobs.put('models/iceberg-v2/x', 'other');

      expect(Buffer.from(await blobs.get('models/iceberg/1/model.json')).toString()).toBe('{"format":"layers-model"}');
      expect([...(await blobs.get('models/iceberg/1/weights.bin'))]).toEqual([...bytes]);
      expect([...(await blobs.getRange('models/iceberg/1/weights.bin', 10, 20))]).toEqual([...bytes.subarray(10, 20)]);
      expect([...(await blobs.getRange('models/iceberg/1/weights.bin', 990, 5000))]).toEqual([...bytes.subarray(990)]);
      expect((await blobs.getRange('models/iceberg/1/weights.bin', 1000, 1200)).byteLength).toBe(0);
      expect((await blobs.getRange('models/iceberg/1/weights.bin', 5, 5)).byteLength).toBe(0);
      await expect(blobs.getRange('models/iceberg/1/weights.bin', 5, 4)).rejects.toThrow(RangeError);
      const streamed: Buffer[] = [];
      for await (const chunk of await blobs.getStream('models/iceberg/1/weights.bin'))
        streamed.push(Buffer.from(chunk));
      expect([...Buffer.concat(streamed)]).toEqual([...bytes]);

      expect(await blobs.list('models/iceberg/')).toEqual([
        'models/iceberg/1/model.json',
        'models/iceberg/1/weights.bin',
      ]);
      expect(await blobs.list('models/iceberg')).toEqual([
        'models/iceberg-v2/x',
        'models/iceberg/1/model.json',
        'models/iceberg/1/weights.bin',
      ]);
      expect(await blobs.list()).toHaveLength(4);
      expect(await blobs.list('nothing/')).toEqual([]);
      expect((await blobs.stat('reports/r.txt'))?.size).toBe(6);
      expect(await blobs.exists('reports/r.txt')).toBe(true);
      expect(blobs.url('reports/r.txt')).toMatch(/^(file|s3):\/\/.*reports\/r\.txt$/);

      await blobs.put('reports/r.txt', 'replaced');
      expect(Buffer.from(await blobs.get('reports/r.txt')).toString()).toBe('replaced');
      await blobs.delete('reports/r.txt');
      await blobs.delete('reports/r.txt'); // deleting a missing key is not an error
      expect(await blobs.exists('reports/r.txt')).toBe(false);
      expect(await blobs.stat('reports/r.txt')).toBeUndefined();
      await expect(blobs.get('reports/r.txt')).rejects.toThrow(BlobNotFoundError);
      await expect(blobs.getRange('reports/r.txt', 0, 1)).rejects.toThrow(BlobNotFoundError);
      await expect(blobs.getStream('reports/r.txt')).rejects.toThrow(BlobNotFoundError);
      expect(await blobs.list('reports/')).toEqual([]);
    });

    it('streams a large blob in and reads a range from its middle', async () => {
      const store = await openStore(await backend().freshStore());
      const size = 20 * 1024 * 1024 + 123; // more than two S3 parts
      async function* chunks(): AsyncIterable<Uint8Array> {
        for (let offset = 0; offset < size; offset += 3_000_000) {
          const n = Math.min(3_000_000, size - offset);
          yield Uint8Array.from({ length: n }, (_, i) => (offset + i) % 253);
        }
      }
      await store.blobs.put('exports/big.tfrecord', chunks());
      expect((await store.blobs.stat('exports/big.tfrecord'))?.size).toBe(size);
      const start = 9 * 1024 * 1024 - 7;
      const range = await store.blobs.getRange('exports/big.tfrecord', start, start + 100);
      expect([...range]).toEqual(Array.from({ length: 100 }, (_, i) => (start + i) % 253));
    });

    it('refuses keys that escape the store or are malformed, naming the key', async () => {
      const store = await openStore(await backend().freshStore());
      const bad = ['../outside', 'a/../../b', '/etc/passwd', 'a\0b', 'a//b', 'a/', './a', 'a\\b', '', '.floe-tmp/x'];
      for (const key of bad) {
        await expect(store.blobs.put(key, 'x'), key).rejects.toThrow(InvalidBlobKeyError);
        await expect(store.blobs.get(key), key).rejects.toThrow(InvalidBlobKeyError);
        await expect(store.blobs.delete(key), key).rejects.toThrow(InvalidBlobKeyError);
      }
      await expect(store.blobs.put('../outside', 'x')).rejects.toThrow(/"\.\.\/outside".*traversal/);
      await expect(store.blobs.list('../')).rejects.toThrow(InvalidBlobKeyError);
      expect(() => store.datasetLocation('../features')).toThrow(InvalidBlobKeyError);
      expect(await store.blobs.list()).toEqual([]);
    });

    it('leaves the old blob whole when a write fails midway', async () => {
      const options = await backend().freshStore();
      const store = await openStore(options);
      await store.blobs.put('artifacts/a.bin', 'old content');
      await expect(store.blobs.put('artifacts/a.bin', failingStream(64 * 1024))).rejects.toThrow(
        'source failed midway',
      );
      // Also past the multipart threshold, so an S3 upload in parts must be aborted, not completed.
      await expect(store.blobs.put('artifacts/a.bin', failingStream(9 * 1024 * 1024))).rejects.toThrow(
        'source failed midway',
      );
      await expect(store.blobs.put('artifacts/new.bin', failingStream(1024))).rejects.toThrow('source failed midway');
      expect(Buffer.from(await store.blobs.get('artifacts/a.bin')).toString()).toBe('old content');
      expect(await store.blobs.exists('artifacts/new.bin')).toBe(false);
      expect(await store.blobs.list()).toEqual(['artifacts/a.bin']);
      expect(await backend().leftovers(options)).toEqual([]);
    });

    it('leaves the old blob whole when the writing process is killed', async () => {
      const options = await backend().freshStore();
      const store = await openStore(options);
      await store.blobs.put('artifacts/model.bin', 'version 1');
      const { child, done } = spawnTs(CHILD, [JSON.stringify(options), 'slow-put', 'artifacts/model.bin', '40']);
      await waitForOutput(child, (out) => out.includes('writing'));
      child.kill('SIGKILL');
      const result = await done;
      expect(result.signal).toBe('SIGKILL');
      expect(Buffer.from(await store.blobs.get('artifacts/model.bin')).toString()).toBe('version 1');
      expect(await store.blobs.list()).toEqual(['artifacts/model.bin']);
      // The next write works.
      await store.blobs.put('artifacts/model.bin', 'version 2');
      expect(Buffer.from(await store.blobs.get('artifacts/model.bin')).toString()).toBe('version 2');
    });
  });
}
