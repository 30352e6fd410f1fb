/**
 * The project store: one project's metadata (SQLite or PostgreSQL behind one Kysely query layer),
 * its blobs (a local folder or S3-compatible object storage behind one `BlobStore`), and where its
 * columnar feature datasets (Lance) live. See docs/storage.md.
 */
import { createHash } from 'node:crypto';
import * as os from 'node:os';
import * as path from 'node:path';
import { sql, type Kysely } from 'kysely';
import { storePath } from '../env/paths';
import { checkBlobKey } from './blobs/keys';
import { LocalBlobStore } from './blobs/local';
import { S3BlobStore, parseS3Url, resolveS3Config, type S3Options } from './blobs/s3';
import type { BlobStore } from './blobs/types';
import type { FloeDatabase } from './database';
import { migrateToLatest, type MigrationResult } from './migrator';
import { openMetadata, sqlitePathFrom } from './metadata';
import { backendsFor, checkProjectBackends, checkProjectId, readProjectFile, writeProjectFile } from './project-file';
import { storedJson, storedTime, type SqlDialectName } from './portable';

export interface StoreOptions {
  /** The project folder. Default: `storePath()` (`FLOE_HOME`, else `./floe-project`). */
  home?: string;
  /**
   * Metadata database. Default: `FLOE_METADATA_URL`, else the SQLite file `<home>/floe.db`.
   * `postgres://user:password@host:port/db` for PostgreSQL; `sqlite:<path>` or a path for SQLite.
   */
  metadataUrl?: string;
  /**
   * Blob and dataset storage. Default: `FLOE_BLOB_URL`, else the local folder `<home>/blobs`
   * (datasets in `<home>/features`). `s3://bucket/prefix` puts blobs under `prefix/blobs/` and
   * datasets under `prefix/features/` in that bucket.
   */
  blobUrl?: string;
  /** S3 endpoint and credentials; each falls back to the environment (see docs/storage.md). */
  s3?: S3Options;
}

export interface DatasetLocation {
  /** A local folder path or an `s3://bucket/key` URI, as `lancedb.connect` takes it. */
  uri: string;
  /** lancedb/object_store storage options (endpoint, region, keys, allow_http) for S3; absent locally. */
  storageOptions?: Record<string, string>;
}

export interface WriteTransactionOptions {
  /**
   * Serialises writers that share this key across processes. On SQLite every write transaction is
   * already exclusive (BEGIN IMMEDIATE); on PostgreSQL this takes a transaction-scoped advisory lock.
   */
  lockKey?: string;
}

export interface ProjectStore {
  readonly home: string;
  /** One query layer over both engines. */
  readonly db: Kysely<FloeDatabase>;
  readonly dialect: SqlDialectName;
  readonly blobs: BlobStore;
  /** Migrations this open applied (empty when the schema was already current) and the schema version. */
  readonly schema: MigrationResult;
  /** Where a columnar (Lance) dataset lives: `<home>/features/<relPath>` or `s3://…/features/<relPath>`. */
  datasetLocation(relPath: string): DatasetLocation;
  /**
   * Runs `fn` in a transaction that holds the write lock from its first statement, so read-then-write
   * logic (e.g. "next commit number") is safe across processes. On SQLite every transaction does
   * (plain `db.transaction()` too: BEGIN IMMEDIATE); on PostgreSQL, writers passing the same `lockKey`
   * are serialised. Inside `fn` use only `trx`: the SQLite driver has one connection, so touching
   * `db` there would wait for this very transaction.
   */
  writeTransaction<T>(fn: (trx: Kysely<FloeDatabase>) => Promise<T>, options?: WriteTransactionOptions): Promise<T>;
  /** Appends one row to `audit_log`. */
  audit(action: string, subject: string, details?: unknown, trx?: Kysely<FloeDatabase>): Promise<void>;
  /** Reads one `meta` value (e.g. `project_id`, `schema_version`). */
  meta(key: string): Promise<string | undefined>;
  close(): Promise<void>;
}

function actor(): string {
  let user = 'unknown';
  try {
    user = os.userInfo().username;
  } catch {
    // no passwd entry (e.g. an arbitrary uid in a container)
  }
  return `${user}@${os.hostname()}:${process.pid}`;
}

/** A signed 64-bit advisory-lock key from a string, the same in every process. */
function advisoryKey(key: string): string {
  return createHash('sha256').update(key).digest().readBigInt64BE(0).toString();
}

