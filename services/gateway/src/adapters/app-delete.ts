import { randomUUID } from 'node:crypto';
import { appNamespace, DeleteCommandV1, leftBehindOf, type Database } from '@appserving/shared';
import type { Transaction } from 'kysely';
import { releaseRef } from '../domain/commands.ts';
import { insertOperation, latestRelease } from './app.repository.ts';
import { enqueue, type OutboxEntry } from './outbox.ts';

export interface DeletingApp {
  id: string;
  name: string;
  cluster_id: string;
  cluster_name: string;
  project_id: string | null;
}

export interface StartedDelete {
  operation: { id: string; kind: string; status: string; command_id: string };
  entry: OutboxEntry;
  /** A forced delete: what may be left on the cluster, and how to remove it. */
  leftBehind?: { summary: string; cleanup: string[] };
}

/**
 * Starts the delete of an app whose row the caller holds locked: the operation in flight (a build, a rollout, a
 * delete that cannot reach the cluster) ends, the app shows `deleting`, and a delete command is enqueued. A forced
 * delete's command makes the watcher forget the app at once, whatever its cluster does (docs/deployer.md, "Delete").
 */
export async function startDelete(trx: Transaction<Database>, app: DeletingApp, options: { force: boolean; source: string }): Promise<StartedDelete> {
  const latest = await latestRelease(trx, app.id);
  const commandId = randomUUID();
  await trx.updateTable('operations').set({ status: 'failed', finished_at: new Date() }).where('app_id', '=', app.id).where('status', 'in', ['pending', 'running']).execute();
  const operation = await insertOperation(trx, { appId: app.id, releaseId: latest?.id ?? null, kind: 'delete', commandId });
  await trx.updateTable('apps').set({ status: 'deleting' }).where('id', '=', app.id).execute();
  const target = { id: app.id, name: app.name, clusterId: app.cluster_id };
  const ref = releaseRef(target, latest ?? { id: randomUUID(), version: 1 });
  const entry = await enqueue(trx, DeleteCommandV1, { id: commandId, appId: app.id, source: options.source, data: { release: ref, ...(options.force ? { force: true } : {}) } });
  if (!options.force) return { operation, entry };
  const project = app.project_id ? await trx.selectFrom('projects').select('namespace').where('id', '=', app.project_id).executeTakeFirst() : undefined;
  const leftBehind = leftBehindOf({ id: app.id, name: app.name, namespace: appNamespace(project?.namespace), clusterName: app.cluster_name });
  return { operation, entry, leftBehind };
}
