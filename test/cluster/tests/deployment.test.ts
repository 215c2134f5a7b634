import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { V1Deployment, V1ReplicaSet } from '@kubernetes/client-node';
import { createNamespace, deleteNamespace, deployment, eventually, kube } from './helpers.ts';

const k = kube();
let ns: string;

beforeAll(async () => {
  ns = await createNamespace(k, 'deploy');
});
afterAll(async () => {
  await deleteNamespace(k, ns);
});

function available(d: V1Deployment): boolean {
  const s = d.status;
  return (
    s?.observedGeneration === d.metadata?.generation &&
    s?.updatedReplicas === d.spec?.replicas &&
    s?.availableReplicas === d.spec?.replicas &&
    (s?.conditions ?? []).some((c) => c.type === 'Available' && c.status === 'True')
  );
}

describe('Deployment through @kubernetes/client-node', () => {
  it('becomes Available, and an image change rolls out to a new ReplicaSet', async () => {
    const name = 'web';
    await k.apps.createNamespacedDeployment({ namespace: ns, body: deployment(name, 'registry.invalid/web:1', { replicas: 3 }) });

    const first = await eventually('Deployment Available', () => k.apps.readNamespacedDeployment({ name, namespace: ns }), available);
    expect(first.status?.readyReplicas).toBe(3);
    const pods = await k.core.listNamespacedPod({ namespace: ns, labelSelector: `app=${name}` });
    expect(pods.items).toHaveLength(3);
    for (const p of pods.items) {
      expect(p.spec?.nodeName).toBe(k.cluster.nodeName);
      expect(p.status?.phase).toBe('Running');
      expect(p.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('True');
    }

    const replicaSets = () => k.apps.listNamespacedReplicaSet({ namespace: ns, labelSelector: `app=${name}` }).then((l) => l.items);
    const [firstRs] = await replicaSets();
    expect(firstRs?.spec?.template?.spec?.containers[0]?.image).toBe('registry.invalid/web:1');

    const current = await k.apps.readNamespacedDeployment({ name, namespace: ns });
    current.spec!.template.spec!.containers[0]!.image = 'registry.invalid/web:2';
    await k.apps.replaceNamespacedDeployment({ name, namespace: ns, body: current });

    const rolled = await eventually(
      'rollout of web:2',
      () => k.apps.readNamespacedDeployment({ name, namespace: ns }),
      (d) => available(d) && d.metadata?.generation === 2,
    );
    expect(rolled.status?.updatedReplicas).toBe(3);

    const after = await eventually('old ReplicaSet scaled to 0', replicaSets, (items: V1ReplicaSet[]) =>
      items.length === 2 && items.some((rs) => rs.metadata?.uid === firstRs?.metadata?.uid && rs.status?.replicas === 0),
    );
    const newRs = after.find((rs) => rs.metadata?.uid !== firstRs?.metadata?.uid);
    expect(newRs?.spec?.template?.spec?.containers[0]?.image).toBe('registry.invalid/web:2');
    expect(newRs?.status?.readyReplicas).toBe(3);
    expect(newRs?.metadata?.annotations?.['deployment.kubernetes.io/revision']).toBe('2');
  });
});
