// What must never happen on a real cluster: a value the chart refuses reaching it, and an app blocked forever by a
// helm that died mid-operation (a release left in pending-install or pending-upgrade).
import { execFile, spawn } from 'node:child_process';
import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import type { ReleaseRefV1, ReleaseSpecV1 } from '@appserving/shared';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { buildChartValues } from '../chart/chart-values.ts';
import { appChartDir } from '../service.ts';
import { eventually, startTestDeployer, type TestApp, type TestDeployer } from '../testing/test-deployer.ts';

const cluster = inject('appservingCluster');
let d: TestDeployer;
let dir: string;

beforeAll(async () => {
  d = await startTestDeployer({ cluster });
  dir = await mkdtemp(join(tmpdir(), 'deploy-repair-'));
});
afterAll(async () => {
  await d?.close();
  await rm(dir, { recursive: true, force: true });
});

const image = (tag: string) => `${cluster.registryHost}/shop/api:${tag}`;
const spec: ReleaseSpecV1 = { app_type: 'jar', port: 8080, resource_spec: 'small', strategy: 'rolling', env: {}, config: {}, secret_names: [], volumes: [], replicas: 1 };

async function helmHistory(namespace: string, release: string): Promise<{ revision: number; status: string }[]> {
  try {
    const { stdout } = await promisify(execFile)(cluster.helmBinary, ['history', release, '--namespace', namespace, '--kubeconfig', cluster.kubeconfigPath, '-o', 'json']);
    return JSON.parse(stdout);
  } catch (error) {
    if (/not found/.test((error as { stderr?: string }).stderr ?? '')) return [];
    throw error;
  }
}

async function objectsOf(app: TestApp): Promise<string[]> {
  const namespace = app.namespace;
  const selector = `appserving.dev/app-id=${app.id}`;
  const named = (items: { kind?: string; metadata?: { name?: string } }[], kind: string) => items.map((o) => `${kind}/${o.metadata?.name}`);
  return [
    ...named((await d.apps.listNamespacedDeployment({ namespace, labelSelector: selector })).items, 'Deployment'),
    ...named((await d.core.listNamespacedService({ namespace, labelSelector: selector })).items, 'Service'),
    ...named((await d.core.listNamespacedConfigMap({ namespace, labelSelector: selector })).items, 'ConfigMap'),
    ...named((await d.core.listNamespacedSecret({ namespace, labelSelector: selector })).items, 'Secret'),
    ...named((await d.core.listNamespacedSecret({ namespace, labelSelector: `owner=helm,name=${app.name}` })).items, 'Secret'),
  ];
}

/**
 * Starts `helm upgrade --install --wait` of a release whose pod can never be scheduled (it asks for 500 CPUs), waits
 * until helm has recorded the revision as pending, and kills helm: what a deployer crash leaves behind.
 */
async function leaveStuck(app: TestApp, ref: ReleaseRefV1, want: 'pending-install' | 'pending-upgrade'): Promise<void> {
  const values = buildChartValues({
    release: ref,
    spec: { ...spec, resource_spec: { cpu: '500', memory: '1Gi' } },
    image: image('stuck'),
    skipAnalysis: false,
    appType: 'jar',
    versionLabel: 'stuck',
    namespace: app.namespace,
    secrets: {},
    prometheusUrl: null,
    placement: null,
    clusterName: 'local',
    gateWebhookBase: '',
    settings: { trafficProvider: 'gatewayapi', appGateway: '', ingressClass: 'nginx', appDomain: '', otelAgent: 'never', otelAgentImage: 'x/y:1', volumeStorageClass: '', appUrl: 'https://{host}/', analysisMetrics: 'otel-agent', loadTesterUrl: '', analysisLoadRps: 0, appGatewayAddress: '' },
  });
  const file = join(dir, `${app.name}-stuck.json`);
  await writeFile(file, JSON.stringify(values));
  const helm = spawn(
    cluster.helmBinary,
    ['upgrade', app.name, appChartDir, '--install', '--create-namespace', '--namespace', app.namespace, '--kubeconfig', cluster.kubeconfigPath, '--values', file, '--wait', '--timeout', '10m'],
    { stdio: 'ignore' },
  );
  try {
    await eventually(`helm to record ${want}`, () => helmHistory(app.namespace, app.name), (h) => h.at(-1)?.status === want, 60_000);
    // Let it apply its objects, then die without a chance to record the outcome.
    await eventually('the stuck Deployment', () => d.read('apps/v1', 'Deployment', app.namespace, app.name), (o) => o !== undefined, 30_000);
  } finally {
    helm.kill('SIGKILL');
  }
  await new Promise((resolve) => helm.once('exit', resolve));
  expect((await helmHistory(app.namespace, app.name)).at(-1)?.status).toBe(want);
}

