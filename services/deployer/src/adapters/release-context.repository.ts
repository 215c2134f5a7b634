import { appNamespace, NotFoundError, RetryableError, type AppType, type Database, type ReleaseRefV1 } from '@appserving/shared';
import type { Kysely } from 'kysely';

/** What the deployer reads about a release besides its command: where the app lives and its stored secrets. */
export interface ReleaseContext {
  appType: AppType;
  namespace: string;
  /** The app is being deleted or was deleted: its releases must not be installed any more. */
  appDeleted: boolean;
  versionLabel: string;
  secretsEncrypted: Buffer | null;
}

/**
 * Reads the app (its project's namespace) and the release row. A release the platform does not know yet comes
 * from another producer's command, which the watcher registers when it records the command: a RetryableError,
 * so the command comes back (and goes to the dead-letter stream with this reason if it never gets registered).
 */
export async function loadReleaseContext(db: Kysely<Database>, ref: ReleaseRefV1): Promise<ReleaseContext> {
  const app = await loadAppPlacement(db, ref.app_id).catch((error: unknown) => {
    if (error instanceof NotFoundError) throw notRegistered(ref);
    throw error;
  });
  const release = await db
    .selectFrom('releases')
    .select(['version_label', 'secrets_encrypted'])
    .where('id', '=', ref.release_id)
    .where('app_id', '=', ref.app_id)
    .executeTakeFirst();
  if (!release) throw notRegistered(ref);
  return { ...app, versionLabel: release.version_label, secretsEncrypted: release.secrets_encrypted };
}

function notRegistered(ref: ReleaseRefV1): RetryableError {
  return new RetryableError('release_not_registered', `release ${ref.release_id} (v${ref.version}) of app ${ref.app_name} (${ref.app_id}) is not registered yet; retrying`);
}

/** The app's type, namespace (its project's, else `default`) and whether it was deleted. */
export async function loadAppPlacement(db: Kysely<Database>, appId: string): Promise<Pick<ReleaseContext, 'appType' | 'namespace' | 'appDeleted'>> {
  const row = await db
    .selectFrom('apps')
    .leftJoin('projects', 'projects.id', 'apps.project_id')
    .select(['apps.app_type', 'apps.status', 'apps.deleted_at', 'projects.namespace'])
    .where('apps.id', '=', appId)
    .executeTakeFirst();
  if (!row) throw new NotFoundError('app_not_found', `app ${appId} does not exist`);
  return {
    appType: row.app_type,
    namespace: appNamespace(row.namespace),
    appDeleted: row.deleted_at !== null || row.status === 'deleting' || row.status === 'deleted',
  };
}
