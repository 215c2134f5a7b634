import { CoreV1Api, PatchStrategy, setHeaderOptions, type V1Pod } from '@kubernetes/client-node';
import { buildPodName, kubePlacement, LABELS, MANAGED_SELECTOR, RetryableError } from '@appserving/shared';
import type { ClusterAccessProvider } from '@appserving/shared/kube';
import { buildFiles, buildSecret, kanikoPod, type KanikoBuildInput } from '../domain/kaniko-pod.ts';

/** Annotation a cancelled build Pod gets before it is deleted, so whoever waits on it can tell why it went. */
export const CANCELLED_ANNOTATION = 'appserving.dev/cancelled';

/**
 * Build Pods on a target cluster, through its kubeconfig from the cluster registry. Every call is idempotent:
 * creating an existing Pod adopts it, deleting a missing one is done.
 */
export class KanikoBuilds {
  readonly #clusters: ClusterAccessProvider;
  readonly #namespace: string;
  readonly #ensured = new Set<string>();

  constructor(deps: { clusters: ClusterAccessProvider; namespace: string }) {
    this.#clusters = deps.clusters;
    this.#namespace = deps.namespace;
  }

  get namespace(): string {
    return this.#namespace;
  }

  async #api(clusterId: string): Promise<CoreV1Api> {
    const access = await this.#clusters.get(clusterId);
    return access.kubeConfig.makeApiClient(CoreV1Api);
  }

  async ensureNamespace(clusterId: string): Promise<void> {
    if (this.#ensured.has(clusterId)) return;
    const api = await this.#api(clusterId);
    try {
      await api.readNamespace({ name: this.#namespace });
    } catch (error) {
      // Not allowed to read namespaces: the operator made the build namespace and gave the builder rights in it only.
      if (statusOf(error) === 403) {
        this.#ensured.add(clusterId);
        return;
      }
      if (statusOf(error) !== 404) throw kubeError(error, `reading namespace ${this.#namespace}`);
      await api
        .createNamespace({ body: { metadata: { name: this.#namespace, labels: { [LABELS.managedBy]: 'appserving' } } } })
        .catch((createError: unknown) => {
          if (statusOf(createError) !== 409) throw kubeError(createError, `creating namespace ${this.#namespace}`);
        });
    }
    this.#ensured.add(clusterId);
  }

  async find(clusterId: string, releaseId: string): Promise<V1Pod | undefined> {
    const api = await this.#api(clusterId);
    try {
      return await api.readNamespacedPod({ name: buildPodName(releaseId), namespace: this.#namespace });
    } catch (error) {
      if (statusOf(error) === 404) return undefined;
      throw kubeError(error, `reading build Pod ${buildPodName(releaseId)}`);
    }
  }

  /**
   * Creates the build: its ConfigMap and Secret first (so the Pod never waits on a missing volume), then the Pod,
   * or adopts the Pod a first delivery created; then the Pod is made the owner of the two, so Kubernetes deletes
   * them with it.
   */
  async create(clusterId: string, request: KanikoBuildInput): Promise<{ pod: V1Pod; adopted: boolean }> {
    await this.ensureNamespace(clusterId);
    const access = await this.#clusters.get(clusterId);
    const api = access.kubeConfig.makeApiClient(CoreV1Api);
    const input: KanikoBuildInput = { ...request, placement: kubePlacement(access.placement) };
    const name = buildPodName(input.ref.release_id);
    for (const create of [
      () => api.createNamespacedConfigMap({ namespace: this.#namespace, body: buildFiles(input) }),
      () => api.createNamespacedSecret({ namespace: this.#namespace, body: buildSecret(input) }),
    ]) {
      await create().catch((error: unknown) => {
        if (statusOf(error) === 409) return;
        // The namespace went away since it was ensured: ensure it again on the retry.
        if (statusOf(error) === 404) this.#ensured.delete(clusterId);
        throw kubeError(error, `creating the files of build ${name}`);
      });
    }
    let pod: V1Pod;
    let adopted = false;
    try {
      pod = await api.createNamespacedPod({ namespace: this.#namespace, body: kanikoPod(input) });
    } catch (error) {
      if (statusOf(error) !== 409) throw kubeError(error, `creating build Pod ${name}`);
      const existing = await this.find(clusterId, input.ref.release_id);
      if (!existing) throw new RetryableError('build_pod_conflict', `build Pod ${name} exists and vanished at once; retrying`);
      pod = existing;
      adopted = true;
    }
    await this.own(clusterId, pod);
    return { pod, adopted };
  }

  /** Makes the Pod the owner of its ConfigMap and Secret (again after a redelivery: a no-op when it is). */
  async own(clusterId: string, pod: V1Pod): Promise<void> {
    const api = await this.#api(clusterId);
    const name = pod.metadata?.name ?? '';
    const body = { metadata: { ownerReferences: [{ apiVersion: 'v1', kind: 'Pod', name, uid: pod.metadata?.uid ?? '', blockOwnerDeletion: false, controller: false }] } };
    const merge = setHeaderOptions('Content-Type', PatchStrategy.MergePatch);
    for (const patch of [
      () => api.patchNamespacedConfigMap({ name, namespace: this.#namespace, body }, merge),
      () => api.patchNamespacedSecret({ name, namespace: this.#namespace, body }, merge),
    ]) {
      await patch().catch((error: unknown) => {
        if (statusOf(error) !== 404) throw kubeError(error, `handing the files of build ${name} to its Pod`);
      });
    }
  }

  /** Marks the Pod with why it goes, then deletes it, its ConfigMap and its Secret. */
  async remove(clusterId: string, releaseId: string, reason?: string): Promise<void> {
    const api = await this.#api(clusterId);
    const name = buildPodName(releaseId);
    if (reason) {
      await api
        .patchNamespacedPod({ name, namespace: this.#namespace, body: [{ op: 'add', path: `/metadata/annotations/${CANCELLED_ANNOTATION.replace('/', '~1')}`, value: reason }] })
        .catch(() => {});
    }
    // The ConfigMap and Secret go with their owner; deleted here too, for a build whose Pod was never made.
    for (const remove of [
      () => api.deleteNamespacedPod({ name, namespace: this.#namespace, gracePeriodSeconds: 0 }),
      () => api.deleteNamespacedSecret({ name, namespace: this.#namespace }),
      () => api.deleteNamespacedConfigMap({ name, namespace: this.#namespace }),
    ]) {
      await remove().catch((error: unknown) => {
        if (statusOf(error) !== 404) throw kubeError(error, `deleting build ${name}`);
      });
    }
  }

  /** The last lines of a container's log; empty when there is no log to read (never throws). */
  async logTail(clusterId: string, releaseId: string, container: string, lines: number): Promise<string[]> {
    try {
      const api = await this.#api(clusterId);
      const text = await api.readNamespacedPodLog({ name: buildPodName(releaseId), namespace: this.#namespace, container, tailLines: lines });
      return String(text)
        .split('\n')
        .map((l) => l.slice(0, 2000))
        .filter((l, i, all) => l !== '' || i < all.length - 1)
        .slice(-lines);
    } catch {
      return [];
    }
  }

  /** Build Pods of one app (to cancel them). */
  async ofApp(clusterId: string, appId: string): Promise<V1Pod[]> {
    const api = await this.#api(clusterId);
    try {
      const list = await api.listNamespacedPod({ namespace: this.#namespace, labelSelector: `${MANAGED_SELECTOR},${LABELS.component}=build,${LABELS.appId}=${appId}` });
      return list.items;
    } catch (error) {
      if (statusOf(error) === 404) return [];
      throw kubeError(error, `listing build Pods of app ${appId}`);
    }
  }
}

export function statusOf(error: unknown): number | undefined {
  const code = (error as { code?: unknown }).code;
  return typeof code === 'number' ? code : undefined;
}

/** Kubernetes API trouble: retried, except a refusal that waiting will not change. */
function kubeError(error: unknown, doing: string): Error {
  const status = statusOf(error);
  const body = (error as { body?: unknown }).body;
  const detail = typeof body === 'string' ? body.slice(0, 300) : body && typeof body === 'object' && 'message' in body ? String((body).message) : (error as Error).message;
  return new RetryableError('kubernetes_api', `${doing} failed${status ? ` (HTTP ${status})` : ''}: ${detail}`, { cause: error, details: { status } });
}
