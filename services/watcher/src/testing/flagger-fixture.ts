import { LABELS, type ReleaseRefV1 } from '@appserving/shared';
import type { KubernetesObject } from '@kubernetes/client-node';
import { appLabels, applied, chartDeployment, createDeployRelease, waitStatus, type WatcherClusterEnv, type WorkloadOptions } from './cluster-fixture.ts';

/** What the chart creates for a canary or blue/green app (services/deployer/chart/templates/canary.yaml), for tests. */
export function chartCanary(env: WatcherClusterEnv, ref: ReleaseRefV1, strategy: 'canary' | 'blue-green', analysis: Record<string, unknown> = {}): KubernetesObject {
  const nginx = strategy === 'canary';
  return {
    apiVersion: 'flagger.app/v1beta1',
    kind: 'Canary',
    metadata: { name: ref.app_name, namespace: env.namespace, labels: appLabels(ref) },
    spec: {
      provider: nginx ? 'nginx' : 'kubernetes',
      targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name: ref.app_name },
      ...(nginx ? { ingressRef: { apiVersion: 'networking.k8s.io/v1', kind: 'Ingress', name: ref.app_name } } : {}),
      progressDeadlineSeconds: 120,
      service: { port: 8080, targetPort: 8080, portName: 'http' },
      analysis: {
        interval: '10s',
        threshold: 2,
        ...(nginx ? { stepWeight: 50, maxWeight: 50 } : { iterations: 1 }),
        // Not `request-success-rate`: Flagger runs its built-in check for that name even with a templateRef.
        metrics: [{ name: 'success-rate', templateRef: { name: `${ref.app_name}-success-rate` }, thresholdRange: { min: 99 }, interval: '1m' }],
        ...analysis,
      },
    },
  } as KubernetesObject;
}

/** The chart's MetricTemplate: the query is the deployer's to define; tests use a series they write themselves. */
export function chartMetricTemplate(env: WatcherClusterEnv, ref: ReleaseRefV1): KubernetesObject {
  return {
    apiVersion: 'flagger.app/v1beta1',
    kind: 'MetricTemplate',
    metadata: { name: `${ref.app_name}-success-rate`, namespace: env.namespace, labels: appLabels(ref) },
    spec: {
      provider: { type: 'prometheus', address: env.cluster.prometheusUrl },
      query: 'min(appserving_watcher_test_success_rate{namespace="{{ namespace }}", app="{{ target }}"})',
    },
  } as KubernetesObject;
}

export function chartIngress(env: WatcherClusterEnv, ref: ReleaseRefV1): KubernetesObject {
  return {
    apiVersion: 'networking.k8s.io/v1',
    kind: 'Ingress',
    metadata: { name: ref.app_name, namespace: env.namespace, labels: appLabels(ref) },
    spec: {
      ingressClassName: 'nginx',
      rules: [{ host: `${ref.app_name}.example.test`, http: { paths: [{ path: '/', pathType: 'Prefix', backend: { service: { name: ref.app_name, port: { number: 8080 } } } }] } }],
    },
  } as KubernetesObject;
}

/** First release of a progressive app: Deployment, Ingress (canary), MetricTemplate and Canary, as helm applies them. */
export async function installProgressive(env: WatcherClusterEnv, ref: ReleaseRefV1, strategy: 'canary' | 'blue-green', workload: WorkloadOptions = {}): Promise<void> {
  await env.kube.apply(chartDeployment(env.namespace, ref, workload));
  if (strategy === 'canary') await env.kube.apply(chartIngress(env, ref));
  await env.kube.apply(chartMetricTemplate(env, ref));
  await env.kube.apply(chartCanary(env, ref, strategy));
}

/** An app's first progressive release, installed as helm would and initialized by Flagger: `succeeded`. */
export async function firstProgressiveRelease(env: WatcherClusterEnv, name: string, strategy: 'canary' | 'blue-green'): Promise<ReleaseRefV1> {
  const ref = await createDeployRelease(env, { name, strategy });
  await waitStatus(env, ref, 'deploying');
  await installProgressive(env, ref, strategy);
  await applied(env, ref, 1);
  await waitStatus(env, ref, 'succeeded', 120_000);
  return ref;
}

/**
 * A later release: helm upgrades the Deployment's pod template (new release labels and image) and leaves the
 * replica count Flagger manages alone (read-modify-replace, like helm's three-way merge does).
 */
export async function upgradeWorkload(env: WatcherClusterEnv, ref: ReleaseRefV1, image: string): Promise<void> {
  // Flagger writes the same Deployment (it scales the target): on a conflict, read again and retry.
  for (let attempt = 1; ; attempt++) {
    const d = await env.kube.apps.readNamespacedDeployment({ name: ref.app_name, namespace: env.namespace });
    for (const labels of [d.metadata!.labels!, d.spec!.template.metadata!.labels!]) {
      labels[LABELS.releaseId] = ref.release_id;
      labels[LABELS.releaseVersion] = String(ref.version);
    }
    d.spec!.template.spec!.containers[0]!.image = image;
    try {
      await env.kube.apps.replaceNamespacedDeployment({ name: ref.app_name, namespace: env.namespace, body: d });
      return;
    } catch (error) {
      if ((error as { code?: number }).code !== 409 || attempt >= 10) throw error;
      await new Promise((r) => setTimeout(r, 200));
    }
  }
}