// The contracts refuse these values when a command is published (the platform's own producers never send them) and
// again when the deployer reads one (a producer outside the platform): such a command is terminated and recorded in
// the dead-letter stream, and helm never runs. The chart's values.schema.json is the last line behind both.
describe('deployer: values the contracts refuse never reach the cluster', () => {
  it('a first release with a malformed image, sent past the publisher: dead-lettered naming the field; nothing on the cluster', async () => {
    const app = await d.createApp({ name: 'refused', strategy: 'rolling', namespacePrefix: 'dep-refused' });
    const ref = await app.deploy({ spec, image: 'Not An Image!', unchecked: true });
    const letter = await eventually('the dead letter', () => d.lastDeadLetter(), (l) => l !== undefined && JSON.parse(l.data).data?.release?.release_id === ref.release_id, 30_000);
    expect(letter?.error_code).toBe('invalid_data');
    expect(letter?.deliveries).toBe(1);
    expect(letter?.reason).toContain('image');
    await d.idle();
    expect(d.steps.filter((s) => s.release.release_id === ref.release_id).map((s) => s.step)).toEqual([]);
    expect(await helmHistory(app.namespace, 'refused')).toEqual([]);
    expect(await objectsOf(app)).toEqual([]);
  });

  it('an upgrade with a refused value: dead-lettered; the running release and its revision untouched', async () => {
    const app = await d.createApp({ name: 'kept', strategy: 'rolling', namespacePrefix: 'dep-refused' });
    const good = await app.deploy({ spec, image: image('v1') });
    await d.waitForStep(good.release_id, 'applied');
    const bad = await app.deploy({ spec: { ...spec, port: 8080, resource_spec: { cpu: '0', memory: '1Gi' } }, image: image('v2'), unchecked: true });
    const letter = await eventually('the dead letter', () => d.lastDeadLetter(), (l) => l !== undefined && JSON.parse(l.data).data?.release?.release_id === bad.release_id, 30_000);
    expect(letter?.reason).toContain('cpu');
    await d.idle();
    expect(await helmHistory(app.namespace, 'kept')).toMatchObject([{ revision: 1, status: 'deployed' }]);
    const deployment = await d.apps.readNamespacedDeployment({ name: 'kept', namespace: app.namespace });
    expect(deployment.metadata?.labels?.['appserving.dev/release-id']).toBe(good.release_id);
    expect(deployment.spec?.template.spec?.containers[0]?.image).toBe(image('v1'));
  });
});

describe('deployer: a release stuck in a pending state is repaired', () => {
  it('pending-upgrade: rolled back to the last good revision, then upgraded', async () => {
    const app = await d.createApp({ name: 'stuck-up', strategy: 'rolling', namespacePrefix: 'dep-stuck' });
    const r1 = await app.deploy({ spec, image: image('v1') });
    await d.waitForStep(r1.release_id, 'applied');
    await leaveStuck(app, r1, 'pending-upgrade');

    const r2 = await app.deploy({ spec, image: image('v2') });
    const applied = await d.waitForStep(r2.release_id, 'applied');
    const history = await helmHistory(app.namespace, 'stuck-up');
    // 1 deployed, 2 the stuck upgrade, 3 the repair (rollback to 1), 4 this release.
    expect(history.map((h) => h.revision)).toEqual([1, 2, 3, 4]);
    expect(history.at(-1)).toMatchObject({ revision: 4, status: 'deployed' });
    expect(applied.helm_revision).toBe(4);
    await eventually('the Deployment of release 2', () => d.apps.readNamespacedDeployment({ name: 'stuck-up', namespace: app.namespace }), (dep) => {
      return dep.spec?.template.spec?.containers[0]?.image === image('v2') && dep.status?.readyReplicas === 1;
    });
  });

  it('pending-install: uninstalled, then installed afresh', async () => {
    const app = await d.createApp({ name: 'stuck-in', strategy: 'rolling', namespacePrefix: 'dep-stuck' });
    await leaveStuck(app, { app_id: app.id, app_name: app.name, release_id: '9b6c5c8e-1111-4222-8333-444455556666', version: 1, cluster_id: app.id }, 'pending-install');

    const r1 = await app.deploy({ spec, image: image('v1') });
    expect((await d.waitForStep(r1.release_id, 'applied')).helm_revision).toBe(1);
    expect(await helmHistory(app.namespace, 'stuck-in')).toMatchObject([{ revision: 1, status: 'deployed' }]);
    await eventually('the Deployment of release 1 ready', () => d.apps.readNamespacedDeployment({ name: 'stuck-in', namespace: app.namespace }), (dep) => dep.status?.readyReplicas === 1);
  });
});

describe('deployer: the target cluster comes from the registry', () => {
  const kubeconfigFor = (server: string) =>
    [
      'apiVersion: v1',
      'kind: Config',
      'clusters: [{name: far, cluster: {server: "' + server + '", insecure-skip-tls-verify: true}}]',
      'users: [{name: far, user: {token: not-a-real-token}}]',
      'contexts: [{name: far, context: {cluster: far, user: far}}]',
      'current-context: far',
    ].join('\n');

  it('a cluster that cannot be reached: retried with backoff, then the release fails with helm\'s message; nothing lands elsewhere', async () => {
    const far = await d.registerCluster({ name: 'far-away', kubeconfig: kubeconfigFor('https://127.0.0.1:1') });
    const app = await d.createApp({ name: 'remote', strategy: 'rolling', namespacePrefix: 'dep-remote', clusterId: far });
    const ref = await app.deploy({ spec, image: image('v1') });
    const failed = await d.waitForStep(ref.release_id, 'failed', 120_000);
    expect(failed.reason).toMatch(/^gave up after 5 attempts: helm: .*127\.0\.0\.1:1.*connection refused/);
    expect(await helmHistory(app.namespace, 'remote')).toEqual([]);
  }, 150_000);

  it('a cluster that was removed from the registry: the release fails naming it', async () => {
    const gone = await d.registerCluster({ name: 'decommissioned', kubeconfig: kubeconfigFor('https://127.0.0.1:2') });
    const app = await d.createApp({ name: 'orphan', strategy: 'rolling', namespacePrefix: 'dep-remote', clusterId: gone });
    await d.removeCluster(gone);
    const ref = await app.deploy({ spec, image: image('v1') });
    expect((await d.waitForStep(ref.release_id, 'failed')).reason).toBe(`the target cluster ${gone} is not registered (or was removed)`);
  });
});
