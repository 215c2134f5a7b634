// The watcher losing its footing mid-rollout: killed (SIGKILL) and started again, and cut off from the API server
// long enough for its watch to expire (410 Gone). Either way the release reaches its terminal status and the
// timeline has every entry once.
import { readFileSync, writeFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { remoteWrite } from '@appserving/test-cluster';
import type {} from '@appserving/test-cluster/global-setup';
import { Watch, type KubernetesObject } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { applied, chartDeployment, createDeployRelease, releaseRow, startWatcherClusterEnv, updateRelease, waitStatus } from '../testing/cluster-fixture.ts';
import { firstProgressiveRelease, upgradeWorkload } from '../testing/flagger-fixture.ts';
import { waitFor } from '../testing/harness.ts';
import { startSimNode, type SimNode } from '../testing/sim-node.ts';
import { startTcpProxy, type TcpProxy } from '../testing/tcp-proxy.ts';
import { startWatcherProcess, type WatcherProcess } from '../testing/watcher-process.ts';

const cluster = inject('appservingCluster');
let node: SimNode;
let tmp: string;

beforeAll(async () => {
  node = await startSimNode(cluster);
  tmp = mkdtempSync(join(tmpdir(), 'watcher-restart-'));
}, 60_000);

afterAll(async () => {
  await node?.stop();
  rmSync(tmp, { recursive: true, force: true });
}, 60_000);


interface TimelineItem {
  id: string;
  event_id: string;
  type: string;
  release_id: string | null;
  data: { status?: string; previous_status?: string; canary_weight?: number; step?: string };
}

describe.concurrent('the watcher survives', () => {
  it('being killed mid-rollout: started again, it reaches the terminal status; no timeline entry is missing or doubled', async () => {
    const env = await startWatcherClusterEnv(cluster, { prefix: 'restart', startWatcher: false });
    const spawnWatcher = () => startWatcherProcess({ natsUrl: env.gw.nats.url, databaseUrl: env.gw.databaseUrl });
    let first: WatcherProcess | undefined;
    let second: WatcherProcess | undefined;
    try {
      first = await spawnWatcher();
      await first.ready();
      const r1 = await firstProgressiveRelease(env, 'survivor', 'blue-green');
      await remoteWrite(cluster.prometheusUrl, [{ labels: { __name__: 'appserving_watcher_test_success_rate', namespace: env.namespace, app: 'survivor' }, samples: [{ value: 100 }] }]);

      const r2 = await updateRelease(env, r1, 'v2');
      await waitStatus(env, r2, 'deploying');
      expect(await first.kill('SIGKILL')).toBeNull();

      // While no watcher runs: the deployer applies the release and Flagger starts analysing it.
      await upgradeWorkload(env, r2, 'registry.invalid/survivor:v2');
      await applied(env, r2, 2);
      await waitFor(
        'Flagger analysing the new release',
        async () => {
          const canary = await env.kube.objects.read<KubernetesObject & { status?: { phase?: string } }>({ apiVersion: 'flagger.app/v1beta1', kind: 'Canary', metadata: { name: 'survivor', namespace: env.namespace } });
          return canary.status?.phase === 'Progressing';
        },
        60_000,
        500,
      );
      expect((await releaseRow(env, r2.release_id)).status).toBe('deploying');

      second = await spawnWatcher();
      await second.ready();
      await waitStatus(env, r2, 'succeeded', 180_000);
      expect((await releaseRow(env, r1.release_id)).status).toBe('superseded');

      const { body } = await env.h.call('GET', `/apps/${r1.app_id}/timeline?limit=1000`);
      const items = body.items as TimelineItem[];
      const ids = items.map((t) => t.event_id);
      expect(new Set(ids).size).toBe(ids.length);
      // Both commands and the step published while the watcher was down are there, once.
      expect(items.filter((t) => t.type === 'dev.appserving.command.deploy.v1')).toHaveLength(2);
      expect(ids.filter((id) => id === `${r2.release_id}.deploy.applied`)).toHaveLength(1);
      for (const release of [r1, r2]) {
        const statuses = items.filter((t) => t.type === 'dev.appserving.release.status.v1' && t.release_id === release.release_id).map((t) => t.data);
        // An unbroken chain: each status change starts where the previous one ended.
        let previous = 'pending';
        for (const entry of statuses) {
          if (entry.previous_status !== undefined) {
            expect(entry.previous_status, JSON.stringify(statuses)).toBe(previous);
            previous = entry.status ?? '';
          }
        }
        expect(new Set(statuses.map((s) => `${s.status}/${s.canary_weight ?? ''}`)).size).toBe(statuses.length);
      }
      const r2Statuses = items.filter((t) => t.type === 'dev.appserving.release.status.v1' && t.release_id === r2.release_id).map((t) => t.data.status);
      expect(r2Statuses[0]).toBe('deploying');
      expect(r2Statuses.at(-1)).toBe('succeeded');
      const steps = await env.gw.database.db.selectFrom('canary_analysis').select('step').where('release_id', '=', r2.release_id).orderBy('step').execute();
      expect(steps.map((s) => s.step)).toEqual(steps.map((_s, i) => i + 1));
    } finally {
      await first?.kill('SIGKILL');
      await second?.kill('SIGTERM');
      await env.close();
    }
  }, 420_000);

  it('an expired watch (410 Gone): after a partition, the change it missed is seen on relist', async () => {
    const proxy: TcpProxy = await startTcpProxy({ host: '127.0.0.1', port: cluster.ports.apiserver });
    const kubeconfigPath = join(tmp, 'proxied-kubeconfig.yaml');
    writeFileSync(kubeconfigPath, readFileSync(cluster.kubeconfigPath, 'utf8').replace(/server: https:\/\/127\.0\.0\.1:\d+/, `server: https://127.0.0.1:${proxy.port}`));
    const env = await startWatcherClusterEnv(cluster, { prefix: 'expired', kubeconfigPath, env: { APPSERVING_WATCHER_READINESS_GRACE_MS: '600000' } });
    try {
      const ref = await createDeployRelease(env, { name: 'partitioned' });
      await waitStatus(env, ref, 'deploying');
      await env.kube.apply(chartDeployment(env.namespace, ref, { behaviour: 'unready', placement: node.placement }));
      await applied(env, ref, 1);
      await waitStatus(env, ref, 'progressing');
      const relists = async () => {
        const metric = await env.watcher.runtime.metrics.registry.getSingleMetric('appserving_watcher_relists_total')?.get();
        return metric?.values.filter((v) => v.labels.kind === 'Deployment').reduce((n, v) => n + v.value, 0) ?? 0;
      };
      const relistsBefore = await relists();

      proxy.cut();
      // The rollout completes while the watcher cannot see it: pods that become ready.
      await env.kube.apply(chartDeployment(env.namespace, ref, { placement: node.placement }));
      await waitFor(
        'the rollout to complete on the cluster',
        async () => {
          const d = await env.kube.apps.readNamespacedDeployment({ name: 'partitioned', namespace: env.namespace });
          return d.status?.updatedReplicas === 2 && d.status.availableReplicas === 2 && d.status.replicas === 2;
        },
        60_000,
      );
      // Push the watch cache past every resource version the watcher saw: changes to another Deployment,
      // until a watch from a version newer than the watcher's answers 410 Gone.
      const probeVersion = (await env.kube.apps.listDeploymentForAllNamespaces({ limit: 1 })).metadata!.resourceVersion!;
      await env.kube.apps.createNamespacedDeployment({
        namespace: env.namespace,
        body: { metadata: { name: 'churn' }, spec: { replicas: 0, selector: { matchLabels: { app: 'churn' } }, template: { metadata: { labels: { app: 'churn' } }, spec: { containers: [{ name: 'c', image: 'registry.invalid/churn:1' }] } } } },
      });
      let updates = 0;
      await waitFor(
        'the watch cache to expire the watcher\'s resource version',
        async () => {
          for (let i = 0; i < 40; i++) {
            await env.kube.apps.patchNamespacedDeployment({ name: 'churn', namespace: env.namespace, body: [{ op: 'replace', path: '/metadata/annotations', value: { churn: String(updates++) } }] });
          }
          return expired(probeVersion);
        },
        300_000,
        0,
      );
      expect((await releaseRow(env, ref.release_id)).status).toBe('progressing');

      proxy.restore();
      await waitStatus(env, ref, 'succeeded', 60_000);
      expect(await relists()).toBeGreaterThan(relistsBefore);
      expect(await env.h.statusesOnceSeen(ref.release_id, 'succeeded')).toEqual(['deploying', 'progressing', 'succeeded']);
    } finally {
      proxy.restore();
      await env.close();
      await proxy.close();
    }
  }, 420_000);
});

/** Whether a watch of Deployments from `resourceVersion` is answered 410 Gone (too old). */
async function expired(resourceVersion: string): Promise<boolean> {
  const { KubeConfig } = await import('@kubernetes/client-node');
  const kc = new KubeConfig();
  kc.loadFromFile(cluster.kubeconfigPath);
  return new Promise((resolve) => {
    let settled = false;
    const settle = (value: boolean, controller?: AbortController) => {
      if (settled) return;
      settled = true;
      controller?.abort();
      resolve(value);
    };
    let request: AbortController | undefined;
    void new Watch(kc)
      .watch(
        '/apis/apps/v1/deployments',
        { resourceVersion },
        (type, obj: { code?: number }) => settle(type === 'ERROR' && obj.code === 410, request),
        (error: { statusCode?: number } | null) => settle(error?.statusCode === 410),
      )
      .then((controller) => {
        request = controller;
        if (settled) controller.abort();
      });
    setTimeout(() => settle(false, request), 2_000);
  });
}
