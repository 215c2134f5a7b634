import { setTimeout as sleep } from 'node:timers/promises';
import { DeleteCommandV1, DeployStepV1, leftBehindOf, NotFoundError, on, RetryableError, type Database, type Handler, type HandlerContext, type Logger, type Publisher, type ReleaseRefV1 } from '@appserving/shared';
import type { ClusterAccess, ClusterAccessProvider } from '@appserving/shared/kube';
import type { KubeConfig } from '@kubernetes/client-node';
import type { Kysely } from 'kysely';
import type { AppLocks } from '../adapters/app-locks.ts';
import type { GateStore } from '../adapters/gate-store.ts';
import { openHelmWorkspace, type Helm } from '../adapters/helm.ts';
import type { AppObjects } from '../adapters/kube-objects.ts';
import { loadAppPlacement } from '../adapters/release-context.repository.ts';
import { deployStep } from '../domain/deploy-steps.ts';
import { failOnGiveUp } from './deploy.handler.ts';

export interface DeleteDeps {
  db: Kysely<Database>;
  clusters: ClusterAccessProvider;
  helm: Helm;
  locks: AppLocks;
  gates: GateStore;
  publisher: Publisher;
  objects: (kubeConfig: KubeConfig) => AppObjects;
  settings: { maxDeliveries: number };
  /** How long to wait for the app's objects to disappear before trying again later. */
  cleanupTimeoutMs?: number;
  /** The one attempt of a forced delete: after this long it stops and reports what may be left. */
  forcedCleanupMs?: number;
}

/** A forced delete tries once, for at most this long (the watcher has forgotten the app already). */
export const FORCED_CLEANUP_MS = 30_000;

/**
 * delete.v1: `helm uninstall`, then removal of whatever of the app is still on the cluster (objects Flagger made,
 * anything left by a broken release), then its gates; `deleted` once nothing labelled with the app id is left.
 * The namespace stays (other apps may live there); the platform's history of the app stays in Postgres. When it
 * gives up (the cluster kept failing), `delete-failed` ends the delete operation; the app can then be deleted
 * with `force`.
 *
 * With `force` the app is already forgotten on the platform (the watcher deletes it on the command itself): one
 * bounded attempt is made to clean the cluster, never retried, and `deleted` says what was removed or what may be
 * left behind.
 */
export function deleteHandler(deps: DeleteDeps): Handler {
  return on(DeleteCommandV1, async (event, ctx) => {
    const { release } = event.data;
    const log = ctx.log.child({ appId: release.app_id, force: event.data.force === true });
    if (event.data.force) {
      await forcedDelete(deps, release, ctx, log);
      return;
    }
    const giveUp = (reason: string) =>
      publishStep(deps, release, 'delete-failed', `${reason}; the app is still on its cluster: delete it again once the cluster answers, or with ?force=true to forget it on the platform`, event.id);
    await failOnGiveUp(
      deps,
      release,
      ctx,
      log,
      async () => {
        const placement = await loadAppPlacement(deps.db, release.app_id);
        const cluster = await clusterOf(deps, release);
        if (!cluster) {
          await deps.gates.removeApp(release.app_id);
          await publishStep(deps, release, 'deleted', 'the cluster is no longer registered; nothing could be removed from it');
          return;
        }
        const uninstalled = await deps.locks.run(release.app_id, log, (leaseLost) =>
          cleanUp(deps, cluster, release, placement.namespace, AbortSignal.any([ctx.signal, leaseLost]), () => ctx.working(), deps.cleanupTimeoutMs ?? 180_000, log),
        );
        const gates = await deps.gates.removeApp(release.app_id);
        log.info({ uninstalled, gates }, 'app deleted from its cluster');
        await publishStep(deps, release, 'deleted', uninstalled ? 'helm release uninstalled; every object of the app removed' : 'no helm release was installed; every object of the app removed');
      },
      giveUp,
    );
  });
}

