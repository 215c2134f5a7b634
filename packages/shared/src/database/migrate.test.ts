import { appTypes, releaseStatuses, strategies, taskTypes } from '../contracts/index.ts';
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import { NO_MIGRATIONS } from 'kysely/migration';
import pg from 'pg';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { createDatabase } from './database.ts';
import { createMigrator, migrateToLatest, MigrationError, migrations } from './migrate.ts';
import type { MigrationLogger } from './migrate.ts';
import * as initial from './migrations/0001-initial.ts';
import {
  APP_STATUSES,
  CONSTRAINTS,
  OPERATION_KINDS,
  OPERATION_STATUSES,
} from './schema.ts';
import { openTestDatabase, waitFor } from './test-support.ts';
import type { TestDatabase } from './test-support.ts';

const TABLES = ['api_token_projects', 'api_tokens', 'apps', 'canary_analysis', 'clusters', 'idempotency_records', 'operations', 'outbox', 'projects', 'releases', 'timeline'];
const ALL = Object.keys(migrations);

/** Everything that makes up the schema, one line per object, in a stable order. */
async function schemaSnapshot(db: Kysely<any>): Promise<string[]> {
  const { rows } = await sql<{ line: string }>`
    select 'column ' || table_name || '.' || column_name || ' ' || data_type || ' nullable=' || is_nullable
           || ' default=' || coalesce(column_default, '') as line
      from information_schema.columns where table_schema = 'public'
    union all
    select 'constraint ' || conrelid::regclass || ' ' || conname || ' ' || pg_get_constraintdef(oid)
      from pg_constraint where connamespace = 'public'::regnamespace
    union all
    select 'index ' || indexdef from pg_indexes where schemaname = 'public'
    union all
    select 'trigger ' || tgrelid::regclass || ' ' || tgname from pg_trigger where not tgisinternal
    union all
    select 'function ' || proname from pg_proc where pronamespace = 'public'::regnamespace
    union all
    select 'migration ' || name from kysely_migration
    order by 1`.execute(db);
  return rows.map((row) => row.line);
}

async function tableNames(db: Kysely<any>): Promise<string[]> {
  const { rows } = await sql<{ table_name: string }>`
    select table_name from information_schema.tables
     where table_schema = 'public' and table_name not like 'kysely_%' order by table_name`.execute(db);
  return rows.map((row) => row.table_name);
}

