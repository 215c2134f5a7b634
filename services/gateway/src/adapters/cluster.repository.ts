import { randomUUID } from 'node:crypto';
import { readFile } from 'node:fs/promises';
import {
  CONSTRAINTS,
  ConfigError,
  kubeconfigAad,
  ConflictError,
  InputError,
  isUniqueViolation,
  NotFoundError,
  placementProblems,
  type Database,
  type PodPlacement,
  type SecretBox,
} from '@appserving/shared';
import type { AllowlistEntry, HostResolver } from '@appserving/shared/artifacts';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { DeletingApp } from './app-delete.ts';
import { checkClusterAddresses } from '../domain/cluster-addresses.ts';
import { inspectKubeconfig, type KubeconfigSummary } from '../domain/kubeconfig.ts';

/** What the API shows of a cluster: never its kubeconfig. */
export interface ClusterView {
  id: string;
  name: string;
  api_server_url: string;
  is_default: boolean;
  prometheus_url: string | null;
  placement: PodPlacement | null;
  image_registries: string[] | null;
  created_at: Date;
}

const viewColumns = ['id', 'name', 'api_server_url', 'is_default', 'prometheus_url', 'placement', 'image_registries', 'created_at'] as const;

export { kubeconfigAad };

export const LOCAL_CLUSTER_NAME = 'local';

/** Every live cluster, or (for a scoped token) those hosting one of `projectIds`. */
export async function listClusters(db: Kysely<Database>, visible: readonly string[] | 'all'): Promise<ClusterView[]> {
  if (visible !== 'all' && visible.length === 0) return [];
  let query = db.selectFrom('clusters').select(viewColumns).where('deleted_at', 'is', null);
  if (visible !== 'all') {
    query = query.where('id', 'in', db.selectFrom('projects').select('cluster_id').where('id', 'in', visible).where('deleted_at', 'is', null));
  }
  return query.orderBy('name').execute();
}

export interface ClusterRegistration {
  name: string;
  kubeconfig: string;
  makeDefault?: boolean;
  prometheusUrl?: string;
  placement?: PodPlacement;
  imageRegistries?: string[];
}

/**
 * Checks a registration before anything is stored (kubeconfig shape, placement): what a schema cannot. Returns what
 * the kubeconfig says about itself, for the address rules and the test call that come next.
 */
export function inspectRegistration(request: ClusterRegistration): KubeconfigSummary {
  const summary = inspectKubeconfig(request.kubeconfig);
  const problems = request.placement ? placementProblems(request.placement) : [];
  if (problems.length > 0) {
    throw new InputError('placement_invalid', `placement: ${problems.join('; ')}`, { details: { field: 'placement', problems } });
  }
  return summary;
}

/**
 * Registers a cluster with its kubeconfig, encrypted and bound to the new row's id. `makeDefault` moves the
 * default here; the first cluster becomes the default anyway. The caller has checked it (`inspectRegistration`,
 * the address rules and the test call).
 */
export async function registerCluster(db: Kysely<Database>, box: SecretBox, request: ClusterRegistration): Promise<ClusterView> {
  const { apiServerUrl } = inspectRegistration(request);
  const id = randomUUID();
  try {
    return await db.transaction().execute(async (trx) => {
      await lockClusterRegistry(trx);
      const currentDefault = await trx.selectFrom('clusters').select('id').where('is_default', '=', true).where('deleted_at', 'is', null).executeTakeFirst();
      const isDefault = request.makeDefault === true || currentDefault === undefined;
      if (isDefault && currentDefault) await trx.updateTable('clusters').set({ is_default: false }).where('id', '=', currentDefault.id).execute();
      return trx
        .insertInto('clusters')
        .values({
          id,
          name: request.name,
          api_server_url: apiServerUrl,
          kubeconfig_encrypted: box.encrypt(request.kubeconfig, kubeconfigAad(id)),
          is_default: isDefault,
          prometheus_url: request.prometheusUrl ?? null,
          placement: request.placement ? JSON.stringify(request.placement) : null,
          image_registries: request.imageRegistries && request.imageRegistries.length > 0 ? JSON.stringify(request.imageRegistries) : null,
        })
        .returning(viewColumns)
        .executeTakeFirstOrThrow();
    });
  } catch (error) {
    if (isUniqueViolation(error, CONSTRAINTS.clusterName)) {
      throw new ConflictError('cluster_name_taken', `a cluster named ${request.name} is already registered`, { details: { field: 'name' } });
    }
    throw error;
  }
}

