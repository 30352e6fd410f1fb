/**
 * Every migration of the metadata schema, in the order they run. Each domain adds its own file
 * (`NNN_<domain>.ts`, exporting a `Migration` and augmenting `FloeDatabase` with its tables, see
 * ../database.ts) and one line here. Never reorder or rename released entries: stores record names.
 */
import { coreMigration } from './001_core';
import { featureStoreMigration } from './002_feature_store';
import { experimentsMigration } from './003_experiments';
import { searchMigration } from './004_search';
import { servingMigration } from './005_serving';
import { deploymentsMigration } from './006_deployments';
import type { Migration } from './types';

export const MIGRATIONS: readonly Migration[] = [
  coreMigration,
  featureStoreMigration,
  experimentsMigration,
  searchMigration,
  servingMigration,
  deploymentsMigration,
];

export type { Migration, MigrationContext } from './types';
