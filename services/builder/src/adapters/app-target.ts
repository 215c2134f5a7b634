import type { Kysely } from 'kysely';
import { appNamespace, type Database } from '@appserving/shared';

export interface AppTarget {
  /** Kubernetes namespace of the app: its project's, or `default`. Also a path component of its images. */
  readonly namespace: string;
  /** True once a delete of the app was accepted: a build of it must not start, or must stop. */
  readonly deleting: boolean;
}

/** What the builder reads about an app (it writes nothing to Postgres). Undefined when there is no such app. */
export async function readAppTarget(db: Kysely<Database>, appId: string): Promise<AppTarget | undefined> {
  const row = await db
    .selectFrom('apps')
    .leftJoin('projects', 'projects.id', 'apps.project_id')
    .select(['apps.status', 'apps.deleted_at', 'projects.namespace'])
    .where('apps.id', '=', appId)
    .executeTakeFirst();
  if (!row) return undefined;
  return { namespace: appNamespace(row.namespace), deleting: row.deleted_at !== null || row.status === 'deleting' || row.status === 'deleted' };
}