/**
 * Removes a cluster: refused while apps or projects still use it. The row stays for the history of the apps
 * that ran there, but its credentials are erased: a removed cluster keeps no usable secret.
 *
 * `forceApps` (DELETE /clusters/{id}?force=true): the cluster's live apps are deleted by force first (each
 * forgotten by the watcher at once, with what may be left behind) and its projects, which name namespaces of this
 * cluster only, go with it. Returns the apps forgotten that way.
 */
export async function removeCluster(
  db: Kysely<Database>,
  clusterId: string,
  forceApps?: (trx: Transaction<Database>, apps: DeletingApp[]) => Promise<void>,
): Promise<DeletingApp[]> {
  return db.transaction().execute(async (trx) => {
    const cluster = await trx
      .selectFrom('clusters')
      .select(['id', 'name'])
      .where('id', '=', clusterId)
      .where('deleted_at', 'is', null)
      .forUpdate()
      .executeTakeFirst();
    if (!cluster) throw new NotFoundError('cluster_not_found', `no cluster with id ${clusterId}`);
    if (forceApps) {
      const live = await trx
        .selectFrom('apps')
        .select(['id', 'name', 'cluster_id', 'project_id'])
        .where('cluster_id', '=', clusterId)
        .where('deleted_at', 'is', null)
        .orderBy('id')
        .forUpdate()
        .execute();
      const forgotten = live.map((app) => ({ ...app, cluster_name: cluster.name }));
      await forceApps(trx, forgotten);
      await trx.updateTable('projects').set({ deleted_at: new Date() }).where('cluster_id', '=', clusterId).where('deleted_at', 'is', null).execute();
      await erase(trx, clusterId);
      return forgotten;
    }
    const apps = await countLive(trx, 'apps', clusterId);
    const projects = await countLive(trx, 'projects', clusterId);
    if (apps > 0 || projects > 0) {
      const uses = [apps > 0 ? plural(apps, 'app') : '', projects > 0 ? plural(projects, 'project') : ''].filter(Boolean).join(' and ');
      throw new ConflictError('cluster_in_use', `cluster ${cluster.name} still has ${uses}: delete them first, or remove the cluster with ?force=true`, { details: { apps, projects } });
    }
    await erase(trx, clusterId);
    return [];
  });
}

async function erase(trx: Transaction<Database>, clusterId: string): Promise<void> {
  await trx.updateTable('clusters').set({ deleted_at: new Date(), is_default: false, kubeconfig_encrypted: Buffer.alloc(0) }).where('id', '=', clusterId).execute();
}

/**
 * At start-up: registers (or refreshes) the `local` cluster from a kubeconfig file. Idempotent, and safe when
 * replicas start together. It becomes the default when no other cluster is; re-encrypting on every start also
 * moves its ciphertext to the current key after a rotation.
 */
