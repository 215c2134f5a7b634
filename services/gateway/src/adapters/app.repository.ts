import { ConflictError, InputError, isUniqueViolation, NotFoundError, CONSTRAINTS, type Database, type ReleaseSpecV1 } from '@appserving/shared';
import { sql, type Kysely, type Selectable, type Transaction } from 'kysely';
import type { IdempotencyClaim } from './idempotency.ts';
import type { OutboxEntry } from './outbox.ts';
import type { ReleasesTable } from '@appserving/shared';

type Db = Kysely<Database> | Transaction<Database>;

export interface ClusterRef {
  id: string;
  name: string;
}

/** A target cluster and what its apps may pull images from (null: any registry on a public address). */
export interface TargetCluster extends ClusterRef {
  image_registries: string[] | null;
}

/** The target cluster of a create: by id or name, or the default cluster when none is named. */
export async function resolveCluster(db: Db, target: string | undefined): Promise<TargetCluster> {
  let query = db.selectFrom('clusters').select(['id', 'name', 'image_registries']).where('deleted_at', 'is', null);
  if (target === undefined) {
    query = query.where('is_default', '=', true);
  } else if (/^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/i.test(target)) {
    query = query.where((eb) => eb.or([eb('id', '=', target), eb('name', '=', target)]));
  } else {
    query = query.where('name', '=', target);
  }
  const cluster = await query.executeTakeFirst();
  if (cluster) return cluster;
  if (target === undefined) {
    throw new InputError('no_default_cluster', 'no target_cluster_id given and no default cluster is registered: register one with POST /clusters', {
      details: { field: 'target_cluster_id' },
    });
  }
  throw new InputError('cluster_not_found', `target_cluster_id ${target} names no registered cluster (see GET /clusters)`, {
    details: { field: 'target_cluster_id' },
  });
}

export async function insertRelease(
  trx: Transaction<Database>,
  release: { id: string; appId: string; version: number; versionLabel: string; taskType: Selectable<ReleasesTable>['task_type']; spec: ReleaseSpecV1; secretsEncrypted: Buffer | null; imageRef: string | null },
): Promise<Selectable<ReleasesTable>> {
  try {
    return await trx
      .insertInto('releases')
      .values({
        id: release.id,
        app_id: release.appId,
        version: release.version,
        version_label: release.versionLabel,
        task_type: release.taskType,
        spec: JSON.stringify(release.spec),
        strategy: release.spec.strategy,
        image_ref: release.imageRef,
        secrets_encrypted: release.secretsEncrypted,
      })
      .returningAll()
      .executeTakeFirstOrThrow();
  } catch (error) {
    if (isUniqueViolation(error)) {
      throw new ConflictError('version_exists', `version ${release.versionLabel} already exists for this app; give a new version or leave it out to count up`, {
        details: { field: 'version' },
      });
    }
    throw error;
  }
}

/**
 * Starts an operation. At most one per app may be active: the caller holds the app's row lock, so the check
 * below is race-free; the partial unique index is the backstop.
 */
export async function insertOperation(
  trx: Transaction<Database>,
  operation: { appId: string; releaseId: string | null; kind: 'create' | 'update' | 'rollback' | 'promote' | 'abort' | 'delete'; commandId: string },
): Promise<{ id: string; kind: string; status: string; command_id: string }> {
  // An app created in this very transaction has no operation yet.
  const active = operation.kind === 'create' ? undefined : await trx
    .selectFrom('operations')
    .select(['id', 'kind', 'status', 'created_at'])
    .where('app_id', '=', operation.appId)
    .where('status', 'in', ['pending', 'running'])
    .executeTakeFirst();
  if (active) {
    throw new ConflictError(
      'operation_in_flight',
      `the app has a ${active.kind} operation in flight (${active.id}, ${active.status} since ${active.created_at.toISOString()}); wait for it to finish`,
      { details: { operation: { id: active.id, kind: active.kind, status: active.status } } },
    );
  }
  try {
    return await trx
      .insertInto('operations')
      .values({ app_id: operation.appId, release_id: operation.releaseId, kind: operation.kind, command_id: operation.commandId })
      .returning(['id', 'kind', 'status', 'command_id'])
      .executeTakeFirstOrThrow();
  } catch (error) {
    if (isUniqueViolation(error, CONSTRAINTS.oneActiveOperationPerApp)) {
      throw new ConflictError('operation_in_flight', 'the app has an operation in flight; wait for it to finish');
    }
    throw error;
  }
}

export async function nextVersion(trx: Transaction<Database>, appId: string): Promise<number> {
  const row = await trx.selectFrom('releases').select((eb) => eb.fn.max('version').as('max')).where('app_id', '=', appId).executeTakeFirst();
  return (row?.max ?? 0) + 1;
}

/** Locks the app row for the rest of the transaction, so two updates serialize. */
export async function lockApp(trx: Transaction<Database>, appId: string) {
  const app = await trx
    .selectFrom('apps')
    .innerJoin('clusters', 'clusters.id', 'apps.cluster_id')
    .select(['apps.id', 'apps.name', 'apps.cluster_id', 'apps.project_id', 'apps.app_type', 'apps.strategy', 'apps.deleted_at', 'clusters.name as cluster_name'])
    .where('apps.id', '=', appId)
    .forUpdate('apps')
    .executeTakeFirst();
  if (!app || app.deleted_at) throw appNotFound(appId);
  return app;
}

