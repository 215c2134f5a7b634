import type { Kysely } from 'kysely';
import { Migrator } from 'kysely/migration';
import type { Migration, MigrationProvider } from 'kysely/migration';
import * as m0001 from './migrations/0001-initial.ts';
import * as m0002 from './migrations/0002-projects-and-tokens.ts';
import * as m0003 from './migrations/0003-outbox-and-release-labels.ts';
import * as m0004 from './migrations/0004-app-names-per-project.ts';
import * as m0005 from './migrations/0005-cluster-prometheus-and-canary-analysis.ts';
import * as m0006 from './migrations/0006-housekeeping-indexes.ts';
import * as m0007 from './migrations/0007-create-apps-function.ts';
import * as m0008 from './migrations/0008-placement-and-endpoints.ts';
import * as m0009 from './migrations/0009-cluster-image-registries.ts';
import * as m0010 from './migrations/0010-app-health-reason.ts';

/**
 * Every migration, listed by hand rather than read from a folder, so migrating works from any working
 * directory and inside a bundle. Names sort in the order they run. Add a line per new file; never edit or
 * rename a migration once it has landed.
 */
export const migrations: Readonly<Record<string, Migration>> = {
  '0001-initial': m0001,
  '0002-projects-and-tokens': m0002,
  '0003-outbox-and-release-labels': m0003,
  '0004-app-names-per-project': m0004,
  '0005-cluster-prometheus-and-canary-analysis': m0005,
  '0006-housekeeping-indexes': m0006,
  '0007-create-apps-function': m0007,
  '0008-placement-and-endpoints': m0008,
  '0009-cluster-image-registries': m0009,
  '0010-app-health-reason': m0010,
};

/** Kysely's migrator over this project's migrations (or, in tests, over `source`). */
export function createMigrator(db: Kysely<any>, source: Readonly<Record<string, Migration>> = migrations): Migrator {
  const provider: MigrationProvider = { getMigrations: () => Promise.resolve(source) };
  return new Migrator({ db, provider });
}

export interface MigrationLogger {
  info(fields: Record<string, unknown>, message: string): void;
}

export class MigrationError extends Error {
  override name = 'MigrationError';
  /** The migration that failed, when one did (rather than, say, the connection). */
  readonly migration: string | undefined;

  constructor(message: string, migration: string | undefined, options: { cause: unknown }) {
    super(message, options);
    this.migration = migration;
  }
}

/**
 * Applies every pending migration and returns the names applied (empty when the schema is current).
 * All pending migrations run in one transaction: if one fails, none is applied, and the error names it.
 * Safe to call from several processes at once: kysely's Postgres adapter holds a session-level advisory
 * lock (`pg_advisory_lock`) around the run, so one process migrates while the others wait, then find
 * nothing to do. `source` exists for tests; services leave it out.
 */
export async function migrateToLatest(
  db: Kysely<any>,
  log?: MigrationLogger,
  source: Readonly<Record<string, Migration>> = migrations,
): Promise<string[]> {
  const { error, results = [] } = await createMigrator(db, source).migrateToLatest();

  if (error !== undefined) {
    const failed = results.find((result) => result.status === 'Error')?.migrationName;
    const reason = error instanceof Error ? error.message : JSON.stringify(error);
    const message =
      failed === undefined
        ? `migrations could not run: ${reason}`
        : `migration ${failed} failed, nothing was applied: ${reason}`;
    throw new MigrationError(message, failed, { cause: error });
  }

  const applied = results.filter((result) => result.status === 'Success').map((result) => result.migrationName);
  for (const migration of applied) log?.info({ migration }, 'migration applied');
  if (applied.length === 0) log?.info({}, 'database schema is up to date');
  return applied;
}