export async function openProjectStore(opts: StoreOptions = {}): Promise<ProjectStore> {
  const home = path.resolve(opts.home ?? storePath());
  const metadataUrl = opts.metadataUrl ?? process.env.FLOE_METADATA_URL ?? path.join(home, 'floe.db');
  const blobUrl = opts.blobUrl ?? process.env.FLOE_BLOB_URL ?? path.join(home, 'blobs');

  // The project file: a folder opened before must be opened with the backends it recorded (checked
  // before anything is opened or created, so a wrong configuration leaves no empty store behind).
  const s3Target = blobUrl.startsWith('s3://')
    ? { ...parseS3Url(blobUrl), endpoint: resolveS3Config(opts.s3).endpoint }
    : undefined;
  const backends = backendsFor(home, metadataUrl, blobUrl, s3Target);
  const recorded = readProjectFile(home);
  if (recorded) checkProjectBackends(home, recorded, backends);

  // Blobs first: a bad S3 configuration fails before the database is touched.
  let blobs: BlobStore;
  let datasetLocation: (relPath: string) => DatasetLocation;
  if (blobUrl.startsWith('s3://')) {
    const { bucket, prefix } = parseS3Url(blobUrl);
    const config = resolveS3Config(opts.s3);
    blobs = await S3BlobStore.open({ bucket, prefix: `${prefix}blobs/`, config });
    const storageOptions = S3BlobStore.lanceStorageOptions(config);
    datasetLocation = (relPath) => ({
      uri: `s3://${bucket}/${prefix}features/${checkBlobKey(relPath)}`,
      storageOptions,
    });
  } else {
    const root = blobUrl.startsWith('file:') ? sqlitePathFrom(blobUrl, home) : path.resolve(home, blobUrl);
    blobs = await LocalBlobStore.open(root);
    datasetLocation = (relPath) => ({ uri: path.join(home, 'features', ...checkBlobKey(relPath).split('/')) });
  }

  const { db, dialect, where } = await openMetadata(metadataUrl, home);
  let schema: MigrationResult;
  try {
    schema = await migrateToLatest(db, dialect, where);
    const row = await db.selectFrom('meta').select('value').where('key', '=', 'project_id').executeTakeFirst();
    if (recorded) checkProjectId(home, recorded, row?.value, where);
    else writeProjectFile(home, backends, row!.value);
  } catch (err) {
    await db.destroy().catch(() => undefined);
    blobs.close();
    throw err;
  }
  // Kysely's transactions take the write lock at begin on SQLite (metadata.ts), so only PostgreSQL
  // needs an explicit lock, and only when callers name what they serialise on.
  const writeTransaction = <T>(
    fn: (trx: Kysely<FloeDatabase>) => Promise<T>,
    options: WriteTransactionOptions = {},
  ): Promise<T> =>
    db.transaction().execute(async (trx) => {
      if (dialect === 'postgres' && options.lockKey) {
        await sql`select pg_advisory_xact_lock(${advisoryKey(options.lockKey)}::bigint)`.execute(trx);
      }
      return fn(trx);
    });

  let closed = false;
  const store: ProjectStore = {
    home,
    db,
    dialect,
    blobs,
    schema,
    datasetLocation,
    writeTransaction,
    async audit(action, subject, details, trx) {
      await (trx ?? db)
        .insertInto('audit_log')
        .values({
          at: storedTime(),
          actor: actor(),
          action,
          subject,
          details: details === undefined ? null : storedJson(details),
        })
        .execute();
    },
    async meta(key) {
      const row = await db.selectFrom('meta').select('value').where('key', '=', key).executeTakeFirst();
      return row?.value;
    },
    async close() {
      if (closed) return;
      closed = true;
      blobs.close();
      await db.destroy();
    },
  };
  return store;
}

export type { BlobStore, BlobData, BlobInfo } from './blobs/types';
export { BlobNotFoundError } from './blobs/types';
export { InvalidBlobKeyError, checkBlobKey } from './blobs/keys';
export type { S3Options } from './blobs/s3';
export type { FloeDatabase, MigrationTable } from './database';
export type { MetaTable, AuditLogTable } from './migrations/001_core';
export { MIGRATIONS, type Migration, type MigrationContext } from './migrations';
export { StoreSchemaError, type MigrationResult } from './migrator';
export { PROJECT_FILE, ProjectBackendMismatchError, readProjectFile, type ProjectFile } from './project-file';
export {
  portableTypes,
  addAutoIdColumn,
  storedTime,
  readTime,
  storedJson,
  readJson,
  storedBool,
  readBool,
  type PortableTypes,
  type SqlDialectName,
} from './portable';
