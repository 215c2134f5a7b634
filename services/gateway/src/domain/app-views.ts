import { NotFoundError, type Database, type ReleaseSpecV1 } from '@appserving/shared';
import type { Kysely, Selectable } from 'kysely';
import type { ReleasesTable } from '@appserving/shared';
import type { AppView, ReleaseView } from '../schemas/app.schemas.ts';
import { endpointOf } from './release-spec.ts';

export function releaseView(release: Selectable<ReleasesTable>): ReleaseView {
  return {
    id: release.id,
    version: release.version,
    version_label: release.version_label,
    task_type: release.task_type,
    strategy: release.strategy,
    status: release.status,
    status_reason: release.status_reason,
    diagnosis: release.diagnosis ?? null,
    image: release.image_ref ? (release.image_digest ? `${release.image_ref.split('@')[0] ?? release.image_ref}@${release.image_digest}` : release.image_ref) : null,
    spec: release.spec,
    created_at: release.created_at.toISOString(),
    finished_at: release.finished_at ? release.finished_at.toISOString() : null,
  };
}

/** The app as GET /apps/{id} shows it: its current (latest) release, its status and reason, the operation in flight. */
export async function loadAppView(db: Kysely<Database>, appId: string, visibleProjects?: readonly string[] | 'all'): Promise<AppView> {
  const app = await db
    .selectFrom('apps')
    .innerJoin('clusters', 'clusters.id', 'apps.cluster_id')
    .leftJoin('projects', 'projects.id', 'apps.project_id')
    .select([
      'apps.id',
      'apps.name',
      'apps.app_type',
      'apps.strategy',
      'apps.status',
      'apps.created_at',
      'apps.project_id',
      'clusters.id as cluster_id',
      'clusters.name as cluster_name',
      'projects.namespace as namespace',
    ])
    .where('apps.id', '=', appId)
    .where('apps.deleted_at', 'is', null)
    .executeTakeFirst();
  if (!app || !isVisible(app.project_id, visibleProjects)) throw new NotFoundError('app_not_found', `no app with id ${appId}`);
  const [release, operation] = await Promise.all([
    db.selectFrom('releases').selectAll().where('app_id', '=', appId).orderBy('version', 'desc').limit(1).executeTakeFirst(),
    db
      .selectFrom('operations')
      .select(['id', 'kind', 'status', 'command_id'])
      .where('app_id', '=', appId)
      .orderBy('created_at', 'desc')
      .limit(1)
      .executeTakeFirst(),
  ]);
  const spec = release?.spec as ReleaseSpecV1 | undefined;
  const deployed = release?.status === 'succeeded' || release?.status === 'progressing' || release?.status === 'waiting-promotion';
  return {
    id: app.id,
    name: app.name,
    cluster: { id: app.cluster_id, name: app.cluster_name },
    app_type: app.app_type,
    strategy: app.strategy,
    status: app.status,
    current_release: release ? releaseView(release) : null,
    operation: operation ?? null,
    endpoint: deployed && spec ? endpointOf(app.name, app.namespace ?? 'default', spec.port) : null,
    created_at: app.created_at.toISOString(),
  };
}

export function isVisible(projectId: string | null, visibleProjects: readonly string[] | 'all' | undefined): boolean {
  if (visibleProjects === undefined || visibleProjects === 'all') return true;
  return projectId !== null && visibleProjects.includes(projectId);
}
