import { MANAGED_SELECTOR, type Logger } from '@appserving/shared';
import {
  AppsV1Api,
  CoreV1Api,
  CustomObjectsApi,
  type CoreV1Event,
  type KubeConfig,
  type KubernetesListObject,
  type V1Deployment,
  type V1Pod,
  type V1ReplicaSet,
} from '@kubernetes/client-node';
import type { FlaggerCanary } from '../reconcile/rollout.ts';
import { createKindInformer, type InformerVerb, type KindInformer } from './kube-informer.ts';

export interface MetricTemplate {
  metadata?: { name?: string; namespace?: string };
  spec?: { provider?: { type?: string; address?: string }; query?: string };
}

/** The informers of one cluster, on the platform's label (events: warnings only, they carry no labels). */
export interface ClusterInformers {
  deployments: KindInformer<V1Deployment>;
  replicaSets: KindInformer<V1ReplicaSet>;
  pods: KindInformer<V1Pod>;
  events: KindInformer<CoreV1Event>;
  canaries: KindInformer<FlaggerCanary>;
  all(): KindInformer<never>[];
}

export type ClusterChange =
  | { kind: 'Deployment'; verb: InformerVerb; obj: V1Deployment }
  | { kind: 'ReplicaSet'; verb: InformerVerb; obj: V1ReplicaSet }
  | { kind: 'Pod'; verb: InformerVerb; obj: V1Pod }
  | { kind: 'Event'; verb: InformerVerb; obj: CoreV1Event }
  | { kind: 'Canary'; verb: InformerVerb; obj: FlaggerCanary };

export function createClusterInformers(deps: {
  kc: KubeConfig;
  log: Logger;
  onChange: (change: ClusterChange) => void;
  onList: (kind: string) => void;
  onError: (kind: string, error: unknown) => void;
}): ClusterInformers {
  const apps = deps.kc.makeApiClient(AppsV1Api);
  const core = deps.kc.makeApiClient(CoreV1Api);
  const custom = deps.kc.makeApiClient(CustomObjectsApi);
  const common = (kind: string) => ({ kc: deps.kc, kind, log: deps.log, onList: () => deps.onList(kind), onError: (error: unknown) => deps.onError(kind, error) });

  const deployments = createKindInformer<V1Deployment>({
    ...common('Deployment'),
    path: '/apis/apps/v1/deployments',
    labelSelector: MANAGED_SELECTOR,
    list: () => apps.listDeploymentForAllNamespaces({ labelSelector: MANAGED_SELECTOR }),
    onChange: (verb, obj) => deps.onChange({ kind: 'Deployment', verb, obj }),
  });
  const replicaSets = createKindInformer<V1ReplicaSet>({
    ...common('ReplicaSet'),
    path: '/apis/apps/v1/replicasets',
    labelSelector: MANAGED_SELECTOR,
    list: () => apps.listReplicaSetForAllNamespaces({ labelSelector: MANAGED_SELECTOR }),
    onChange: (verb, obj) => deps.onChange({ kind: 'ReplicaSet', verb, obj }),
  });
  const pods = createKindInformer<V1Pod>({
    ...common('Pod'),
    path: '/api/v1/pods',
    labelSelector: MANAGED_SELECTOR,
    list: () => core.listPodForAllNamespaces({ labelSelector: MANAGED_SELECTOR }),
    onChange: (verb, obj) => deps.onChange({ kind: 'Pod', verb, obj }),
  });
  const events = createKindInformer<CoreV1Event>({
    ...common('Event'),
    path: '/api/v1/events',
    fieldSelector: 'type=Warning',
    list: () => core.listEventForAllNamespaces({ fieldSelector: 'type=Warning' }),
    onChange: (verb, obj) => deps.onChange({ kind: 'Event', verb, obj }),
  });
  const canaries = createKindInformer<FlaggerCanary>({
    ...common('Canary'),
    path: '/apis/flagger.app/v1beta1/canaries',
    labelSelector: MANAGED_SELECTOR,
    list: () => custom.listClusterCustomObject({ group: 'flagger.app', version: 'v1beta1', plural: 'canaries', labelSelector: MANAGED_SELECTOR }) as Promise<KubernetesListObject<FlaggerCanary>>,
    onChange: (verb, obj) => deps.onChange({ kind: 'Canary', verb, obj }),
  });
  return {
    deployments,
    replicaSets,
    pods,
    events,
    canaries,
    all: () => [deployments, replicaSets, pods, events, canaries] as unknown as KindInformer<never>[],
  };
}

/** Reads the cluster answers on demand (not worth an informer): pod logs and MetricTemplates. */
export interface ClusterReader {
  podLogs(namespace: string, pod: string, options: { container?: string; previous?: boolean; tailLines: number }): Promise<string[]>;
  listPods(namespace: string, labelSelector: string): Promise<V1Pod[]>;
  metricTemplate(namespace: string, name: string): Promise<MetricTemplate>;
}

/** A read that does not answer within `ms` fails instead of holding up a reconcile or a logs request. */
export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no answer within ${ms} ms`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

export function createClusterReader(kc: KubeConfig, timeoutMs = 10_000): ClusterReader {
  const core = kc.makeApiClient(CoreV1Api);
  const custom = kc.makeApiClient(CustomObjectsApi);
  return {
    async podLogs(namespace, pod, options) {
      const text = await withTimeout(core.readNamespacedPodLog({
        name: pod,
        namespace,
        tailLines: options.tailLines,
        ...(options.container ? { container: options.container } : {}),
        ...(options.previous ? { previous: true } : {}),
      }), timeoutMs, `logs of pod ${namespace}/${pod}`);
      const lines = text.split('\n');
      if (lines.at(-1) === '') lines.pop();
      return lines;
    },
    async listPods(namespace, labelSelector) {
      return (await withTimeout(core.listNamespacedPod({ namespace, labelSelector }), timeoutMs, `pods of ${namespace}`)).items;
    },
    async metricTemplate(namespace, name) {
      return (await withTimeout(
        custom.getNamespacedCustomObject({ group: 'flagger.app', version: 'v1beta1', namespace, plural: 'metrictemplates', name }),
        timeoutMs,
        `MetricTemplate ${namespace}/${name}`,
      )) as MetricTemplate;
    },
  };
}
