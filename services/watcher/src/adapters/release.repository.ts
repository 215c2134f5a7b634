import { terminalStatuses, type Database, type ReleaseRefV1, type ReleaseSpecV1, type ReleaseStatus, type Strategy, type TaskType } from '@appserving/shared';
import type { AppStatus } from '@appserving/shared/database';
import { sql, type Kysely, type Transaction } from 'kysely';
import type { Diagnosis, ReleaseState } from '../reconcile/release-state.ts';

type Db = Kysely<Database> | Transaction<Database>;

/** A release with what the watcher needs to decide its status: its app, cluster, namespace and spec. */
export interface ReleaseRecord {
  id: string;
  appId: string;
  appName: string;
  clusterId: string;
  namespace: string;
  version: number;
  versionLabel: string;
  taskType: TaskType;
  strategy: Strategy;
  spec: ReleaseSpecV1;
  state: ReleaseState;
  /** Last write of the row (a status change, a weight, a revision): the start of its current deadline. */
  updatedAt: Date;
  createdAt: Date;
  /** Kind of the operation that created the release (`create`, `update`, `rollback`). */
  operationKind: string | null;
  app: { status: AppStatus; currentReleaseId: string | null; deleted: boolean };
}

export function releaseRef(record: Pick<ReleaseRecord, 'id' | 'appId' | 'appName' | 'clusterId' | 'version'>): ReleaseRefV1 {
  return { app_id: record.appId, app_name: record.appName, release_id: record.id, version: record.version, cluster_id: record.clusterId };
}

function baseQuery(db: Db) {
  return db
    .selectFrom('releases')
    .innerJoin('apps', 'apps.id', 'releases.app_id')
    .leftJoin('projects', 'projects.id', 'apps.project_id')
    .select([
      'releases.id',
      'releases.app_id',
      'apps.name as app_name',
      'apps.cluster_id',
      'projects.namespace as namespace',
      'releases.version',
      'releases.version_label',
      'releases.task_type',
      'releases.strategy',
      'releases.spec',
      'releases.status',
      'releases.status_reason',
      'releases.diagnosis',
      'releases.image_ref',
      'releases.image_digest',
      'releases.helm_revision',
      'releases.canary_weight',
      'releases.updated_at',
      'releases.created_at',
      'apps.status as app_status',
      'apps.current_release_id',
      'apps.deleted_at',
    ])
    .select((eb) =>
      eb
        .selectFrom('operations')
        .select('operations.kind')
        .whereRef('operations.release_id', '=', 'releases.id')
        .where('operations.kind', 'in', ['create', 'update', 'rollback'])
        .orderBy('operations.created_at')
        .limit(1)
        .as('operation_kind'),
    );
}

type Row = Awaited<ReturnType<ReturnType<typeof baseQuery>['executeTakeFirstOrThrow']>>;

function toRecord(row: Row): ReleaseRecord {
  return {
    id: row.id,
    appId: row.app_id,
    appName: row.app_name,
    clusterId: row.cluster_id,
    namespace: row.namespace ?? 'default',
    version: row.version,
    versionLabel: row.version_label,
    taskType: row.task_type,
    strategy: row.strategy,
    spec: row.spec as unknown as ReleaseSpecV1,
    state: {
      status: row.status,
      reason: row.status_reason,
      diagnosis: (row.diagnosis as unknown as Diagnosis | null) ?? null,
      imageRef: row.image_ref,
      imageDigest: row.image_digest,
      helmRevision: row.helm_revision,
      canaryWeight: row.canary_weight,
    },
    updatedAt: row.updated_at,
    createdAt: row.created_at,
    operationKind: row.operation_kind ?? null,
    app: { status: row.app_status, currentReleaseId: row.current_release_id, deleted: row.deleted_at !== null || row.app_status === 'deleted' },
  };
}

export async function loadRelease(db: Db, releaseId: string): Promise<ReleaseRecord | undefined> {
  const row = await baseQuery(db).where('releases.id', '=', releaseId).executeTakeFirst();
  return row ? toRecord(row) : undefined;
}

/** Locks the release row (and reads it fresh) for the rest of the transaction: one writer decides at a time. */
export async function lockRelease(trx: Transaction<Database>, releaseId: string): Promise<ReleaseRecord | undefined> {
  const row = await baseQuery(trx).where('releases.id', '=', releaseId).forUpdate('releases').executeTakeFirst();
  return row ? toRecord(row) : undefined;
}

const terminal = [...terminalStatuses] as ReleaseStatus[];

