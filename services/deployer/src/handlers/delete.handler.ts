import { setTimeout as sleep } from 'node:timers/promises';
import { DeleteCommandV1, DeployStepV1, NotFoundError, on, RetryableError, type Database, type Handler, type Publisher } from '@appserving/shared';
import type { ClusterAccessProvider } from '@appserving/shared/kube';
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
}

/**
 * delete.v1: `helm uninstall`, then removal of whatever of the app is still on the cluster (objects Flagger made,
 * anything left by a broken release), then its gates; `deleted` once nothing labelled with the app id is left.
 * The namespace stays (other apps may live there); the platform's history of the app stays in Postgres.
 */
export function deleteHandler(deps: DeleteDeps): Handler {
  return on(DeleteCommandV1, async (event, ctx) => {
    const { release } = event.data;
    const log = ctx.log.child({ appId: release.app_id });
    await failOnGiveUp(deps, release, ctx, log, async () => {
      const placement = await loadAppPlacement(deps.db, release.app_id);
      const cluster = await deps.clusters.get(release.cluster_id).catch((error: unknown) => {
        if (error instanceof NotFoundError) return undefined;
        throw error;
      });
      if (!cluster) {
        await deps.gates.removeApp(release.app_id);
        await deps.publisher.publish(DeployStepV1, deployStep(release, 'deleted', { reason: 'the cluster is no longer registered; nothing could be removed from it' }));
        return;
      }
      const uninstalled = await deps.locks.run(release.app_id, log, async (leaseLost) => {
        const workspace = await openHelmWorkspace(cluster.kubeconfig);
        try {
          log.info({ namespace: placement.namespace }, 'helm uninstall started');
          const found = await deps.helm.uninstall({ release: release.app_name, namespace: placement.namespace, workspace, signal: AbortSignal.any([ctx.signal, leaseLost]) }, 120);
          const objects = deps.objects(cluster.kubeConfig);
          const app = { id: release.app_id };
          const asked = await objects.deleteRemaining(placement.namespace, app);
          if (asked > 0) log.info({ objects: asked }, 'deleting what helm did not own (Flagger\'s objects, leftovers)');
          const deadline = Date.now() + (deps.cleanupTimeoutMs ?? 180_000);
          let lastReport = 0;
          for (;;) {
            const left = await objects.remaining(placement.namespace, app);
            if (left.length === 0) break;
            if (Date.now() > deadline) throw new RetryableError('cleanup_incomplete', `still on the cluster after uninstall: ${left.slice(0, 20).join(', ')}`);
            if (Date.now() - lastReport > 10_000) {
              log.info({ remaining: left.length, objects: left.slice(0, 10) }, 'waiting for the app\'s objects to be removed');
              lastReport = Date.now();
            }
            ctx.working();
            await objects.deleteRemaining(placement.namespace, app);
            await sleep(1_000);
          }
          return found;
        } finally {
          await workspace.dispose();
        }
      });
      const gates = await deps.gates.removeApp(release.app_id);
      log.info({ uninstalled, gates }, 'app deleted from its cluster');
      await deps.publisher.publish(
        DeployStepV1,
        deployStep(release, 'deleted', { reason: uninstalled ? 'helm release uninstalled; every object of the app removed' : 'no helm release was installed; every object of the app removed' }),
      );
    });
  });
}
