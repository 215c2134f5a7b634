// The pod stages of this tree (test/cluster/kwok/pod-stages.yaml) on a private kwok node: the behaviours the
// watcher's tests rely on, selected by the first container's SIM_BEHAVIOUR env var (what an app created through
// the REST API can set) and the `unready` behaviour (running, never ready, no restarts).
import { randomBytes } from 'node:crypto';
import { CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { SIM_BEHAVIOUR_LABEL } from '@appserving/test-cluster';
import type {} from '@appserving/test-cluster/global-setup';
import { waitFor } from './harness.ts';
import { startSimNode, type SimNode } from './sim-node.ts';

const cluster = inject('appservingCluster');
const kc = new KubeConfig();
kc.loadFromFile(cluster.kubeconfigPath);
const core = kc.makeApiClient(CoreV1Api);
let node: SimNode;
const namespace = `sim-env-${randomBytes(3).toString('hex')}`;

beforeAll(async () => {
  node = await startSimNode(cluster);
  await core.createNamespace({ body: { metadata: { name: namespace } } });
}, 60_000);

afterAll(async () => {
  await core.deleteNamespace({ name: namespace }).catch(() => {});
  await node?.stop();
}, 60_000);

function pod(name: string, env: Record<string, string>, labels: Record<string, string> = {}): V1Pod {
  return {
    metadata: { name, labels },
    spec: {
      ...node.placement,
      terminationGracePeriodSeconds: 0,
      containers: [{ name: 'app', image: 'registry.invalid/app:1', env: Object.entries(env).map(([k, v]) => ({ name: k, value: v })) }],
    },
  };
}

const read = (name: string) => () => core.readNamespacedPod({ name, namespace });

describe('pod behaviours chosen by env (SIM_BEHAVIOUR) and the unready behaviour', () => {
  it('SIM_BEHAVIOUR=crashloop with SIM_EXIT_CODE crash-loops with that exit code', async () => {
    await core.createNamespacedPod({ namespace, body: pod('env-crash', { SIM_BEHAVIOUR: 'crashloop', SIM_EXIT_CODE: '3' }) });
    const p = await waitFor('crash loop', async () => {
      const current = await read('env-crash')();
      return (current.status?.containerStatuses?.[0]?.restartCount ?? 0) >= 2 ? current : undefined;
    }, 30_000);
    expect(p.status?.containerStatuses?.[0]?.state?.waiting?.reason).toBe('CrashLoopBackOff');
    expect(p.status?.containerStatuses?.[0]?.lastState?.terminated).toMatchObject({ exitCode: 3, reason: 'Error' });
  });

  it('SIM_BEHAVIOUR=oom and =imagepull', async () => {
    await core.createNamespacedPod({ namespace, body: pod('env-oom', { SIM_BEHAVIOUR: 'oom' }) });
    await core.createNamespacedPod({ namespace, body: pod('env-pull', { SIM_BEHAVIOUR: 'imagepull' }) });
    const oom = await waitFor('oom', async () => {
      const p = await read('env-oom')();
      return p.status?.containerStatuses?.[0]?.lastState?.terminated ? p : undefined;
    }, 30_000);
    expect(oom.status?.containerStatuses?.[0]?.lastState?.terminated).toMatchObject({ exitCode: 137, reason: 'OOMKilled' });
    const pull = await waitFor('image pull back-off', async () => {
      const p = await read('env-pull')();
      return p.status?.containerStatuses?.[0]?.state?.waiting?.reason === 'ImagePullBackOff' ? p : undefined;
    }, 30_000);
    expect(pull.status?.phase).toBe('Pending');
  });

  it('unready: Running, containers running but not ready, no restarts, an Unhealthy warning', async () => {
    await core.createNamespacedPod({ namespace, body: pod('unready', { SIM_BEHAVIOUR: 'unready' }) });
    const p = await waitFor('running', async () => {
      const current = await read('unready')();
      return current.status?.phase === 'Running' ? current : undefined;
    }, 30_000);
    expect(p.status?.conditions?.find((c) => c.type === 'Ready')?.status).toBe('False');
    expect(p.status?.containerStatuses?.[0]).toMatchObject({ ready: false, restartCount: 0, state: { running: expect.anything() } });
    const events = await waitFor('Unhealthy event', async () => {
      const list = await core.listNamespacedEvent({ namespace, fieldSelector: 'involvedObject.name=unready' });
      return list.items.some((e) => e.reason === 'Unhealthy') ? list.items : undefined;
    });
    expect(events.find((e) => e.reason === 'Unhealthy')?.message).toMatch(/Readiness probe failed/);
    await new Promise((r) => setTimeout(r, 3_000));
    expect((await read('unready')()).status?.containerStatuses?.[0]?.restartCount).toBe(0);
  });

  it('the label wins over the env var', async () => {
    await core.createNamespacedPod({ namespace, body: pod('label-wins', { SIM_BEHAVIOUR: 'crashloop' }, { [SIM_BEHAVIOUR_LABEL]: 'none' }) });
    const p = await waitFor('ready', async () => {
      const current = await read('label-wins')();
      return current.status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? current : undefined;
    }, 30_000);
    expect(p.status?.containerStatuses?.[0]?.restartCount).toBe(0);
  });
});
