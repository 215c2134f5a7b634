/**
 * Baseline for bench/watcher-memory.bench.ts: a bare process holding @kubernetes/client-node informers over the same
 * objects the watcher caches (Deployments, ReplicaSets, Pods with the app-id label), and nothing else. Prints one
 * JSON line {rssBytes, heapUsedBytes, objects} once the lists are in and the heap has settled.
 * Run: node --expose-gc bench/support/bare-informers.ts <kubeconfig>
 */
import { AppsV1Api, CoreV1Api, KubeConfig, ListWatch, Watch, type KubernetesObject } from '@kubernetes/client-node';

const selector = 'appserving.dev/app-id';
const kc = new KubeConfig();
kc.loadFromFile(process.argv[2] ?? '');
const apps = kc.makeApiClient(AppsV1Api);
const core = kc.makeApiClient(CoreV1Api);
const informers: ListWatch<KubernetesObject>[] = [
  new ListWatch('/apis/apps/v1/deployments', new Watch(kc), () => apps.listDeploymentForAllNamespaces({ labelSelector: selector }), false, selector),
  new ListWatch('/apis/apps/v1/replicasets', new Watch(kc), () => apps.listReplicaSetForAllNamespaces({ labelSelector: selector }), false, selector),
  new ListWatch('/api/v1/pods', new Watch(kc), () => core.listPodForAllNamespaces({ labelSelector: selector }), false, selector),
] as ListWatch<KubernetesObject>[];
await Promise.all(informers.map((i) => i.start()));
while (informers.some((i) => i.latestResourceVersion() === '')) await new Promise((r) => setTimeout(r, 100));
await new Promise((r) => setTimeout(r, 5_000));
(globalThis as { gc?: () => void }).gc?.();
await new Promise((r) => setTimeout(r, 500));
const memory = process.memoryUsage();
console.log(JSON.stringify({ rssBytes: memory.rss, heapUsedBytes: memory.heapUsed, objects: informers.reduce((n, i) => n + i.list().length, 0) }));
await Promise.all(informers.map((i) => i.stop()));
process.exit(0);
