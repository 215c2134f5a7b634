// Creating and dropping whole databases: for the migrate CLI, for services that start against an empty
// server, and for tests that each want a throw-away database.
import { randomBytes } from 'node:crypto';
import pg from 'pg';

const DUPLICATE_DATABASE = '42P04';
const UNIQUE_VIOLATION = '23505';

/** Quotes a Postgres identifier (`"a""b"`), so any database name is safe to splice into DDL. */
export function quoteIdentifier(name: string): string {
  if (name.length === 0 || name.includes('\0')) throw new Error(`invalid identifier ${JSON.stringify(name)}`);
  return `"${name.replaceAll('"', '""')}"`;
}

// pg decodes the path with decodeURI, which leaves %3F and %23 encoded: a database whose name holds `?` or `#`
// cannot be named in a URL at all.
const UNREPRESENTABLE_IN_URL = /[?#]/;

/** The database a connection URL points at (`/appserving` → `appserving`), decoded the way pg decodes it. */
export function databaseNameOf(url: string): string {
  const name = decodeURI(new URL(url).pathname.replace(/^\//, ''));
  if (name.length === 0) throw new Error('the database URL names no database');
  return name;
}

/** The same server and credentials as `url`, pointing at another database. */
export function withDatabaseName(url: string, database: string): string {
  if (UNREPRESENTABLE_IN_URL.test(database)) {
    throw new Error(`database name ${JSON.stringify(database)} cannot be written in a connection URL`);
  }
  const parsed = new URL(url);
  parsed.pathname = `/${encodeURI(database)}`;
  return parsed.toString();
}

async function withMaintenanceClient<T>(
  url: string,
  maintenanceDatabase: string,
  run: (client: pg.Client) => Promise<T>,
): Promise<T> {
  const client = new pg.Client({ connectionString: withDatabaseName(url, maintenanceDatabase) });
  // An error event with no listener would crash the process; the failing query rejects anyway.
  client.on('error', () => {});
  await client.connect();
  try {
    return await run(client);
  } finally {
    await client.end();
  }
}

export interface EnsureDatabaseOptions {
  /** The database to connect to while creating the target (default `postgres`). */
  maintenanceDatabase?: string;
}

/**
 * Creates the database `url` names unless it exists. Returns whether it created it. Safe to call from
 * several processes at once: losing the race to create it counts as "exists".
 */
export async function ensureDatabaseExists(url: string, options: EnsureDatabaseOptions = {}): Promise<boolean> {
  const name = databaseNameOf(url);
  return withMaintenanceClient(url, options.maintenanceDatabase ?? 'postgres', async (client) => {
    const existing = await client.query('select 1 from pg_database where datname = $1', [name]);
    if (existing.rowCount !== 0) return false;
    try {
      await client.query(`create database ${quoteIdentifier(name)}`);
      return true;
    } catch (error) {
      const code = (error as { code?: unknown }).code;
      if (code === DUPLICATE_DATABASE || code === UNIQUE_VIOLATION) return false;
      throw error;
    }
  });
}

/** Drops the database `url` names, disconnecting its sessions. Does nothing if it does not exist. */
export async function dropDatabase(url: string, options: EnsureDatabaseOptions = {}): Promise<void> {
  const name = databaseNameOf(url);
  await withMaintenanceClient(url, options.maintenanceDatabase ?? 'postgres', async (client) => {
    await client.query(`drop database if exists ${quoteIdentifier(name)} with (force)`);
  });
}

export interface ThrowawayDatabase {
  name: string;
  url: string;
  drop(): Promise<void>;
}

/**
 * For tests: creates an empty database with a random name (`appserving_test_<hex>`) on the server `serverUrl`
 * points at. Call `drop()` when done.
 */
export async function createThrowawayDatabase(serverUrl: string): Promise<ThrowawayDatabase> {
  const name = `appserving_test_${randomBytes(6).toString('hex')}`;
  const url = withDatabaseName(serverUrl, name);
  await ensureDatabaseExists(url);
  return { name, url, drop: () => dropDatabase(url) };
}
