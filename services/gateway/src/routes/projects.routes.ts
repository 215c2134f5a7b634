import type { Database } from '@appserving/shared';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import { createProject, listProjects, removeProject, type ProjectView as ProjectRow } from '../adapters/project.repository.ts';
import { requireAdmin } from '../auth/auth.plugin.ts';
import { visibleProjectIds } from '../auth/principal.ts';
import { CreateProjectBody, ErrorBody, IdParams, ProjectList, ProjectView } from '../schemas/access.schemas.ts';

export interface ProjectsRoutesDeps {
  db: Kysely<Database>;
}

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody };

/** `GET /projects` (the caller's), `POST /projects` and `DELETE /projects/{id}` (admin). */
export async function projectsRoutes(app: FastifyInstance, deps: ProjectsRoutesDeps): Promise<void> {
  const { db } = deps;

  app.get('/projects', {
    schema: { tags: ['projects'], summary: 'The projects this token reaches (an admin: all)', response: { 200: ProjectList, 401: ErrorBody } },
  }, async (request) => ({ projects: (await listProjects(db, visibleProjectIds(request.principal))).map(projectView) }));

  app.post<{ Body: CreateProjectBody }>('/projects', {
    preHandler: requireAdmin('create projects'),
    schema: {
      tags: ['projects'],
      summary: 'Create a project: a namespace on a cluster that tokens can be scoped to (admin)',
      body: CreateProjectBody,
      response: { 201: ProjectView, ...errors },
    },
  }, async (request, reply) => {
    const { name, cluster_id: clusterId, namespace } = request.body;
    const project = await createProject(db, { name, clusterId, namespace: namespace ?? name });
    request.log.info({ projectId: project.id, project: name, clusterId }, 'project created');
    return reply.code(201).send(projectView(project));
  });

  app.delete<{ Params: IdParams }>('/projects/:id', {
    preHandler: requireAdmin('delete projects'),
    schema: { tags: ['projects'], summary: 'Delete a project that has no apps (admin)', params: IdParams, response: { ...errors } },
  }, async (request, reply) => {
    await removeProject(db, request.params.id);
    request.log.info({ projectId: request.params.id }, 'project deleted');
    return reply.code(204).send();
  });
}

function projectView(row: ProjectRow): ProjectView {
  return { id: row.id, name: row.name, cluster_id: row.cluster_id, namespace: row.namespace, created_at: row.created_at.toISOString() };
}
