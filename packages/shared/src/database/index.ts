export { checkDatabase, createDatabase } from './database.ts';
export type { DatabaseHandle, DatabaseOptions } from './database.ts';
export {
  createThrowawayDatabase,
  databaseNameOf,
  dropDatabase,
  ensureDatabaseExists,
  quoteIdentifier,
  withDatabaseName,
} from './database-admin.ts';
export type { EnsureDatabaseOptions, ThrowawayDatabase } from './database-admin.ts';
export { isRefusedByPostgres, isTransactionConflict, isUniqueViolation } from './database-errors.ts';
export { createMigrator, migrateToLatest, MigrationError, migrations } from './migrate.ts';
export type { MigrationLogger } from './migrate.ts';
export * from './schema.ts';