/** Releases the holder of a cluster follows: every one still running, and each app's live release. */
export async function releasesToFollow(db: Db, clusterId: string): Promise<ReleaseRecord[]> {
  const rows = await baseQuery(db)
    .where('apps.cluster_id', '=', clusterId)
    .where('apps.deleted_at', 'is', null)
    .where((eb) => eb.or([eb('releases.status', 'not in', terminal), eb('apps.current_release_id', '=', eb.ref('releases.id'))]))
    .execute();
  return rows.map(toRecord);
}

/** Running releases of an app (a delete cancels them). */
export async function runningReleasesOfApp(db: Db, appId: string): Promise<string[]> {
  const rows = await db.selectFrom('releases').select('id').where('app_id', '=', appId).where('status', 'not in', terminal).execute();
  return rows.map((r) => r.id);
}

/** Whether an abort was asked for the release (the command, or the deployer's `aborted` step), from the timeline. */
export async function abortRequested(db: Db, releaseId: string): Promise<boolean> {
  const row = await db
    .selectFrom('timeline')
    .select('id')
    .where('release_id', '=', releaseId)
    .where((eb) =>
      eb.or([
        eb('type', '=', 'dev.appserving.command.abort.v1'),
        eb.and([eb('type', '=', 'dev.appserving.deploy.step.v1'), eb(sql<string>`data->>'step'`, '=', 'aborted')]),
      ]),
    )
    .limit(1)
    .executeTakeFirst();
  return row !== undefined;
}

/** Writes the release's status fields; `finishedAt` undefined leaves the end time as it is (a superseded release). */
export async function updateRelease(trx: Transaction<Database>, releaseId: string, next: ReleaseState, finishedAt: Date | null | undefined): Promise<void> {
  await trx
    .updateTable('releases')
    .set({
      status: next.status,
      status_reason: next.reason,
      diagnosis: next.diagnosis ? JSON.stringify(next.diagnosis) : null,
      image_ref: next.imageRef,
      image_digest: next.imageDigest,
      helm_revision: next.helmRevision,
      canary_weight: next.canaryWeight,
      ...(finishedAt === undefined ? {} : { finished_at: finishedAt }),
    })
    .where('id', '=', releaseId)
    .execute();
}

/** The URL people reach the release at, as the deployer applied it (a redelivered `applied` writes the same). */
export async function recordEndpoint(db: Db, releaseId: string, endpoint: string): Promise<void> {
  await db.updateTable('releases').set({ endpoint }).where('id', '=', releaseId).execute();
}

/** The release's operation: running once work began, then succeeded or failed with the release. */
export async function updateOperation(trx: Transaction<Database>, releaseId: string, to: 'running' | 'succeeded' | 'failed'): Promise<void> {
  const from = to === 'running' ? ['pending' as const] : ['pending' as const, 'running' as const];
  await trx
    .updateTable('operations')
    .set({ status: to, finished_at: to === 'running' ? null : new Date() })
    .where('release_id', '=', releaseId)
    .where('kind', 'in', ['create', 'update', 'rollback'])
    .where('status', 'in', from)
    .execute();
}

export async function updateApp(trx: Transaction<Database>, appId: string, set: { status?: AppStatus; currentReleaseId?: string; deletedAt?: Date }): Promise<void> {
  if (set.status === undefined && set.currentReleaseId === undefined && set.deletedAt === undefined) return;
  await trx
    .updateTable('apps')
    .set({
      ...(set.status === undefined ? {} : { status: set.status }),
      ...(set.currentReleaseId === undefined ? {} : { current_release_id: set.currentReleaseId }),
      ...(set.deletedAt === undefined ? {} : { deleted_at: set.deletedAt }),
    })
    .where('id', '=', appId)
    .execute();
}

/** The app's live release, locked, when it is another one that succeeded (it is superseded by a newer success). */
export async function lockLiveRelease(trx: Transaction<Database>, currentReleaseId: string | null, newer: { id: string; version: number }): Promise<ReleaseRecord | undefined> {
  if (!currentReleaseId || currentReleaseId === newer.id) return undefined;
  const live = await lockRelease(trx, currentReleaseId);
  if (!live || live.state.status !== 'succeeded' || live.version > newer.version) return undefined;
  return live;
}

/** The delete operation ends when the deployer reports the app uninstalled. */
export async function finishDeleteOperation(trx: Transaction<Database>, appId: string, status: 'succeeded' | 'failed' = 'succeeded'): Promise<void> {
  await trx
    .updateTable('operations')
    .set({ status, finished_at: new Date() })
    .where('app_id', '=', appId)
    .where('kind', '=', 'delete')
    .where('status', 'in', ['pending', 'running'])
    .execute();
}
