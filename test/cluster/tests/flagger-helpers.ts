// Shared by the Flagger tests (one file per scenario, so that they run in parallel).
import type { KubernetesObject } from '@kubernetes/client-node';
import { deployment } from './helpers.ts';
import type { Kube } from './helpers.ts';


export interface Canary extends KubernetesObject {
  status?: { phase?: string; failedChecks?: number; canaryWeight?: number; iterations?: number };
}

export const readCanary = (k: Kube, ns: string, name: string) => () => k.objects.read<Canary>({ apiVersion: 'flagger.app/v1beta1', kind: 'Canary', metadata: { name, namespace: ns } });
export const phase = (want: string) => (c: Canary) => c.status?.phase === want;
export const image = async (k: Kube, ns: string, name: string) => (await k.apps.readNamespacedDeployment({ name, namespace: ns })).spec?.template.spec?.containers[0]?.image;

export async function changeImage(k: Kube, ns: string, name: string, to: string): Promise<void> {
  // read-modify-replace: keeps the replica count Flagger set on the target.
  const d = await k.apps.readNamespacedDeployment({ name, namespace: ns });
  d.spec!.template.spec!.containers[0]!.image = to;
  await k.apps.replaceNamespacedDeployment({ name, namespace: ns, body: d });
}

export function canary(ns: string, name: string, analysis: Record<string, unknown>): Canary {
  return {
    apiVersion: 'flagger.app/v1beta1',
    kind: 'Canary',
    metadata: { name, namespace: ns },
    spec: {
      provider: 'kubernetes',
      targetRef: { apiVersion: 'apps/v1', kind: 'Deployment', name },
      progressDeadlineSeconds: 60,
      service: { port: 80, targetPort: 8080 },
      // Flagger never runs an analysis step more often than every 10 s (GetAnalysisInterval).
      analysis: { interval: '10s', threshold: 2, iterations: 1, ...analysis },
    },
  } as Canary;
}

export async function createTarget(k: Kube, ns: string, name: string): Promise<void> {
  await k.apps.createNamespacedDeployment({ namespace: ns, body: deployment(name, `registry.invalid/${name}:1`) });
}

