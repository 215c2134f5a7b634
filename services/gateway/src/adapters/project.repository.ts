import { CONSTRAINTS, ConflictError, InputError, isUniqueViolation, NotFoundError, type Database } from '@appserving/shared';
import type { Kysely } from 'kysely';

export interface ProjectView {
  id: string;
  name: string;
  cluster_id: string;
  namespace: string;
  created_at: Date;
}

const viewColumns = ['id', 'name', 'cluster_id', 'namespace', 'created_at'] as const;

export async function createProject(db: Kysely<Database>, request: { name: string; clusterId: string; namespace: string }): Promise<ProjectView> {
  try {
    return await db.transaction().execute(async (trx) => {
      // Share-locks the cluster so it cannot be removed while its project is being created.
      const cluster = await trx.selectFrom('clusters').select('id').where('id', '=', request.clusterId).where('deleted_at', 'is', null).forShare().executeTakeFirst();
      if (!cluster) throw new InputError('cluster_not_found', `no cluster with id ${request.clusterId} (see GET /clusters)`, { details: { field: 'cluster_id' } });
      return trx
        .insertInto('projects')
        .values({ name: request.name, cluster_id: request.clusterId, namespace: request.namespace })
        .returning(viewColumns)
        .executeTakeFirstOrThrow();
    });
  } catch (error) {
    if (isUniqueViolation(error, CONSTRAINTS.projectName)) {
      throw new ConflictError('project_name_taken', `a project named ${request.name} already exists`, { details: { field: 'name' } });
    }
    if (isUniqueViolation(error, CONSTRAINTS.projectNamespacePerCluster)) {
      throw new ConflictError('namespace_taken', `namespace ${request.namespace} on this cluster already belongs to another project`, {
        details: { field: 'namespace' },
      });
    }
    throw error;
  }
}

export async function listProjects(db: Kysely<Database>, visible: readonly string[] | 'all'): Promise<ProjectView[]> {
  if (visible !== 'all' && visible.length === 0) return [];
  let query = db.selectFrom('projects').select(viewColumns).where('deleted_at', 'is', null);
  if (visible !== 'all') query = query.where('id', 'in', visible);
  return query.orderBy('name').execute();
}

/** Removes a project: refused while it has apps. Tokens scoped to it lose access to it. */
export async function removeProject(db: Kysely<Database>, projectId: string): Promise<void> {
  await db.transaction().execute(async (trx) => {
    const project = await trx.selectFrom('projects').select(['id', 'name']).where('id', '=', projectId).where('deleted_at', 'is', null).forUpdate().executeTakeFirst();
    if (!project) throw new NotFoundError('project_not_found', `no project with id ${projectId}`);
    const { count } = await trx
      .selectFrom('apps')
      .select((eb) => eb.fn.countAll<string>().as('count'))
      .where('project_id', '=', projectId)
      .where('deleted_at', 'is', null)
      .executeTakeFirstOrThrow();
    const apps = Number(count);
    if (apps > 0) {
      throw new ConflictError('project_in_use', `project ${project.name} still has ${apps} app${apps === 1 ? '' : 's'}: delete them first`, { details: { apps } });
    }
    await trx.updateTable('projects').set({ deleted_at: new Date() }).where('id', '=', projectId).execute();
  });
}

/**
 * The project a new app on `clusterId` goes to, for the apps routes (`AppsRoutesDeps.projectFor`).
 * - `requested` (a project name): that project, if the caller may use it and it is on that cluster. A project
 *   the caller may not see answers exactly like one that does not exist.
 * - nothing requested: the caller's only project on that cluster; an admin with no project named gets none
 *   (null: an unscoped app that only admins see).
 */
export async function projectForNewApp(
  principal: { projects: readonly string[] | 'all' },
  clusterId: string,
  requested: string | undefined,
  db: Kysely<Database>,
): Promise<{ id: string; name: string } | null> {
  const visible = principal.projects;
  if (requested !== undefined) {
    const project = await db
      .selectFrom('projects')
      .select(['id', 'name', 'cluster_id'])
      .where('name', '=', requested)
      .where('deleted_at', 'is', null)
      .forShare()
      .executeTakeFirst();
    if (!project || (visible !== 'all' && !visible.includes(project.id))) {
      throw new InputError('project_not_found', `no project named ${requested} (see GET /projects)`, { details: { field: 'project' } });
    }
    if (project.cluster_id !== clusterId) {
      throw new InputError('project_not_on_cluster', `project ${requested} is on another cluster than target_cluster_id`, { details: { field: 'project' } });
    }
    return { id: project.id, name: project.name };
  }
  if (visible === 'all') return null;
  if (visible.length === 0) throw new InputError('project_required', 'this token is scoped to no project', { details: { field: 'project' } });
  const candidates = await db
    .selectFrom('projects')
    .select(['id', 'name'])
    .where('id', 'in', visible)
    .where('cluster_id', '=', clusterId)
    .where('deleted_at', 'is', null)
    .orderBy('name')
    .execute();
  const only = candidates[0];
  if (candidates.length === 1 && only) return only;
  const message =
    candidates.length === 0
      ? 'none of this token\'s projects is on the target cluster: choose target_cluster_id (see GET /projects)'
      : `name the project: one of ${candidates.map((p) => p.name).join(', ')}`;
  throw new InputError('project_required', message, { details: { field: 'project' } });
}
