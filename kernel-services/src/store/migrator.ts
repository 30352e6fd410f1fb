/**
 * Brings a store's metadata schema up to date, safely when several processes open the same store at
 * once: the whole run holds a write lock (SQLite `BEGIN IMMEDIATE`; a PostgreSQL transaction-scoped
 * advisory lock), re-reads what is applied under that lock, and applies the rest in one transaction,
 * so a process either sees the schema complete or waits for it.
 */
import { sql, type Kysely } from 'kysely';
import type { FloeDatabase } from './database';
import { MIGRATIONS, type Migration } from './migrations';
import { portableTypes, storedTime, type SqlDialectName } from './portable';

/** Arbitrary constant naming Floe's migration lock among PostgreSQL advisory locks ("floe" + 1). */
const PG_MIGRATION_LOCK_KEY = 0x666c6f65_01;

export class StoreSchemaError extends Error {
  override name = 'StoreSchemaError';
}

export interface MigrationResult {
  applied: string[];
  schemaVersion: string;
}

async function appliedNames(db: Kysely<FloeDatabase>): Promise<string[] | undefined> {
  try {
    const rows = await db.selectFrom('floe_migration').select('name').execute();
    return rows.map((r) => r.name);
  } catch {
    return undefined; // table missing: a new store
  }
}

function pending(applied: readonly string[], migrations: readonly Migration[], where: string): Migration[] {
  const known = new Set(migrations.map((m) => m.name));
  const unknown = applied.filter((n) => !known.has(n));
  if (unknown.length > 0) {
    throw new StoreSchemaError(
      `the store at ${where} has schema migrations this version of Floe does not know (${unknown.join(', ')}); ` +
        'it was written by a newer Floe: upgrade Floe to open it',
    );
  }
  const done = new Set(applied);
  return migrations.filter((m) => !done.has(m.name));
}

export async function migrateToLatest(
  db: Kysely<FloeDatabase>,
  dialect: SqlDialectName,
  where: string,
  migrations: readonly Migration[] = MIGRATIONS,
): Promise<MigrationResult> {
  const last = migrations[migrations.length - 1]?.name ?? '';
  // Fast path without the write lock: every open of an up-to-date store reads only.
  const before = await appliedNames(db);
  if (before && pending(before, migrations, where).length === 0) return { applied: [], schemaVersion: last };

  return db.connection().execute(async (conn) => {
    if (dialect === 'sqlite') {
      await sql`begin immediate`.execute(conn);
    } else {
      await sql`begin`.execute(conn);
      await sql`select pg_advisory_xact_lock(${sql.lit(PG_MIGRATION_LOCK_KEY)})`.execute(conn);
    }
    try {
      await conn.schema
        .createTable('floe_migration')
        .ifNotExists()
        .addColumn('name', 'text', (c) => c.primaryKey())
        .addColumn('applied_at', 'text', (c) => c.notNull())
        .execute();
      const applied = (await conn.selectFrom('floe_migration').select('name').execute()).map((r) => r.name);
      const todo = pending(applied, migrations, where);
      const ctx = { dialect, types: portableTypes(dialect) };
      for (const migration of todo) {
        try {
          await migration.up(conn, ctx);
        } catch (err) {
          throw new StoreSchemaError(
            `schema migration ${migration.name} failed on ${where}: ${(err as Error).message}`,
            { cause: err },
          );
        }
        await conn.insertInto('floe_migration').values({ name: migration.name, applied_at: storedTime() }).execute();
      }
      if (todo.length > 0 && migrations.some((m) => m.name === '001_core')) {
        await conn
          .insertInto('meta')
          .values({ key: 'schema_version', value: last })
          .onConflict((oc) => oc.column('key').doUpdateSet({ value: last }))
          .execute();
      }
      await sql`commit`.execute(conn);
      return { applied: todo.map((m) => m.name), schemaVersion: last };
    } catch (err) {
      await sql`rollback`.execute(conn).catch(() => undefined);
      throw err;
    }
  });
}
