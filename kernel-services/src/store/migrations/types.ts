import type { Kysely } from 'kysely';
import type { PortableTypes, SqlDialectName } from '../portable';

/** What a migration gets besides the database: the engine's name and the portable column types. */
export interface MigrationContext {
  dialect: SqlDialectName;
  types: PortableTypes;
}

/**
 * One step of the metadata schema. `name` is stored in `floe_migration` and must never change once
 * released; `up` runs inside the migration transaction (so it must not open one itself) and must
 * produce the same schema on SQLite and PostgreSQL: use `ctx.types` and `addAutoIdColumn` from
 * `portable.ts` instead of engine-specific types.
 */
export interface Migration {
  name: string;
  // The schema is being built, so no table types apply yet.
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  up(db: Kysely<any>, ctx: MigrationContext): Promise<void>;
}
