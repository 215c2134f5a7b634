import { Kysely, PostgresDialect, sql } from 'kysely';
import pg from 'pg';
import type { Database } from './schema.ts';

export interface DatabaseOptions {
  /** `postgres://user[:password]@host:port/database` */
  url: string;
  /** Most connections the pool opens (default 10). */
  poolMax?: number;
  /** Shown in `pg_stat_activity.application_name`, e.g. the service name. */
  applicationName?: string;
  /** How long to wait for a new connection before failing (default 5000 ms), so /readyz answers promptly. */
  connectionTimeoutMillis?: number;
  /** How long an unused connection stays open (default 30000 ms). */
  idleTimeoutMillis?: number;
  /**
   * Receives connection errors that no query is waiting for: an idle pooled connection whose backend went
   * away (restart, failover, `pg_terminate_backend`), or a checked-out one between two queries. The broken
   * connection is already discarded; the pool opens a new one on demand. Log it; do not rethrow.
   */
  onPoolError: (error: Error) => void;
}

export interface DatabaseHandle {
  db: Kysely<Database>;
  pool: pg.Pool;
  /** Ends every connection. Safe to call more than once. */
  close(): Promise<void>;
}

export function createDatabase(options: DatabaseOptions): DatabaseHandle {
  const pool = new pg.Pool({
    connectionString: options.url,
    max: options.poolMax ?? 10,
    connectionTimeoutMillis: options.connectionTimeoutMillis ?? 5_000,
    idleTimeoutMillis: options.idleTimeoutMillis ?? 30_000,
    ...(options.applicationName === undefined ? {} : { application_name: options.applicationName }),
  });

  // Without a listener an 'error' event throws and takes the process down. pg-pool listens on idle
  // clients itself and re-emits on the pool; a checked-out client has no listener while it is lent out,
  // so one that loses its backend between two queries (e.g. inside a transaction) would crash the process.
  // The per-client listener covers that window and stays quiet while the pool's own listener is in place.
  // Like pg-pool's, it reports a client's first error only: a lost backend is followed by
  // "Connection terminated unexpectedly" for the same connection.
  const lentOut = new WeakSet<pg.PoolClient>();
  pool.on('error', (error) => options.onPoolError(error));
  pool.on('acquire', (client) => lentOut.add(client));
  pool.on('release', (_error, client) => lentOut.delete(client));
  pool.on('connect', (client) => {
    let reported = false;
    client.on('error', (error) => {
      if (reported || !lentOut.has(client)) return;
      reported = true;
      options.onPoolError(error);
    });
  });

  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });

  let closing: Promise<void> | undefined;
  return {
    db,
    pool,
    close() {
      // Kysely's destroy ends the pool.
      closing ??= db.destroy();
      return closing;
    },
  };
}

/** Readiness probe for /readyz: resolves when the database answers, rejects otherwise. */
export async function checkDatabase(db: Kysely<any>): Promise<void> {
  await sql`select 1`.execute(db);
}
