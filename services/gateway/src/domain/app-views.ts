import { InputError, NotFoundError, type Database, type ReleaseSpecV1 } from '@appserving/shared';
import { sql, type Kysely, type Selectable } from 'kysely';
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
    endpoint: release.endpoint,
    spec: release.spec,
    created_at: release.created_at.toISOString(),
    finished_at: release.finished_at ? release.finished_at.toISOString() : null,
  };
}

function appRows(db: Kysely<Database>) {
  return db
    .selectFrom('apps')
    .innerJoin('clusters', 'clusters.id', 'apps.cluster_id')
    .leftJoin('projects', 'projects.id', 'apps.project_id')
    .leftJoin('releases as live', 'live.id', 'apps.current_release_id')
    .select([
      'apps.id',
      'apps.name',
      'apps.app_type',
      'apps.strategy',
      'apps.status',
      'apps.health_reason',
      'apps.created_at',
      'apps.project_id',
      'clusters.id as cluster_id',
      'clusters.name as cluster_name',
      'projects.namespace as namespace',
      'projects.name as project_name',
      'live.endpoint as live_endpoint',
    ])
    .where('apps.deleted_at', 'is', null);
}

type AppRow = Awaited<ReturnType<ReturnType<typeof appRows>['executeTakeFirstOrThrow']>>;
type OperationRow = { id: string; kind: string; status: string; command_id: string };

function toAppView(app: AppRow, release: Selectable<ReleasesTable> | undefined, operation: OperationRow | undefined): AppView {
  const spec = release?.spec as ReleaseSpecV1 | undefined;
  const deployed = release?.status === 'succeeded' || release?.status === 'progressing' || release?.status === 'waiting-promotion';
  const cluster = deployed && spec ? endpointOf(app.name, app.namespace ?? 'default', spec.port) : null;
  // The live release keeps answering at its URL while a newer one rolls out or after it failed.
  const reachable = (deployed ? release?.endpoint : null) ?? app.live_endpoint ?? null;
  return {
    id: app.id,
    name: app.name,
    cluster: { id: app.cluster_id, name: app.cluster_name },
    project: app.project_id && app.project_name ? { id: app.project_id, name: app.project_name } : null,
    app_type: app.app_type,
    strategy: app.strategy,
    status: app.status,
    health_reason: app.status === 'degraded' ? app.health_reason : null,
    current_release: release ? releaseView(release) : null,
    operation: operation ?? null,
    endpoint: reachable ?? cluster,
    endpoints: { public: reachable, cluster },
    created_at: app.created_at.toISOString(),
  };
}

/** The app as GET /apps/{id} shows it: its current (latest) release, its status and reason, the operation in flight. */
export async function loadAppView(db: Kysely<Database>, appId: string, visibleProjects?: readonly string[] | 'all'): Promise<AppView> {
  // One snapshot for the app, its release and operation: read apart, an app row from before a release ended could
  // be shown with the release after it (a release `aborted` on an app still `deploying`).
  return snapshot(db, (trx) => readAppView(trx, appId, visibleProjects));
}

/** Runs `read` in one repeatable-read transaction (or the caller's): every query sees the same committed state. */
function snapshot<T>(db: Kysely<Database>, read: (trx: Kysely<Database>) => Promise<T>): Promise<T> {
  return db.isTransaction ? read(db) : db.transaction().setIsolationLevel('repeatable read').execute(read);
}

async function readAppView(db: Kysely<Database>, appId: string, visibleProjects?: readonly string[] | 'all'): Promise<AppView> {
  const app = await appRows(db).where('apps.id', '=', appId).executeTakeFirst();
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
  return toAppView(app, release, operation);
}

export interface AppListFilter {
  visible: readonly string[] | 'all';
  name?: string | undefined;
  project?: string | undefined;
  limit: number;
  /** An app id from a previous page's `next`: the apps after it in the list's order. */
  after?: string | undefined;
}

/**
 * GET /apps: the newest `limit` apps the caller may see (visibility decided in SQL, so a scoped token sees its
 * own apps however many others exist), optionally by exact name or project name, in three queries whatever
 * their number. Pages follow each other by `after` (keyset on created_at and id: an app created or deleted
 * meanwhile neither repeats nor skips another); `next` is the page's last app while more follow.
 */
export async function listAppViews(db: Kysely<Database>, filter: AppListFilter): Promise<{ items: AppView[]; next: string | null }> {
  if (filter.visible !== 'all' && filter.visible.length === 0) return { items: [], next: null };
  return snapshot(db, (trx) => readAppViews(trx, filter));
}

async function readAppViews(db: Kysely<Database>, filter: AppListFilter): Promise<{ items: AppView[]; next: string | null }> {
  const visible = filter.visible;
  if (filter.after !== undefined) {
    const known = await db.selectFrom('apps').select(['id', 'project_id']).where('id', '=', filter.after).executeTakeFirst();
    if (!known || !isVisible(known.project_id, visible)) throw new InputError('cursor_invalid', `after: no app with id ${filter.after} (use the \`next\` of the previous page)`, { details: { field: 'after' } });
  }
  const rows = await appRows(db)
    .$if(visible !== 'all', (qb) => qb.where('apps.project_id', 'in', visible as readonly string[]))
    .$if(filter.name !== undefined, (qb) => qb.where('apps.name', '=', filter.name ?? ''))
    .$if(filter.project !== undefined, (qb) => qb.where('projects.name', '=', filter.project ?? ''))
    .$if(filter.after !== undefined, (qb) => qb.where(sql<boolean>`(apps.created_at, apps.id) < (select a.created_at, a.id from apps a where a.id = ${filter.after})`))
    .orderBy('apps.created_at', 'desc')
    .orderBy('apps.id', 'desc')
    .limit(filter.limit + 1)
    .execute();
  const apps = rows.slice(0, filter.limit);
  const next = rows.length > filter.limit ? (apps.at(-1)?.id ?? null) : null;
  if (apps.length === 0) return { items: [], next: null };
  const ids = apps.map((a) => a.id);
  const [releases, operations] = await Promise.all([
    db.selectFrom('releases').selectAll().distinctOn('app_id').where('app_id', 'in', ids).orderBy('app_id').orderBy('version', 'desc').execute(),
    db
      .selectFrom('operations')
      .select(['id', 'kind', 'status', 'command_id', 'app_id'])
      .distinctOn('app_id')
      .where('app_id', 'in', ids)
      .orderBy('app_id')
      .orderBy('created_at', 'desc')
      .execute(),
  ]);
  const releaseOf = new Map(releases.map((r) => [r.app_id, r]));
  const operationOf = new Map(operations.map(({ app_id: appId, ...op }) => [appId, op]));
  return { items: apps.map((app) => toAppView(app, releaseOf.get(app.id), operationOf.get(app.id))), next };
}

export function isVisible(projectId: string | null, visibleProjects: readonly string[] | 'all' | undefined): boolean {
  if (visibleProjects === undefined || visibleProjects === 'all') return true;
  return projectId !== null && visibleProjects.includes(projectId);
}
