import { CONSTRAINTS, InputError, isUniqueViolation, type Database, type ReleaseRefV1, type ReleaseSpecV1, type TaskType } from '@appserving/shared';
import { sql, type Kysely } from 'kysely';

export interface CommandRelease {
  ref: ReleaseRefV1;
  spec: ReleaseSpecV1;
  taskType: TaskType;
  /** The image a deploy command names (the release's image until a build says otherwise). */
  image: string | null;
  /** The command's CloudEvent id: the operation's command id. */
  commandId: string;
}

/**
 * Registers the app and release of a build or deploy command that did not come through the gateway (another
 * producer publishing on NATS), so that it is followed and recorded like any other: the app (no project: only
 * admins see it; its namespace is `default`), the release with the command's spec, and its operation. A release
 * the platform already knows (every gateway command) is left as it is: one read. A command that contradicts
 * what is recorded (another app with that name on the cluster, another release with that version) is refused.
 */
export async function registerCommandRelease(db: Kysely<Database>, command: CommandRelease): Promise<'known' | 'registered'> {
  const { ref, spec } = command;
  const known = await db.selectFrom('releases').select('app_id').where('id', '=', ref.release_id).executeTakeFirst();
  if (known) {
    if (known.app_id !== ref.app_id) throw new InputError('release_of_another_app', `release ${ref.release_id} belongs to another app than ${ref.app_id}`);
    return 'known';
  }
  try {
    return await db.transaction().execute(async (trx) => {
      const cluster = await trx.selectFrom('clusters').select('id').where('id', '=', ref.cluster_id).where('deleted_at', 'is', null).executeTakeFirst();
      if (!cluster) throw new InputError('cluster_not_found', `the command targets cluster ${ref.cluster_id}, which is not registered (see GET /clusters)`);
      await trx
        .insertInto('apps')
        .values({ id: ref.app_id, name: ref.app_name, cluster_id: ref.cluster_id, project_id: null, app_type: spec.app_type ?? 'jar', strategy: spec.strategy })
        .onConflict((oc) => oc.column('id').doNothing())
        .execute();
      const app = await trx.selectFrom('apps').select(['name', 'cluster_id', 'deleted_at']).where('id', '=', ref.app_id).forUpdate().executeTakeFirstOrThrow();
      if (app.name !== ref.app_name || app.cluster_id !== ref.cluster_id) {
        throw new InputError('release_ref_mismatch', `app ${ref.app_id} is ${app.name} on cluster ${app.cluster_id}, not ${ref.app_name} on ${ref.cluster_id}`);
      }
      if (app.deleted_at) throw new InputError('app_deleted', `app ${ref.app_name} (${ref.app_id}) was deleted`);
      await trx
        .insertInto('releases')
        .values({
          id: ref.release_id,
          app_id: ref.app_id,
          version: ref.version,
          version_label: `v${ref.version}`,
          task_type: command.taskType,
          spec: JSON.stringify(spec),
          strategy: spec.strategy,
          image_ref: command.image,
        })
        .execute();
      // The operation, unless the app has one in flight (the gateway's one-at-a-time rule applies to its own
      // requests; another producer's command is recorded as it comes).
      await sql`
        insert into operations (app_id, release_id, kind, command_id)
        select ${ref.app_id}, ${ref.release_id}, ${ref.version === 1 ? 'create' : 'update'}, ${command.commandId}
        where not exists (select 1 from operations where app_id = ${ref.app_id} and status in ('pending', 'running'))
          and not exists (select 1 from operations where command_id = ${command.commandId})`.execute(trx);
      return 'registered' as const;
    });
  } catch (error) {
    if (isUniqueViolation(error, CONSTRAINTS.appNamePerCluster) || isUniqueViolation(error, CONSTRAINTS.appNamePerProject)) {
      throw new InputError('app_name_taken', `another app named ${ref.app_name} exists on cluster ${ref.cluster_id}`, { cause: error });
    }
    if (isUniqueViolation(error, CONSTRAINTS.releaseVersionPerApp)) {
      throw new InputError('version_taken', `app ${ref.app_name} already has a release ${ref.version}`, { cause: error });
    }
    // A concurrent registration of the same release (a redelivery racing the first): it is there now.
    if (isUniqueViolation(error) && (await db.selectFrom('releases').select('id').where('id', '=', ref.release_id).executeTakeFirst())) return 'known';
    throw error;
  }
}
