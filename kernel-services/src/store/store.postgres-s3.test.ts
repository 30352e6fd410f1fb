/**
 * The project store on its scale-out backends: PostgreSQL (Debian's server) and S3-compatible object
 * storage (SeaweedFS), both started by this file on 127.0.0.1 and stopped after it.
 */
import * as fs from 'node:fs';
import { ListMultipartUploadsCommand } from '@aws-sdk/client-s3';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openProjectStore, PROJECT_FILE, readProjectFile, type ProjectStore, type StoreOptions } from '.';
import { storeBackends } from '../test-support/store-backends';
import { parseS3Url, resolveS3Config, S3BlobStore } from './blobs/s3';
import { describeStoreBehaviour } from './store-behaviour';

const backends = storeBackends();
beforeAll(() => backends.start());
afterAll(() => backends.stop());
const s3 = () => backends.s3!;

async function freshOptions(): Promise<StoreOptions> {
  return backends.freshOptions('postgres+s3');
}

async function freshHome(): Promise<string> {
  return (await backends.freshOptions('sqlite+local')).home!;
}

describeStoreBehaviour('PostgreSQL + S3 (SeaweedFS)', () => ({
  freshStore: freshOptions,
  async leftovers(options) {
    // Unfinished multipart uploads would be partial objects held by the server.
    const { bucket, prefix } = parseS3Url(options.blobUrl!);
    const client = S3BlobStore.clientFor(resolveS3Config(s3().options));
    try {
      const out = await client.send(new ListMultipartUploadsCommand({ Bucket: bucket, Prefix: prefix }));
      return (out.Uploads ?? []).map((u) => u.Key ?? '');
    } finally {
      client.destroy();
    }
  },
}));

describe('project store on PostgreSQL + S3: specifics', () => {
  let store: ProjectStore;
  afterAll(async () => store?.close());

  it('uses PostgreSQL and keeps nothing but the local home on disk', async () => {
    const options = await freshOptions();
    const home = options.home!;
    store = await openProjectStore(options);
    expect(store.dialect).toBe('postgres');
    await store.blobs.put('a.txt', 'x');
    expect(fs.readdirSync(home)).toEqual([PROJECT_FILE]);
    expect(store.blobs.url('a.txt')).toMatch(new RegExp(`^s3://${s3().bucket}/project-[0-9a-f]+/blobs/a\\.txt$`));
  });

  it('writes a Lance dataset to S3 through datasetLocation and reads it back', async () => {
    const loc = store.datasetLocation('feature-groups');
    expect(loc.uri).toMatch(new RegExp(`^s3://${s3().bucket}/project-[0-9a-f]+/features/feature-groups$`));
    expect(loc.storageOptions).toMatchObject({ aws_endpoint: s3().endpoint, allow_http: 'true' });
    // eslint-disable-next-line @typescript-eslint/no-require-imports
    const lancedb = require('@lancedb/lancedb') as typeof import('@lancedb/lancedb');
    const db = await lancedb.connect(loc.uri, { storageOptions: loc.storageOptions });
    try {
      const rows = Array.from({ length: 50 }, (_, i) => ({ id: `p${i}`, is_iceberg: i % 2, band_mean: -20 + i / 10 }));
      const table = await db.createTable('patches', rows);
      await table.add([{ id: 'p50', is_iceberg: 1, band_mean: -1.5 }]);
      const v2 = await table.version();
      table.close();

      const reopened = await (
        await lancedb.connect(loc.uri, { storageOptions: loc.storageOptions })
      ).openTable('patches');
      expect(await reopened.countRows()).toBe(51);
      const icebergs = await reopened.query().where('is_iceberg = 1').select(['id']).toArray();
      expect(icebergs).toHaveLength(26);
      await reopened.checkout(v2 - 1); // time travel to the first write
      expect(await reopened.countRows()).toBe(50);
      reopened.close();
    } finally {
      db.close();
    }
    // The dataset is really on the object store, beside (not inside) the blobs.
    const { bucket, prefix } = parseS3Url(store.blobs.url('a.txt').replace(/\/blobs\/a\.txt$/, ''));
    const client = S3BlobStore.clientFor(resolveS3Config(s3().options));
    try {
      const { ListObjectsV2Command } = await import('@aws-sdk/client-s3');
      const listed = await client.send(
        new ListObjectsV2Command({ Bucket: bucket, Prefix: `${prefix}features/feature-groups/patches.lance/` }),
      );
      expect((listed.Contents ?? []).some((o) => o.Key?.endsWith('.lance'))).toBe(true);
    } finally {
      client.destroy();
    }
    expect(await store.blobs.list()).toEqual(['a.txt']);
  });

  it('records PostgreSQL + S3 in the project file; opened with the defaults it refuses instead of starting empty', async () => {
    const options = await freshOptions();
    const home = options.home!;
    await (await openProjectStore(options)).close();
    const { bucket, prefix } = parseS3Url(options.blobUrl!);
    const database = new URL(options.metadataUrl!).pathname.slice(1);
    expect(readProjectFile(home)).toMatchObject({
      metadata: { engine: 'postgres', host: '127.0.0.1', database },
      blobs: { kind: 's3', bucket, prefix, endpoint: s3().endpoint },
    });
    expect(JSON.stringify(readProjectFile(home))).not.toMatch(new RegExp(s3().options.secretAccessKey!));
    await expect(openProjectStore({ home })).rejects.toThrow(
      new RegExp(
        `its metadata is on PostgreSQL database '${database}' on 127\\.0\\.0\\.1:\\d+, but this open uses SQLite .*floe\\.db; ` +
          `its blobs and datasets are in s3://${bucket}/${prefix}`,
      ),
    );
    expect(fs.readdirSync(home)).toEqual([PROJECT_FILE]);
    // The same backends again: fine.
    await (await openProjectStore(options)).close();
  });

  it('names the server when PostgreSQL cannot be reached, without the password', async () => {
    await expect(
      openProjectStore({ home: await freshHome(), metadataUrl: 'postgres://floe:secret@127.0.0.1:1/none' }),
    ).rejects.toThrow(/cannot connect to the metadata database postgres:\/\/floe:\*\*\*@127\.0\.0\.1:1\/none/);
  });

  it('says when the bucket is missing, and creates it only when asked', async () => {
    const url = `s3://floe-missing-${Date.now()}/p`;
    await expect(openProjectStore({ home: await freshHome(), blobUrl: url, s3: s3().options })).rejects.toThrow(
      /does not exist/,
    );
    const created = await openProjectStore({
      home: await freshHome(),
      blobUrl: url,
      s3: { ...s3().options, createBucket: true },
    });
    await created.blobs.put('k', 'v');
    expect(await created.blobs.list()).toEqual(['k']);
    await created.close();
  });
});
