import type { Database, SecretBox } from '@appserving/shared';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import { listClusters, registerCluster, removeCluster, type ClusterView as ClusterRow } from '../adapters/cluster.repository.ts';
import { requireAdmin } from '../auth/auth.plugin.ts';
import { visibleProjectIds } from '../auth/principal.ts';
import { ClusterList, ClusterView, ErrorBody, IdParams, RegisterClusterBody } from '../schemas/access.schemas.ts';

export interface ClustersRoutesDeps {
  db: Kysely<Database>;
  /** Encrypts kubeconfigs at rest. */
  box: SecretBox;
}

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody };

/** `GET /clusters`, `POST /clusters` (admin), `DELETE /clusters/{id}` (admin). No answer ever holds a kubeconfig. */
export async function clustersRoutes(app: FastifyInstance, deps: ClustersRoutesDeps): Promise<void> {
  const { db, box } = deps;

  app.get('/clusters', {
    schema: {
      tags: ['clusters'],
      summary: 'Clusters apps can target (an admin sees all; a scoped token those of its projects)',
      response: { 200: ClusterList, 401: ErrorBody },
    },
  }, async (request) => ({ clusters: (await listClusters(db, visibleProjectIds(request.principal))).map(clusterView) }));

  app.post<{ Body: RegisterClusterBody }>('/clusters', {
    preHandler: requireAdmin('register clusters'),
    schema: {
      tags: ['clusters'],
      summary: 'Register a target cluster with its kubeconfig (admin)',
      body: RegisterClusterBody,
      response: { 201: ClusterView, ...errors },
    },
  }, async (request, reply) => {
    const { name, kubeconfig, default: makeDefault, prometheus_url: prometheusUrl, placement } = request.body;
    const cluster = await registerCluster(db, box, { name, kubeconfig, makeDefault: makeDefault ?? false, ...(prometheusUrl ? { prometheusUrl } : {}), ...(placement ? { placement } : {}) });
    request.log.info({ clusterId: cluster.id, cluster: name, isDefault: cluster.is_default }, 'cluster registered');
    return reply.code(201).send(clusterView(cluster));
  });

  app.delete<{ Params: IdParams }>('/clusters/:id', {
    preHandler: requireAdmin('remove clusters'),
    schema: {
      tags: ['clusters'],
      summary: 'Remove a cluster that no app or project uses any more (admin)',
      params: IdParams,
      response: { ...errors },
    },
  }, async (request, reply) => {
    await removeCluster(db, request.params.id);
    request.log.info({ clusterId: request.params.id }, 'cluster removed');
    return reply.code(204).send();
  });
}

function clusterView(row: ClusterRow): ClusterView {
  return {
    id: row.id,
    name: row.name,
    api_server_url: row.api_server_url,
    is_default: row.is_default,
    prometheus_url: row.prometheus_url,
    placement: row.placement,
    created_at: row.created_at.toISOString(),
  };
}