export async function registerLocalCluster(
  db: Kysely<Database>,
  box: SecretBox,
  kubeconfigPath: string,
  settings: { prometheusUrl?: string | null; placement?: PodPlacement | null; allowlist?: readonly AllowlistEntry[]; resolve?: HostResolver } = {},
): Promise<{ id: string; created: boolean; apiServerUrl: string }> {
  const prometheusUrl = settings.prometheusUrl ?? null;
  const placement = settings.placement ? JSON.stringify(settings.placement) : null;
  const problems = settings.placement ? placementProblems(settings.placement) : [];
  if (problems.length > 0) throw new ConfigError(problems.map((p) => `APPSERVING_LOCAL_CLUSTER_PLACEMENT: ${p}`));
  // A bad file is a configuration error: the process stops with exit code 78, naming the variable.
  let kubeconfig: string;
  try {
    kubeconfig = await readFile(kubeconfigPath, 'utf8');
  } catch (error) {
    const reason = (error as { code?: string }).code ?? 'unreadable';
    throw new ConfigError([`APPSERVING_LOCAL_CLUSTER_KUBECONFIG: cannot read ${kubeconfigPath} (${reason})`]);
  }
  let apiServerUrl: string;
  try {
    const summary = inspectKubeconfig(kubeconfig);
    apiServerUrl = summary.apiServerUrl;
    // The address rules of every cluster, with the one explicit exception of this path: loopback is allowed (and an
    // API server on it may be plain http), since the operator named this file for a cluster on this machine.
    await checkClusterAddresses(summary, prometheusUrl ?? undefined, {
      allowlist: settings.allowlist ?? [],
      allowLoopback: true,
      ...(settings.resolve ? { resolve: settings.resolve } : {}),
    });
  } catch (error) {
    if (error instanceof InputError) {
      const variable = error.details?.field === 'prometheus_url' ? 'APPSERVING_LOCAL_CLUSTER_PROMETHEUS_URL' : `APPSERVING_LOCAL_CLUSTER_KUBECONFIG: ${kubeconfigPath}`;
      throw new ConfigError([`${variable}: ${error.message}`]);
    }
    throw error;
  }
  return db.transaction().execute(async (trx) => {
    await lockClusterRegistry(trx);
    const existing = await trx.selectFrom('clusters').select('id').where('name', '=', LOCAL_CLUSTER_NAME).where('deleted_at', 'is', null).executeTakeFirst();
    if (existing) {
      await trx
        .updateTable('clusters')
        .set({ api_server_url: apiServerUrl, kubeconfig_encrypted: box.encrypt(kubeconfig, kubeconfigAad(existing.id)), prometheus_url: prometheusUrl, placement })
        .where('id', '=', existing.id)
        .execute();
      return { id: existing.id, created: false, apiServerUrl };
    }
    const currentDefault = await trx.selectFrom('clusters').select('id').where('is_default', '=', true).where('deleted_at', 'is', null).executeTakeFirst();
    const id = randomUUID();
    await trx
      .insertInto('clusters')
      .values({
        id,
        name: LOCAL_CLUSTER_NAME,
        api_server_url: apiServerUrl,
        kubeconfig_encrypted: box.encrypt(kubeconfig, kubeconfigAad(id)),
        is_default: currentDefault === undefined,
        prometheus_url: prometheusUrl,
        placement,
      })
      .execute();
    return { id, created: true, apiServerUrl };
  });
}

/** Decrypts a live cluster's kubeconfig (for the processes that talk to the cluster). */
export async function loadKubeconfig(db: Kysely<Database>, box: SecretBox, clusterId: string): Promise<string> {
  const row = await db.selectFrom('clusters').select('kubeconfig_encrypted').where('id', '=', clusterId).where('deleted_at', 'is', null).executeTakeFirst();
  if (!row) throw new NotFoundError('cluster_not_found', `no cluster with id ${clusterId}`);
  return box.decryptText(row.kubeconfig_encrypted, kubeconfigAad(clusterId));
}

/** Serialises changes to the set of clusters (the default flag, the local upsert) across replicas. */
async function lockClusterRegistry(trx: Kysely<Database>): Promise<void> {
  await sql`select pg_advisory_xact_lock(hashtext('appserving:clusters'))`.execute(trx);
}

async function countLive(trx: Kysely<Database>, table: 'apps' | 'projects', clusterId: string): Promise<number> {
  const { count } = await trx
    .selectFrom(table)
    .select((eb) => eb.fn.countAll<string>().as('count'))
    .where('cluster_id', '=', clusterId)
    .where('deleted_at', 'is', null)
    .executeTakeFirstOrThrow();
  return Number(count);
}

function plural(count: number, noun: string): string {
  return `${count} ${noun}${count === 1 ? '' : 's'}`;
}
