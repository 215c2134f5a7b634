// Each failure class of a rollout, produced by kwok stages on the local cluster, diagnosed by the watcher with its
// evidence, and seen where a person looks: GET /apps/{id} and the live SSE stream.
import { LABELS } from '@appserving/shared';
import { SIM_EXIT_CODE_ANNOTATION, setNamespaceLogs, setPodLogs } from '@appserving/test-cluster';
import type {} from '@appserving/test-cluster/global-setup';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { appLabels, chartDeployment, createDeployRelease, openEventStream, startWatcherClusterEnv, type WatcherClusterEnv, type WorkloadOptions } from '../testing/cluster-fixture.ts';
import { waitFor } from '../testing/harness.ts';
import { startSimNode, type SimNode } from '../testing/sim-node.ts';

const cluster = inject('appservingCluster');
let env: WatcherClusterEnv;
let node: SimNode;

const javaCrash = [
  '  .   ____          _            __ _ _',
  ':: Spring Boot ::                (v3.3.2)',
  'Starting OrdersApplication using Java 21',
  '***************************',
  'APPLICATION FAILED TO START',
  '***************************',
  "Description: Could not resolve placeholder 'orders.db.url' in value \"${orders.db.url}\"",
];

beforeAll(async () => {
  env = await startWatcherClusterEnv(cluster, { prefix: 'diag' });
  node = await startSimNode(cluster);
  // Every pod of the namespace logs a failing Spring Boot start-up (Deployment pods have generated names).
  await setNamespaceLogs(cluster, { name: `logs-${env.namespace}`, namespaces: [env.namespace], lines: javaCrash });
}, 120_000);

afterAll(async () => {
  try {
    await env?.kube.objects.delete({ apiVersion: 'kwok.x-k8s.io/v1alpha1', kind: 'ClusterLogs', metadata: { name: `logs-${env.namespace}` } }).catch(() => {});
    await env?.close();
  } finally {
    await node?.stop();
  }
}, 60_000);

/** Creates the app (deploy-only release), opens its SSE stream, announces the apply, and creates the workload. */
async function rollOut(name: string, workload: WorkloadOptions, app: { resource_spec?: string } = {}) {
  const ref = await createDeployRelease(env, { name, ...app });
  const sse = await openEventStream(env, ref.app_id);
  await waitFor('deploying', async () => (await env.h.call('GET', `/apps/${ref.app_id}`)).body.current_release.status === 'deploying');
  await env.kube.apply(chartDeployment(env.namespace, ref, workload));
  return { ref, sse };
}

async function failedWith(ref: { app_id: string; release_id: string }, sse: Awaited<ReturnType<typeof openEventStream>>, code: string) {
  const event = await sse.until(`a failed status with ${code}`, (e) => e.event === 'dev.appserving.release.status.v1' && e.data.data.status === 'failed', 90_000);
  sse.close();
  const { body: app } = await env.h.call('GET', `/apps/${ref.app_id}`);
  expect(app.current_release.status).toBe('failed');
  expect(app.current_release.diagnosis.code).toBe(code);
  expect(app.current_release.diagnosis).toEqual(event.data.data.diagnosis);
  expect(app.current_release.status_reason).toBe(app.current_release.diagnosis.summary);
  expect(app.status).toBe('failed');
  return app.current_release.diagnosis as { code: string; summary: string; hint: string; evidence: Record<string, any> };
}

