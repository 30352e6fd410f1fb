/**
 * Opens the metadata database behind one Kysely instance: SQLite (embedded default) or PostgreSQL.
 */
import * as fs from 'node:fs';
import * as path from 'node:path';
import { fileURLToPath } from 'node:url';
import Database from 'better-sqlite3';
import {
  CompiledQuery,
  Kysely,
  PostgresDialect,
  SqliteDialect,
  SqliteDriver,
  type DatabaseConnection,
  type Driver,
  type SqliteDialectConfig,
} from 'kysely';
import { Pool, types as pgTypes } from 'pg';
import type { FloeDatabase } from './database';
import type { SqlDialectName } from './portable';

export interface MetadataConnection {
  db: Kysely<FloeDatabase>;
  dialect: SqlDialectName;
  /** Where the metadata lives, without credentials (for messages). */
  where: string;
}

export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//i.test(url);
}

/** The URL with any password masked, for messages and logs. */
export function redactUrl(url: string): string {
  try {
    const u = new URL(url);
    if (u.password) u.password = '***';
    return u.toString();
  } catch {
    return url;
  }
}

/** A SQLite file from `sqlite:<path>`, `file:` URL or a plain path (relative to `home`). */
export function sqlitePathFrom(url: string, home: string): string {
  if (url.startsWith('file:')) return fileURLToPath(url);
  const bare = url.replace(/^sqlite:(\/\/)?/i, '');
  return path.resolve(home, bare);
}

/** PostgreSQL's int8 (bigint, count(*)) as a JS number, as SQLite gives it; refuse silent precision loss. */
function parseInt8(text: string): number {
  const n = Number(text);
  if (!Number.isSafeInteger(n)) throw new RangeError(`PostgreSQL bigint ${text} does not fit a JS number exactly`);
  return n;
}

const PG_INT8_OID = 20;

/**
 * SQLite transactions that take the write lock at `begin` (`BEGIN IMMEDIATE`). A deferred `begin`
 * that reads and then writes fails with SQLITE_BUSY, without waiting, when another process wrote in
 * between; an immediate one waits its turn (busy timeout) instead, so `db.transaction()` is safe
 * across processes.
 */
class ImmediateSqliteDriver extends SqliteDriver {
  override async beginTransaction(connection: DatabaseConnection): Promise<void> {
    await connection.executeQuery(CompiledQuery.raw('begin immediate'));
  }
}

class FloeSqliteDialect extends SqliteDialect {
  constructor(private readonly sqliteConfig: SqliteDialectConfig) {
    super(sqliteConfig);
  }

  override createDriver(): Driver {
    return new ImmediateSqliteDriver(this.sqliteConfig);
  }
}

export async function openMetadata(url: string, home: string): Promise<MetadataConnection> {
  if (isPostgresUrl(url)) {
    const pool = new Pool({
      connectionString: url,
      max: 4,
      // Per-pool parsers, so other pg users in the process keep their defaults.
      types: {
        getTypeParser: ((oid: number, format?: 'text' | 'binary') =>
          oid === PG_INT8_OID && format !== 'binary'
            ? parseInt8
            : pgTypes.getTypeParser(oid, format as 'text')) as typeof pgTypes.getTypeParser,
      },
    });
    const where = redactUrl(url);
    // An idle connection dropped by the server (restart, admin shutdown) is removed from the pool and
    // replaced on next use; without a listener the pool's 'error' event would crash the process.
    pool.on('error', () => undefined);
    try {
      const client = await pool.connect();
      client.release();
    } catch (err) {
      await pool.end().catch(() => undefined);
      throw new Error(`cannot connect to the metadata database ${where}: ${(err as Error).message}`, { cause: err });
    }
    return { db: new Kysely<FloeDatabase>({ dialect: new PostgresDialect({ pool }) }), dialect: 'postgres', where };
  }
  const file = sqlitePathFrom(url, home);
  fs.mkdirSync(path.dirname(file), { recursive: true });
  let sqlite: Database.Database;
  try {
    // `timeout` is SQLite's busy timeout: other processes' writes make us wait, not fail.
    sqlite = new Database(file, { timeout: 15_000 });
    // WAL lets readers run beside one writer across processes; NORMAL sync in WAL mode keeps every
    // commit atomic and survives a killed process (only an OS crash may lose the last commits).
    sqlite.pragma('journal_mode = WAL');
    sqlite.pragma('synchronous = NORMAL');
    sqlite.pragma('foreign_keys = ON');
  } catch (err) {
    throw new Error(`cannot open the metadata database ${file}: ${(err as Error).message}`, { cause: err });
  }
  return {
    db: new Kysely<FloeDatabase>({ dialect: new FloeSqliteDialect({ database: sqlite }) }),
    dialect: 'sqlite',
    where: file,
  };
}