async function forcedDelete(deps: DeleteDeps, release: ReleaseRefV1, ctx: HandlerContext, log: Logger): Promise<void> {
  const placement = await loadAppPlacement(deps.db, release.app_id);
  await deps.gates.removeApp(release.app_id).catch((error: unknown) => log.warn({ err: error }, 'could not remove the app\'s gates'));
  const cluster = await clusterOf(deps, release).catch((error: unknown) => {
    log.warn({ err: error }, 'forced delete: the cluster cannot be opened');
    return undefined;
  });
  if (!cluster) {
    await publishStep(deps, release, 'deleted', 'forced: the cluster is no longer registered (or cannot be opened); nothing could be removed from it');
    return;
  }
  const left = leftBehindOf({ id: release.app_id, name: release.app_name, namespace: placement.namespace, clusterName: cluster.name });
  const budget = deps.forcedCleanupMs ?? FORCED_CLEANUP_MS;
  const stop = AbortSignal.any([ctx.signal, AbortSignal.timeout(budget)]);
  let reason: string;
  try {
    // The lease may be queued behind another command of the app in this process: that wait is bounded too.
    const uninstalled = await untilAborted(
      deps.locks.run(release.app_id, log, (leaseLost) => cleanUp(deps, cluster, release, placement.namespace, AbortSignal.any([stop, leaseLost]), () => ctx.working(), budget, log)),
      stop,
    );
    reason = `forced: ${uninstalled ? 'helm release uninstalled' : 'no helm release was installed'}; every object of the app removed`;
  } catch (error) {
    if (ctx.signal.aborted) throw error;
    const why = stop.aborted ? `the cluster did not finish within ${Math.round(budget / 1000)} s` : error instanceof Error ? error.message : String(error);
    reason = `forced: the app is forgotten on the platform, but its cluster could not be cleaned (${why}); ${left.summary}; to remove it: ${left.cleanup.join('; ')}`;
    log.warn({ err: error }, 'forced delete: the cluster could not be cleaned; the app is forgotten anyway');
  }
  await publishStep(deps, release, 'deleted', reason);
}

function untilAborted<T>(work: Promise<T>, signal: AbortSignal): Promise<T> {
  return new Promise<T>((resolve, reject) => {
    const onAbort = () => reject(signal.reason instanceof Error ? signal.reason : new Error('stopped'));
    if (signal.aborted) return onAbort();
    signal.addEventListener('abort', onAbort, { once: true });
    work.then(resolve, reject).finally(() => signal.removeEventListener('abort', onAbort));
  });
}

/** The cluster's access, or undefined when it is no longer registered. */
async function clusterOf(deps: DeleteDeps, release: ReleaseRefV1): Promise<ClusterAccess | undefined> {
  return deps.clusters.get(release.cluster_id).catch((error: unknown) => {
    if (error instanceof NotFoundError) return undefined;
    throw error;
  });
}

/** `helm uninstall`, then every object still labelled with the app id, until none is left. True: helm had a release. */
async function cleanUp(
  deps: DeleteDeps,
  cluster: ClusterAccess,
  release: ReleaseRefV1,
  namespace: string,
  signal: AbortSignal,
  working: () => void,
  timeoutMs: number,
  log: Logger,
): Promise<boolean> {
  const workspace = await openHelmWorkspace(cluster.kubeconfig);
  try {
    log.info({ namespace }, 'helm uninstall started');
    const found = await deps.helm.uninstall({ release: release.app_name, namespace, workspace, signal }, Math.max(1, Math.min(120, Math.floor(timeoutMs / 1000))));
    const objects = deps.objects(cluster.kubeConfig);
    const app = { id: release.app_id };
    const asked = await objects.deleteRemaining(namespace, app);
    if (asked > 0) log.info({ objects: asked }, 'deleting what helm did not own (Flagger\'s objects, leftovers)');
    const deadline = Date.now() + timeoutMs;
    let lastReport = 0;
    for (;;) {
      const left = await objects.remaining(namespace, app);
      if (left.length === 0) break;
      if (Date.now() > deadline || signal.aborted) throw new RetryableError('cleanup_incomplete', `still on the cluster after uninstall: ${left.slice(0, 20).join(', ')}`);
      if (Date.now() - lastReport > 10_000) {
        log.info({ remaining: left.length, objects: left.slice(0, 10) }, 'waiting for the app\'s objects to be removed');
        lastReport = Date.now();
      }
      working();
      await objects.deleteRemaining(namespace, app);
      await sleep(1_000);
    }
    return found;
  } finally {
    await workspace.dispose();
  }
}

/**
 * One step about the app. `delete-failed` is about one delete command (its id is in the event id), so a later
 * delete that fails again is announced again; the others are about the app, once.
 */
async function publishStep(deps: Pick<DeleteDeps, 'publisher'>, release: ReleaseRefV1, step: 'deleted' | 'delete-failed', reason: string, commandId?: string): Promise<void> {
  const event = deployStep(release, step, { reason });
  await deps.publisher.publish(DeployStepV1, commandId ? { ...event, id: `${event.id}.${commandId}` } : event);
}
