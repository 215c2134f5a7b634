import type { Logger } from '@appserving/shared';
import pg from 'pg';

/**
 * Which watcher replica watches which cluster: a Postgres session-level advisory lock per cluster, held on one
 * dedicated connection. The lock lives exactly as long as the connection, so a replica that dies (or loses
 * Postgres) lets go of its clusters at once and another replica takes them at its next try; nothing has to
 * expire. A replica that loses the connection stops watching everything it held (`onLost`).
 */
export interface ClusterLeases {
  tryAcquire(clusterId: string): Promise<boolean>;
  release(clusterId: string): Promise<void>;
  held(): ReadonlySet<string>;
  close(): Promise<void>;
}

const lockKey = 'appserving-watcher-cluster:';

export function createClusterLeases(deps: { url: string; log: Logger; onLost: (clusterIds: string[]) => void; applicationName?: string }): ClusterLeases {
  let client: pg.Client | undefined;
  let connecting: Promise<pg.Client> | undefined;
  const held = new Set<string>();
  let closed = false;

  function lost(reason: unknown): void {
    const clusters = [...held];
    held.clear();
    client = undefined;
    connecting = undefined;
    if (clusters.length > 0) {
      deps.log.warn({ err: reason, clusters }, 'lease connection lost: stopped watching the clusters it held');
      deps.onLost(clusters);
    }
  }

  async function connection(): Promise<pg.Client> {
    if (client) return client;
    connecting ??= (async () => {
      const c = new pg.Client({ connectionString: deps.url, application_name: deps.applicationName ?? 'appserving-watcher-leases', connectionTimeoutMillis: 5_000 });
      c.on('error', (error) => {
        if (client === c) lost(error);
      });
      c.on('end', () => {
        if (client === c && !closed) lost(new Error('connection ended'));
      });
      try {
        await c.connect();
      } catch (error) {
        connecting = undefined;
        throw error;
      }
      client = c;
      return c;
    })();
    return connecting;
  }

  return {
    async tryAcquire(clusterId) {
      if (held.has(clusterId)) return true;
      const c = await connection();
      const result = await c.query<{ ok: boolean }>('select pg_try_advisory_lock(hashtextextended($1, 0)) as ok', [lockKey + clusterId]);
      if (result.rows[0]?.ok) held.add(clusterId);
      return held.has(clusterId);
    },
    async release(clusterId) {
      if (!held.delete(clusterId) || !client) return;
      await client.query('select pg_advisory_unlock(hashtextextended($1, 0))', [lockKey + clusterId]).catch((error: unknown) => deps.log.warn({ err: error, clusterId }, 'could not release a cluster lease'));
    },
    held: () => held,
    async close() {
      closed = true;
      held.clear();
      const c = client;
      client = undefined;
      await c?.end().catch(() => {});
    },
  };
}
