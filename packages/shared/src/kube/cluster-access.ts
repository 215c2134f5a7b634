import { KubeConfig } from '@kubernetes/client-node';
import type { Kysely } from 'kysely';
import { kubeconfigAad, type SecretBox } from '../crypto/index.ts';
import type { Database } from '../database/index.ts';
import { NotFoundError } from '../errors/index.ts';
import type { PodPlacement } from '../contracts/index.ts';

/** What a service needs to act on one target cluster. The kubeconfig is a secret: never log or return it. */
export interface ClusterAccess {
  readonly id: string;
  readonly name: string;
  /** The kubeconfig YAML as registered (e.g. for the helm CLI, written to a 0600 file). */
  readonly kubeconfig: string;
  /** Parsed, for `@kubernetes/client-node` API clients. */
  readonly kubeConfig: KubeConfig;
  /** Prometheus that canary analysis on this cluster asks; null when none is registered. */
  readonly prometheusUrl: string | null;
  /** Where the pods of apps and builds on this cluster run; null: anywhere. */
  readonly placement: PodPlacement | null;
}

export interface ClusterAccessProvider {
  /** The cluster's access; throws NotFoundError when it is not registered (or was removed). */
  get(clusterId: string): Promise<ClusterAccess>;
  /** Every live cluster. */
  list(): Promise<ClusterAccess[]>;
  /** Forget a cached entry (e.g. after an authentication failure, in case the kubeconfig was replaced). */
  invalidate(clusterId: string): void;
}

/**
 * Reads target clusters from the cluster registry (Postgres) and opens their kubeconfigs with the secret box.
 * Entries are cached for `cacheMs`, so a replaced kubeconfig is picked up within that time.
 */
export function createClusterAccessProvider(deps: { db: Kysely<Database>; box: SecretBox; cacheMs?: number; now?: () => number }): ClusterAccessProvider {
  const cacheMs = deps.cacheMs ?? 30_000;
  const now = deps.now ?? Date.now;
  const cache = new Map<string, { access: ClusterAccess; until: number }>();

  type Row = { id: string; name: string; kubeconfig_encrypted: Buffer; prometheus_url: string | null; placement: PodPlacement | null };
  function open(row: Row): ClusterAccess {
    const kubeconfig = deps.box.decryptText(row.kubeconfig_encrypted, kubeconfigAad(row.id));
    const kubeConfig = new KubeConfig();
    kubeConfig.loadFromString(kubeconfig);
    const access = { id: row.id, name: row.name, kubeconfig, kubeConfig, prometheusUrl: row.prometheus_url, placement: row.placement };
    cache.set(row.id, { access, until: now() + cacheMs });
    return access;
  }

  const columns = ['id', 'name', 'kubeconfig_encrypted', 'prometheus_url', 'placement'] as const;
  return {
    async get(clusterId) {
      const hit = cache.get(clusterId);
      if (hit && hit.until > now()) return hit.access;
      const row = await deps.db.selectFrom('clusters').select(columns).where('id', '=', clusterId).where('deleted_at', 'is', null).executeTakeFirst();
      if (!row) {
        cache.delete(clusterId);
        throw new NotFoundError('cluster_not_found', `cluster ${clusterId} is not registered (or was removed)`);
      }
      return open(row);
    },
    async list() {
      const rows = await deps.db.selectFrom('clusters').select(columns).where('deleted_at', 'is', null).orderBy('name').execute();
      return rows.map(open);
    },
    invalidate(clusterId) {
      cache.delete(clusterId);
    },
  };
}