/** The cluster of a live app, with its image registries (read without a lock: an app never changes cluster). */
export async function clusterOfApp(db: Db, appId: string): Promise<(TargetCluster & { project_id: string | null }) | undefined> {
  return db
    .selectFrom('apps')
    .innerJoin('clusters', 'clusters.id', 'apps.cluster_id')
    .select(['clusters.id', 'clusters.name', 'clusters.image_registries', 'apps.project_id'])
    .where('apps.id', '=', appId)
    .where('apps.deleted_at', 'is', null)
    .executeTakeFirst();
}

export function appNotFound(appId: string): NotFoundError {
  return new NotFoundError('app_not_found', `no app with id ${appId}`);
}

export async function latestRelease(db: Db, appId: string): Promise<Selectable<ReleasesTable> | undefined> {
  return db.selectFrom('releases').selectAll().where('app_id', '=', appId).orderBy('version', 'desc').limit(1).executeTakeFirst();
}

export async function releaseByVersion(db: Db, appId: string, version: string): Promise<Selectable<ReleasesTable> | undefined> {
  // A version number is a Postgres integer; anything larger can only be a label.
  const asNumber = /^[0-9]{1,10}$/.test(version) && Number(version) <= 2_147_483_647 ? Number(version) : undefined;
  return db
    .selectFrom('releases')
    .selectAll()
    .where('app_id', '=', appId)
    .where((eb) => (asNumber === undefined ? eb('version_label', '=', version) : eb.or([eb('version', '=', asNumber), eb('version_label', '=', version)])))
    .orderBy('version', 'desc')
    .limit(1)
    .executeTakeFirst();
}

export interface NewAppRows {
  /** The Idempotency-Key record, written with the rest or not at all. */
  record?: { claim: IdempotencyClaim; status: number; body: unknown };
  app: { id: string; name: string; clusterId: string; projectId: string | null; appType: NonNullable<ReleaseSpecV1['app_type']>; strategy: ReleaseSpecV1['strategy'] };
  release: { id: string; versionLabel: string; taskType: Selectable<ReleasesTable>['task_type']; spec: ReleaseSpecV1; secretsEncrypted: Buffer | null; imageRef: string | null };
  operation: { id: string; commandId: string };
  command: OutboxEntry;
  createdAt: Date;
}

/** What became of one new app of a batch (see migration 0007, `appserving_create_apps`). */
export type NewAppOutcome = 'written' | 'key_answered' | 'target_gone' | 'name_taken';

/** One item of `appserving_create_apps`: every value of the rows of a new app, as JSON. */
function createItem(rows: NewAppRows): Record<string, unknown> {
  const { app, release, operation, command, createdAt, record } = rows;
  return {
    app_id: app.id,
    name: app.name,
    cluster_id: app.clusterId,
    project_id: app.projectId,
    app_type: app.appType,
    strategy: app.strategy,
    created_at: createdAt.toISOString(),
    release_id: release.id,
    version_label: release.versionLabel,
    task_type: release.taskType,
    spec: release.spec,
    image_ref: release.imageRef,
    secrets_encrypted: release.secretsEncrypted?.toString('base64') ?? null,
    operation_id: operation.id,
    command_id: operation.commandId,
    subject: command.subject,
    event: command.event,
    ...(record
      ? {
          record: {
            principal: record.claim.principal,
            key: record.claim.key,
            method: record.claim.method,
            path: record.claim.path,
            request_hash: record.claim.requestHash,
            status: record.status,
            response: record.body,
          },
        }
      : {}),
  };
}

/**
 * Creates new apps, each with its first release, its operation, its command in the outbox and its request's
 * idempotency record, all in ONE statement: one round trip and one commit however many there are (the
 * group commit of `POST /apps`, see new-app-batcher.ts). Each item is judged on its own and gets its outcome,
 * in order: nothing of an item is written unless its cluster (and project, if any) is live when the statement
 * runs, and, for a keyed request, unless its key is new (a concurrent request with the same key waits on the
 * record's primary key, then writes nothing); an item whose name is taken writes nothing.
 */
export async function insertNewApps(db: Kysely<Database>, rows: readonly NewAppRows[]): Promise<NewAppOutcome[]> {
  const items = JSON.stringify(rows.map(createItem));
  const result = await sql<{ outcome: NewAppOutcome }>`select outcome from appserving_create_apps(${items}::jsonb) order by ordinal`.execute(db);
  if (result.rows.length !== rows.length) throw new Error(`appserving_create_apps answered ${result.rows.length} outcomes for ${rows.length} apps`);
  return result.rows.map((row) => row.outcome);
}

/** An outcome as the create route reads it: written, or not and why; a taken name is the caller's 409. */
export function newAppResult(rows: Pick<NewAppRows, 'app'>, outcome: NewAppOutcome): { written: boolean; targetLive: boolean } {
  if (outcome === 'name_taken') {
    throw new ConflictError('app_name_taken', `an app named ${rows.app.name} already exists in this project; update it with PATCH /apps/{id}`, {
      details: { field: 'name' },
    });
  }
  return { written: outcome === 'written', targetLive: outcome !== 'target_gone' };
}
