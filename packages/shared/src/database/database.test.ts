import { spawnSync } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import { sql } from 'kysely';
import type { Kysely } from 'kysely';
import pg from 'pg';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { checkDatabase, createDatabase } from './database.ts';
import {
  createThrowawayDatabase,
  databaseNameOf,
  dropDatabase,
  ensureDatabaseExists,
  quoteIdentifier,
  withDatabaseName,
} from './database-admin.ts';
import { openTestDatabase, serverUrl, waitFor } from './test-support.ts';
import type { TestDatabase } from './test-support.ts';

async function terminateBackend(url: string, pid: number): Promise<void> {
  const admin = new pg.Client({ connectionString: url });
  await admin.connect();
  try {
    const { rows } = await admin.query<{ terminated: boolean }>('select pg_terminate_backend($1) as terminated', [pid]);
    expect(rows[0]?.terminated).toBe(true);
  } finally {
    await admin.end();
  }
}

async function backendPid(db: Kysely<any>): Promise<number> {
  const { rows } = await sql<{ pid: number }>`select pg_backend_pid() as pid`.execute(db);
  const pid = rows[0]?.pid;
  if (pid === undefined) throw new Error('no backend pid');
  return pid;
}

describe('createDatabase', () => {
  let database: TestDatabase & { cleanup(): Promise<void> };
  beforeEach(async () => {
    database = await openTestDatabase();
  });
  afterEach(async () => {
    await database.cleanup();
  });

  it('answers the readiness probe, and rejects once closed', async () => {
    await expect(checkDatabase(database.handle.db)).resolves.toBeUndefined();
    const { rows } = await sql<{ name: string }>`select current_setting('application_name') as name`.execute(
      database.handle.db,
    );
    expect(rows).toEqual([{ name: 'appserving-test' }]);

    await database.handle.close();
    await database.handle.close();
    await expect(checkDatabase(database.handle.db)).rejects.toThrow();
  });

  it('fails the readiness probe when the server is unreachable', async () => {
    const unreachable = createDatabase({
      url: 'postgres://postgres@127.0.0.1:1/nothing',
      connectionTimeoutMillis: 1_000,
      onPoolError: () => {},
    });
    try {
      await expect(checkDatabase(unreachable.db)).rejects.toThrow(/ECONNREFUSED/);
    } finally {
      await unreachable.close();
    }
  });

  it('hands an idle connection error to the listener and keeps working', async () => {
    const { db, pool } = database.handle;
    const pid = await backendPid(db);
    expect(pool.idleCount).toBe(1);

    await terminateBackend(database.url, pid);
    await waitFor(() => database.poolErrors.length > 0);

    expect(database.poolErrors).toHaveLength(1);
    expect(database.poolErrors[0]).toMatchObject({ code: '57P01' }); // admin_shutdown
    expect(pool.totalCount).toBe(0);

    const newPid = await backendPid(db);
    expect(newPid).not.toBe(pid);
    await expect(checkDatabase(db)).resolves.toBeUndefined();
  });

  it('hands an error on a checked-out connection to the listener; the transaction fails, the pool recovers', async () => {
    const { db, pool } = database.handle;
    const outcome = db.transaction().execute(async (trx) => {
      const pid = await backendPid(trx);
      // Between two queries the connection is lent out and idle: the window in which pg-pool has no listener.
      await terminateBackend(database.url, pid);
      await waitFor(() => database.poolErrors.length > 0);
      await sql`select 1`.execute(trx);
    });
    await expect(outcome).rejects.toThrow();
    expect(database.poolErrors).toHaveLength(1);
    expect(database.poolErrors[0]).toMatchObject({ code: '57P01' });

    await expect(checkDatabase(db)).resolves.toBeUndefined();
    expect(pool.totalCount).toBe(1);
  });
});

describe('a terminated backend in a separate process', () => {
  const databaseModule = new URL('./database.ts', import.meta.url).href;
  const script = (withListener: boolean) => `
    import pg from 'pg';
    import { createDatabase, checkDatabase } from ${JSON.stringify(databaseModule)};
    const url = process.env.TEST_URL;
    const errors = [];
    const handle = ${withListener}
      ? createDatabase({ url, onPoolError: (error) => errors.push(error.code) })
      : { pool: new pg.Pool({ connectionString: url }) };
    const { rows: [{ pid }] } = await handle.pool.query('select pg_backend_pid() as pid');
    const admin = new pg.Client({ connectionString: url });
    await admin.connect();
    await admin.query('select pg_terminate_backend($1)', [pid]);
    await admin.end();
    await new Promise((resolve) => setTimeout(resolve, 500));
    await checkDatabase(handle.db);
    console.log(JSON.stringify({ errors }));
    await handle.close();
  `;

  let database: Awaited<ReturnType<typeof createThrowawayDatabase>>;
  beforeEach(async () => {
    database = await createThrowawayDatabase(serverUrl);
  });
  afterEach(async () => {
    await database.drop();
  });

  const run = (withListener: boolean) =>
    spawnSync(process.execPath, ['--input-type=module', '--eval', script(withListener)], {
      cwd: fileURLToPath(new URL('../..', import.meta.url)),
      env: { ...process.env, TEST_URL: database.url },
      encoding: 'utf8',
      timeout: 20_000,
    });

  it('does not crash the process when the pool has the listener', () => {
    const result = run(true);
    expect(result.stderr).toBe('');
    expect(result.status).toBe(0);
    expect(JSON.parse(result.stdout)).toEqual({ errors: ['57P01'] });
  });

  it('would crash it without one (the control)', () => {
    const result = run(false);
    expect(result.status).not.toBe(0);
    expect(result.stderr).toMatch(/terminating connection due to administrator command/);
  });
});

describe('database administration', () => {
  it('quotes identifiers', () => {
    expect(quoteIdentifier('appserving')).toBe('"appserving"');
    expect(quoteIdentifier('a"b')).toBe('"a""b"');
    expect(() => quoteIdentifier('')).toThrow();
  });

  it('reads and replaces the database in a URL', () => {
    expect(databaseNameOf('postgres://postgres@127.0.0.1:5432/appserving')).toBe('appserving');
    expect(databaseNameOf('postgres://u:p@h/my%20db?sslmode=disable')).toBe('my db');
    expect(withDatabaseName('postgres://u:p@h:5432/a?sslmode=disable', 'b c')).toBe(
      'postgres://u:p@h:5432/b%20c?sslmode=disable',
    );
    expect(() => databaseNameOf('postgres://h')).toThrow(/names no database/);
    expect(() => withDatabaseName('postgres://h/a', 'x?y')).toThrow(/cannot be written/);
  });

  it('creates a database with an awkward name once, even when asked concurrently', async () => {
    const name = `appserving_test_${Date.now()} "quoted"; drop`;
    const url = withDatabaseName(serverUrl, name);
    try {
      const created = await Promise.all([ensureDatabaseExists(url), ensureDatabaseExists(url), ensureDatabaseExists(url)]);
      expect(created.filter(Boolean)).toHaveLength(1);
      expect(await ensureDatabaseExists(url)).toBe(false);

      const client = new pg.Client({ connectionString: url });
      await client.connect();
      const { rows } = await client.query<{ name: string }>('select current_database() as name');
      await client.end();
      expect(rows).toEqual([{ name }]);
    } finally {
      await dropDatabase(url);
    }
    const admin = new pg.Client({ connectionString: serverUrl });
    await admin.connect();
    const { rowCount } = await admin.query('select 1 from pg_database where datname = $1', [name]);
    await admin.end();
    expect(rowCount).toBe(0);
  });
});