describe.concurrent('failure diagnosis on the local cluster (GET /apps/{id} and SSE)', () => {
  it('image pull: which image, and that it does not exist', async () => {
    const { ref, sse } = await rollOut('pull-fails', { behaviour: 'imagepull', image: 'registry.invalid/orders:v404' });
    const d = await failedWith(ref, sse, 'image-pull');
    expect(d.summary).toBe('The image registry.invalid/orders:v404 cannot be pulled: the registry has no such image (wrong repository, tag or digest).');
    expect(d.evidence).toMatchObject({ image: 'registry.invalid/orders:v404', cause: 'not-found', container: 'app' });
    expect(d.evidence.message).toContain('registry.invalid/orders:v404');
  });

  it('crash loop: exit code and the last log lines, and what they say', async () => {
    const { ref, sse } = await rollOut('crashes', { behaviour: 'crashloop', annotations: { [SIM_EXIT_CODE_ANNOTATION]: '3' } });
    const d = await failedWith(ref, sse, 'crash-loop');
    expect(d.summary).toMatch(/^The app exits with code 3 soon after it starts; Kubernetes restarted it \d+ times\.$/);
    expect(d.evidence).toMatchObject({ exit_code: 3, exit_reason: 'Error', last_log_lines: javaCrash });
    expect(d.hint).toContain('orders.db.url');
  });

  it('OOMKilled: the memory limit and the preset', async () => {
    const { ref, sse } = await rollOut('oom', { behaviour: 'oom', memoryLimit: '384Mi' }, { resource_spec: 'small' });
    const d = await failedWith(ref, sse, 'oom-killed');
    expect(d.summary).toMatch(/more memory than its limit of 384Mi \(resource_spec small\)/);
    expect(d.evidence).toMatchObject({ exit_code: 137, memory_limit: '384Mi', resource_spec: 'small' });
    expect(d.hint).toContain('resource_spec medium');
  });

  it('unschedulable: what the pods ask for and what no node has', async () => {
    const { ref, sse } = await rollOut('too-big', { cpu: '500' });
    const d = await failedWith(ref, sse, 'unschedulable');
    expect(d.summary).toBe("No node has room for the app's pods: each asks for 500 CPU and 256Mi memory and the cluster is short of cpu.");
    expect(d.evidence.scheduler_message).toMatch(/Insufficient cpu/);
  });

  it('readiness failing: the probe\'s path and port', async () => {
    const { ref, sse } = await rollOut('never-ready', { behaviour: 'unready', placement: node.placement });
    const d = await failedWith(ref, sse, 'readiness-failing');
    expect(d.summary).toMatch(/^The app runs but never becomes ready: its readiness check GET \/actuator\/health on port 8080 has been failing for \d+ s\.$/);
    expect(d.evidence).toMatchObject({ probe: { type: 'http', path: '/actuator/health', port: 8080 }, probe_message: expect.stringMatching(/Readiness probe failed/) });
    expect(d.hint).toContain('port 8080');
  });

  it('GET /apps/{id}/logs: the watcher reads the pods\' last lines, and a crashed container\'s previous ones', async () => {
    const { ref } = await rollOut('logged', {});
    await waitFor('running', async () => (await env.h.call('GET', `/apps/${ref.app_id}`)).body.current_release.status !== 'deploying', 30_000).catch(() => undefined);
    // A pod of the app with a named log: its previous (crashed) container said something else.
    await setPodLogs(cluster, { namespace: env.namespace, pod: 'logged-crashed', lines: ['restarted'], previousLines: ['FATAL OrdersApplication: port 8080 already in use'] });
    await env.kube.core.createNamespacedPod({
      namespace: env.namespace,
      body: {
        metadata: { name: 'logged-crashed', labels: { ...appLabels(ref), [LABELS.releaseId]: ref.release_id } },
        spec: { terminationGracePeriodSeconds: 0, containers: [{ name: 'app', image: 'registry.invalid/logged:v1' }] },
      },
    });
    const latest = await waitFor('three pods running with logs', async () => {
      const { status, body } = await env.h.call('GET', `/apps/${ref.app_id}/logs?tail=2`);
      return status === 200 && body.pods.length === 3 && body.pods.every((p: { lines: string[] }) => p.lines.length > 0) ? body : undefined;
    }, 30_000);
    for (const pod of latest.pods.filter((p: { name: string }) => p.name !== 'logged-crashed')) {
      expect(pod).toMatchObject({ container: 'app', release_id: ref.release_id, phase: 'Running', lines: javaCrash.slice(-2) });
    }
    const { body: previous } = await env.h.call('GET', `/apps/${ref.app_id}/logs?previous=true`);
    const crashed = previous.pods.find((p: { name: string }) => p.name === 'logged-crashed');
    expect(crashed.lines).toEqual(['FATAL OrdersApplication: port 8080 already in use']);
    const other = previous.pods.find((p: { name: string }) => p.name !== 'logged-crashed');
    expect(other.lines).toEqual([]);
    expect(other.error).toMatch(/^no logs of a previous container/);
  });
});