describe('migrateToLatest', () => {
  let database: TestDatabase & { cleanup(): Promise<void> };
  beforeEach(async () => {
    database = await openTestDatabase();
  });
  afterEach(async () => {
    await database.cleanup();
  });

  it('creates every table, constraint, index and trigger on an empty database', async () => {
    const { db } = database.handle;
    expect(await tableNames(db)).toEqual([]);

    const lines: string[] = [];
    const log: MigrationLogger = { info: (fields, message) => lines.push(`${message} ${JSON.stringify(fields)}`) };
    expect(await migrateToLatest(db, log)).toEqual(ALL);
    expect(lines).toEqual(ALL.map((name) => `migration applied {"migration":"${name}"}`));

    expect(await tableNames(db)).toEqual(TABLES);

    const { rows: constraints } = await sql<{ conname: string }>`
      select conname from pg_constraint where connamespace = 'public'::regnamespace`.execute(db);
    const { rows: indexes } = await sql<{ indexname: string; indexdef: string }>`
      select indexname, indexdef from pg_indexes where schemaname = 'public'`.execute(db);
    const names = new Set([...constraints.map((row) => row.conname), ...indexes.map((row) => row.indexname)]);
    for (const name of Object.values(CONSTRAINTS)) expect(names, name).toContain(name);
    for (const name of [
      'apps_current_release_id_fkey',
      'apps_cluster_id_fkey',
      'releases_app_id_fkey',
      'operations_app_id_fkey',
      'operations_release_id_fkey',
      'operations_finished_at_check',
      'apps_name_check',
      'timeline_app_id_id',
    ]) {
      expect(names, name).toContain(name);
    }

    const indexDef = (name: string) => indexes.find((row) => row.indexname === name)?.indexdef;
    expect(indexDef(CONSTRAINTS.oneActiveOperationPerApp)).toMatch(
      /UNIQUE INDEX .* \(app_id\) WHERE \(status = ANY \(ARRAY\['pending'::text, 'running'::text\]\)\)/,
    );
    expect(indexDef(CONSTRAINTS.appNamePerCluster)).toMatch(/UNIQUE INDEX .* \(cluster_id, name\) WHERE \(\(deleted_at IS NULL\) AND \(project_id IS NULL\)\)/);
    expect(indexDef('timeline_app_id_id')).toMatch(/\(app_id, id\)$/);

    const { rows: columns } = await sql<{ table_name: string; column_name: string; data_type: string }>`
      select table_name, column_name, data_type from information_schema.columns
       where table_schema = 'public' and table_name = any(${TABLES})`.execute(db);
    const typeOf = (table: string, column: string) =>
      columns.find((row) => row.table_name === table && row.column_name === column)?.data_type;
    expect(typeOf('clusters', 'kubeconfig_encrypted')).toBe('bytea');
    expect(typeOf('releases', 'spec')).toBe('jsonb');
    expect(typeOf('releases', 'diagnosis')).toBe('jsonb');
    expect(typeOf('timeline', 'id')).toBe('bigint');
    expect(typeOf('timeline', 'occurred_at')).toBe('timestamp with time zone');
    expect(typeOf('apps', 'id')).toBe('uuid');
  });

  it('applies nothing the second time and leaves the schema identical', async () => {
    const { db } = database.handle;
    await migrateToLatest(db);
    const before = await schemaSnapshot(db);
    expect(before.length).toBeGreaterThan(50);

    const lines: string[] = [];
    expect(await migrateToLatest(db, { info: (_fields, message) => lines.push(message) })).toEqual([]);
    expect(lines).toEqual(['database schema is up to date']);
    expect(await schemaSnapshot(db)).toEqual(before);
  });

  it('applies once when several processes migrate an empty database at the same time', async () => {
    const handles = Array.from({ length: 4 }, () =>
      createDatabase({ url: database.url, poolMax: 2, onPoolError: (error) => database.poolErrors.push(error) }),
    );
    try {
      const results = await Promise.all(handles.map((handle) => migrateToLatest(handle.db)));
      expect(results.flat()).toEqual(ALL);
      expect(results.filter((applied) => applied.length === 0)).toHaveLength(3);
    } finally {
      await Promise.all(handles.map((handle) => handle.close()));
    }
    const { rows } = await sql<{ name: string }>`select name from kysely_migration`.execute(database.handle.db);
    expect(rows).toEqual(ALL.map((name) => ({ name })));
    expect(await tableNames(database.handle.db)).toEqual(TABLES);
  });

  it('waits for the advisory lock another migrator holds', async () => {
    // kysely's Postgres adapter serialises migrators with pg_advisory_lock on this key.
    const KYSELY_MIGRATION_LOCK_ID = '3853314791062309107';
    const holder = new pg.Client({ connectionString: database.url });
    await holder.connect();
    try {
      await holder.query('select pg_advisory_lock($1)', [KYSELY_MIGRATION_LOCK_ID]);
      let done = false;
      const migrating = migrateToLatest(database.handle.db).then((applied) => {
        done = true;
        return applied;
      });
      await new Promise((resolve) => setTimeout(resolve, 500));
      expect(done).toBe(false);
      await holder.query('select pg_advisory_unlock($1)', [KYSELY_MIGRATION_LOCK_ID]);
      await waitFor(() => done);
      expect(await migrating).toEqual(ALL);
    } finally {
      await holder.end();
    }
  });

  it('names the migration that failed and applies none of the run', async () => {
    const { db } = database.handle;
    const broken = {
      ...migrations,
      '9999-broken': {
        async up(trx: Kysely<any>) {
          await sql`create table half_done (id int)`.execute(trx);
          await sql`select * from no_such_table`.execute(trx);
        },
      },
    };
    const failure = await migrateToLatest(db, undefined, broken).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(MigrationError);
    expect((failure as MigrationError).migration).toBe('9999-broken');
    expect((failure as MigrationError).message).toMatch(/^migration 9999-broken failed.*no_such_table/);
    expect((failure as MigrationError).cause).toMatchObject({ code: '42P01' });

    expect(await tableNames(db)).toEqual([]);
    expect(await migrateToLatest(db)).toEqual(ALL);
  });

  it('migrates down to nothing and up again', async () => {
    const { db } = database.handle;
    await migrateToLatest(db);
    const before = await schemaSnapshot(db);

    const down = await createMigrator(db).migrateTo(NO_MIGRATIONS);
    expect(down.error).toBeUndefined();
    expect(await tableNames(db)).toEqual([]);

    await migrateToLatest(db);
    expect(await schemaSnapshot(db)).toEqual(before);
  });

  it('hard-codes in the migration the same closed sets as schema.ts', async () => {
    const { db } = database.handle;
    await migrateToLatest(db);
    const { rows } = await sql<{ conname: string; def: string }>`
      select conname, pg_get_constraintdef(oid) as def from pg_constraint
       where connamespace = 'public'::regnamespace and contype = 'c'`.execute(db);
    const valuesOf = (constraint: string) => {
      const def = rows.find((row) => row.conname === constraint)?.def;
      expect(def, constraint).toBeDefined();
      return [...(def ?? '').matchAll(/'([^']*)'::text/g)].map((match) => match[1]);
    };
    expect(valuesOf('apps_app_type_check')).toEqual([...appTypes]);
    expect(valuesOf('apps_strategy_check')).toEqual([...strategies]);
    expect(valuesOf('apps_status_check')).toEqual([...APP_STATUSES]);
    expect(valuesOf('releases_task_type_check')).toEqual([...taskTypes]);
    expect(valuesOf('releases_strategy_check')).toEqual([...strategies]);
    expect(valuesOf('releases_status_check')).toEqual([...releaseStatuses]);
    expect(valuesOf('operations_kind_check')).toEqual([...OPERATION_KINDS]);
    expect(valuesOf('operations_status_check')).toEqual([...OPERATION_STATUSES]);
  });
});

describe('migrations', () => {
  it('lists every migration in order, the initial one included', () => {
    expect(Object.keys(migrations)).toEqual(['0001-initial', '0002-projects-and-tokens', '0003-outbox-and-release-labels', '0004-app-names-per-project', '0005-cluster-prometheus-and-canary-analysis', '0006-housekeeping-indexes', '0007-create-apps-function', '0008-placement-and-endpoints', '0009-cluster-image-registries', '0010-app-health-reason']);
    expect(Object.keys(migrations)).toEqual(Object.keys(migrations).toSorted());
    expect(migrations['0001-initial']).toBe(initial);
  });

  it('tells a pino logger, as the services pass theirs, each migration it applies', async () => {
    const database = await openTestDatabase();
    try {
      const lines: string[] = [];
      const log: MigrationLogger = pino({ base: null, timestamp: false }, { write: (line: string) => lines.push(line) });
      await migrateToLatest(database.handle.db, log);
      expect(lines.map((line) => JSON.parse(line) as unknown)).toEqual(ALL.map((migration) => ({ level: 30, migration, msg: 'migration applied' })));
    } finally {
      await database.cleanup();
    }
  });
});
