import { setTimeout as sleep } from 'node:timers/promises';
import { KubernetesObjectApi, type KubeConfig, type KubernetesObject } from '@kubernetes/client-node';
import { LABELS } from '@appserving/shared';

/**
 * The kinds of object the platform creates for an app, directly (the chart) or through Flagger (primary
 * Deployment, Services, canary Ingress or HTTPRoute, copies of ConfigMaps and Secrets), plus what the workload
 * controllers create from them (ReplicaSets, Pods).
 */
const APP_KINDS: readonly [apiVersion: string, kind: string][] = [
  ['flagger.app/v1beta1', 'Canary'],
  ['flagger.app/v1beta1', 'MetricTemplate'],
  ['autoscaling/v2', 'HorizontalPodAutoscaler'],
  ['networking.k8s.io/v1', 'Ingress'],
  ['gateway.networking.k8s.io/v1', 'HTTPRoute'],
  ['apps/v1', 'Deployment'],
  ['apps/v1', 'ReplicaSet'],
  ['v1', 'Service'],
  ['v1', 'ConfigMap'],
  ['v1', 'Secret'],
  ['v1', 'PersistentVolumeClaim'],
  ['v1', 'Pod'],
];

export interface AppObjects {
  /**
   * `Kind/name` of every object of the app still in the namespace, by its app-id label (Flagger copies the
   * labels onto what it creates: primary Deployment, Services, ConfigMap and Secret copies).
   */
  remaining(namespace: string, app: { id: string }): Promise<string[]>;
  /** Deletes them (background propagation); returns how many were asked to go. */
  deleteRemaining(namespace: string, app: { id: string }): Promise<number>;
  /** Deletes the app's Flagger Canary if there is one, and waits until Flagger's Services and primary Deployment are gone. */
  removeCanary(namespace: string, appName: string, timeoutMs: number): Promise<boolean>;
}

export function createAppObjects(kubeConfig: KubeConfig): AppObjects {
  const api = KubernetesObjectApi.makeApiClient(kubeConfig);

  async function list(namespace: string, apiVersion: string, kind: string, labelSelector?: string): Promise<KubernetesObject[]> {
    try {
      const result = await api.list(apiVersion, kind, namespace, undefined, undefined, undefined, undefined, labelSelector);
      return result.items;
    } catch (error) {
      // A kind the cluster does not serve (e.g. no Gateway API CRDs) holds nothing of ours.
      if (isMissing(error) || /Unrecognized API version and kind/i.test(String(error))) return [];
      throw error;
    }
  }

  async function find(namespace: string, app: { id: string }) {
    const found: { apiVersion: string; kind: string; name: string; deleting: boolean }[] = [];
    for (const [apiVersion, kind] of APP_KINDS) {
      for (const o of await list(namespace, apiVersion, kind, `${LABELS.appId}=${app.id}`)) {
        found.push({ apiVersion, kind, name: o.metadata?.name ?? '', deleting: Boolean(o.metadata?.deletionTimestamp) });
      }
    }
    return found;
  }

  return {
    async remaining(namespace, app) {
      return (await find(namespace, app)).map((o) => `${o.kind}/${o.name}`);
    },
    async deleteRemaining(namespace, app) {
      const objects = (await find(namespace, app)).filter((o) => !o.deleting);
      for (const o of objects) {
        await api
          .delete({ apiVersion: o.apiVersion, kind: o.kind, metadata: { name: o.name, namespace } }, undefined, undefined, undefined, undefined, 'Background')
          .catch((error: unknown) => {
            if (!isMissing(error)) throw error;
          });
      }
      return objects.length;
    },
    async removeCanary(namespace, appName, timeoutMs) {
      const canary = { apiVersion: 'flagger.app/v1beta1', kind: 'Canary', metadata: { name: appName, namespace } };
      try {
        await api.delete(canary, undefined, undefined, undefined, undefined, 'Background');
      } catch (error) {
        if (isMissing(error) || /Unrecognized API version and kind/i.test(String(error))) return false;
        throw error;
      }
      const deadline = Date.now() + timeoutMs;
      for (;;) {
        const left = [];
        for (const [apiVersion, kind] of [['v1', 'Service'], ['apps/v1', 'Deployment']] as const) {
          left.push(...(await list(namespace, apiVersion, kind)).filter((o) => ownedByCanary(o, appName)).map((o) => `${kind}/${o.metadata?.name}`));
        }
        if (left.length === 0) return true;
        if (Date.now() > deadline) throw new Error(`Flagger's objects of the removed Canary ${appName} are still there: ${left.join(', ')}`);
        await sleep(500);
      }
    },
  };
}

function ownedByCanary(o: KubernetesObject, appName: string): boolean {
  return (o.metadata?.ownerReferences ?? []).some((r) => r.kind === 'Canary' && r.name === appName);
}

export function isMissing(error: unknown): boolean {
  return (error as { code?: number }).code === 404;
}
