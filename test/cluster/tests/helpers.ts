import { randomBytes } from 'node:crypto';
import { AppsV1Api, CoreV1Api, KubeConfig, KubernetesObjectApi, PatchStrategy } from '@kubernetes/client-node';
import type { KubernetesObject, V1Deployment, V1Pod } from '@kubernetes/client-node';
import { inject } from 'vitest';
import type { ClusterInfo } from '../src/index.ts';
export { eventually } from '../src/eventually.ts';

export interface Kube {
  readonly cluster: ClusterInfo;
  readonly kc: KubeConfig;
  readonly core: CoreV1Api;
  readonly apps: AppsV1Api;
  readonly objects: KubernetesObjectApi;
  /** Server-side apply (create or update) of any object. */
  apply<T extends KubernetesObject>(obj: T): Promise<T>;
}

export function kube(): Kube {
  const cluster = inject('appservingCluster');
  const kc = new KubeConfig();
  kc.loadFromFile(cluster.kubeconfigPath);
  const objects = KubernetesObjectApi.makeApiClient(kc);
  return {
    cluster,
    kc,
    core: kc.makeApiClient(CoreV1Api),
    apps: kc.makeApiClient(AppsV1Api),
    objects,
    apply: (obj) => objects.patch(obj, undefined, undefined, 'appserving-tests', true, PatchStrategy.ServerSideApply),
  };
}

/** A fresh namespace per test file, so files can run in parallel against the one cluster. */
export async function createNamespace(k: Kube, prefix: string): Promise<string> {
  const name = `${prefix}-${randomBytes(3).toString('hex')}`;
  await k.core.createNamespace({ body: { metadata: { name } } });
  return name;
}

export async function deleteNamespace(k: Kube, name: string): Promise<void> {
  await k.core.deleteNamespace({ name }).catch(() => {});
}


export function pod(name: string, opts: { labels?: Record<string, string>; annotations?: Record<string, string>; restartPolicy?: 'Always' | 'Never' | 'OnFailure'; image?: string; cpu?: string; containers?: string[] } = {}): V1Pod {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: { name, labels: opts.labels ?? {}, annotations: opts.annotations ?? {} },
    spec: {
      restartPolicy: opts.restartPolicy ?? 'Always',
      terminationGracePeriodSeconds: 0,
      containers: (opts.containers ?? ['main']).map((c) => ({
        name: c,
        image: opts.image ?? 'registry.invalid/app:1',
        ...(opts.cpu ? { resources: { requests: { cpu: opts.cpu } } } : {}),
      })),
    },
  };
}

export function deployment(name: string, image: string, opts: { replicas?: number; labels?: Record<string, string> } = {}): V1Deployment {
  return {
    apiVersion: 'apps/v1',
    kind: 'Deployment',
    metadata: { name },
    spec: {
      replicas: opts.replicas ?? 2,
      progressDeadlineSeconds: 60,
      selector: { matchLabels: { app: name } },
      template: {
        metadata: { labels: { app: name, ...opts.labels } },
        spec: { terminationGracePeriodSeconds: 0, containers: [{ name: 'app', image, ports: [{ containerPort: 8080 }] }] },
      },
    },
  };
}
