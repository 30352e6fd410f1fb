/**
 * The metadata schema as TypeScript types, for Kysely.
 *
 * `FloeDatabase` is an interface so that each domain declares its own tables beside its migration,
 * without editing this file, by module augmentation (TypeScript merges the declarations):
 *
 * ```ts
 * // kernel-services/src/store/migrations/002_feature_store.ts
 * declare module '../database' {
 *   interface FloeDatabase {
 *     feature_groups: FeatureGroupTable;
 *   }
 * }
 * ```
 *
 * The augmenting file must be a module (have an import or export) and be part of the build, which it
 * is once `migrations/index.ts` lists its migration. `001_core.ts` declares its tables this way too.
 *
 * Column conventions, the same on SQLite and PostgreSQL (see `portable.ts`): timestamps are ISO-8601
 * UTC text, JSON is text, booleans are integers 0/1, and 64-bit integers come back as JS numbers.
 */
import type { Generated } from 'kysely';

/** One row per applied migration; written by the migrator only. */
export interface MigrationTable {
  name: string;
  applied_at: string;
}

export interface FloeDatabase {
  floe_migration: MigrationTable;
}

export type { Generated };
