import { InputError, NotFoundError, type Database, type SecretBox } from '@appserving/shared';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import { startDelete } from '../adapters/app-delete.ts';
import { inspectRegistration, listClusters, registerCluster, removeCluster, type ClusterView as ClusterRow } from '../adapters/cluster.repository.ts';
import type { ClusterHealthMonitor } from '../adapters/cluster-health.ts';
import type { ClusterHealth, ClusterProbe } from '../adapters/cluster-probe.ts';
import type { OutboxEntry, OutboxRelay } from '../adapters/outbox.ts';
import { requireAdmin } from '../auth/auth.plugin.ts';
import { visibleProjectIds } from '../auth/principal.ts';
import { checkClusterAddresses, type ClusterAddressPolicy } from '../domain/cluster-addresses.ts';
import { ClusterList, ClusterView, ErrorBody, IdParams, RegisterClusterBody, RemoveClusterQuery, RemovedCluster, type ClusterHealthView } from '../schemas/access.schemas.ts';

export interface ClustersRoutesDeps {
  db: Kysely<Database>;
  /** Encrypts kubeconfigs at rest. */
  box: SecretBox;
  /** Where a registered cluster may make the platform connect (APPSERVING_CLUSTER_HOST_ALLOWLIST). */
  addresses: ClusterAddressPolicy;
  /** The test call made before a cluster is saved. */
  probe: ClusterProbe;
  health: ClusterHealthMonitor;
  /** For the delete commands of a forced removal. */
  outbox: OutboxRelay;
  source: string;
}

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody };

/** Refusal codes of a cluster whose test call failed, by what failed. */
const refusalCodes: Record<Exclude<ClusterHealth['status'], 'ok'>, string> = {
  unreachable: 'cluster_unreachable',
  unauthorized: 'cluster_unauthorized',
  forbidden: 'cluster_forbidden',
  error: 'cluster_check_failed',
};

/**
 * `GET /clusters`, `POST /clusters` (admin), `POST /clusters/{id}/check` (admin), `DELETE /clusters/{id}` (admin).
 * A cluster is proven before it is trusted: its addresses pass the rules of docs/auth.md and one authenticated test
 * call succeeds before it is saved (and so before it can become the default). No answer ever holds a kubeconfig.
 */
export async function clustersRoutes(app: FastifyInstance, deps: ClustersRoutesDeps): Promise<void> {
  const { db, box } = deps;

  app.get('/clusters', {
    schema: {
      tags: ['clusters'],
      summary: 'Clusters apps can target (an admin sees all; a scoped token those of its projects), with their health',
      response: { 200: ClusterList, 401: ErrorBody },
    },
  }, async (request) => ({ clusters: (await listClusters(db, visibleProjectIds(request.principal))).map((row) => clusterView(row, deps.health.get(row.id))) }));

  app.post<{ Body: RegisterClusterBody }>('/clusters', {
    preHandler: requireAdmin('register clusters'),
    schema: {
      tags: ['clusters'],
      summary: 'Register a target cluster with its kubeconfig (admin), once a test call to it succeeds',
      body: RegisterClusterBody,
      response: { 201: ClusterView, ...errors },
    },
  }, async (request, reply) => {
    const { name, kubeconfig, default: makeDefault, prometheus_url: prometheusUrl, placement, image_registries: imageRegistries } = request.body;
    const registration = {
      name,
      kubeconfig,
      makeDefault: makeDefault ?? false,
      ...(prometheusUrl ? { prometheusUrl } : {}),
      ...(placement ? { placement } : {}),
      ...(imageRegistries ? { imageRegistries } : {}),
    };
    const summary = inspectRegistration(registration);
    await checkClusterAddresses(summary, prometheusUrl, deps.addresses);
    const health = await deps.probe(kubeconfig);
    if (health.status !== 'ok') {
      request.log.warn({ cluster: name, status: health.status, reason: health.message }, 'cluster refused: its test call failed');
      throw new InputError(refusalCodes[health.status], `cluster ${name} was not registered: ${health.message}`, {
        details: { field: 'kubeconfig', status: health.status, ...(health.missing_permissions.length > 0 ? { missing_permissions: health.missing_permissions } : {}) },
      });
    }
    const cluster = await registerCluster(db, box, registration);
    deps.health.record(cluster.id, health);
    request.log.info({ clusterId: cluster.id, cluster: name, isDefault: cluster.is_default, version: health.version }, 'cluster registered');
    return reply.code(201).send(clusterView(cluster, health));
  });

  app.post<{ Params: IdParams }>('/clusters/:id/check', {
    preHandler: requireAdmin('check clusters'),
    schema: {
      tags: ['clusters'],
      summary: "Check a cluster's health now: its API server's version and the platform's permissions (admin)",
      params: IdParams,
      response: { 200: ClusterView, ...errors },
    },
  }, async (request) => {
    const row = (await listClusters(db, 'all')).find((c) => c.id === request.params.id);
    if (!row) throw new NotFoundError('cluster_not_found', `no cluster with id ${request.params.id}`);
    return clusterView(row, await deps.health.check(row.id));
  });

  app.delete<{ Params: IdParams; Querystring: RemoveClusterQuery }>('/clusters/:id', {
    preHandler: requireAdmin('remove clusters'),
    schema: {
      tags: ['clusters'],
      summary: 'Remove a cluster that no app or project uses any more; with force=true, delete its apps by force and its projects with it (admin)',
      params: IdParams,
      querystring: RemoveClusterQuery,
      response: { 200: RemovedCluster, ...errors },
    },
  }, async (request, reply) => {
    const force = request.query.force === 'true';
    const entries: OutboxEntry[] = [];
    const forgotten: { id: string; name: string; left_behind: { summary: string; cleanup: string[] } }[] = [];
    const apps = await removeCluster(
      db,
      request.params.id,
      force
        ? async (trx, live) => {
            for (const app of live) {
              const started = await startDelete(trx, app, { force: true, source: deps.source });
              entries.push(started.entry);
              if (started.leftBehind) forgotten.push({ id: app.id, name: app.name, left_behind: started.leftBehind });
            }
          }
        : undefined,
    );
    if (entries.length > 0) void deps.outbox.publishNow(entries);
    deps.health.forget(request.params.id);
    request.log.info({ clusterId: request.params.id, force, forgottenApps: apps.length }, 'cluster removed');
    if (!force) return reply.code(204).send();
    return reply.code(200).send({ forgotten_apps: forgotten });
  });
}

function clusterView(row: ClusterRow, health: ClusterHealth | undefined): ClusterView {
  return {
    id: row.id,
    name: row.name,
    api_server_url: row.api_server_url,
    is_default: row.is_default,
    prometheus_url: row.prometheus_url,
    placement: row.placement,
    image_registries: row.image_registries,
    health: healthView(health),
    created_at: row.created_at.toISOString(),
  };
}

function healthView(health: ClusterHealth | undefined): ClusterHealthView {
  return health ?? { status: 'unknown', message: 'not checked yet by this gateway', version: null, missing_permissions: [], checked_at: null };
}
