// The deployer end to end on the local cluster: deploy.v1 commands on a real NATS, the real helm, the real
// kube-apiserver and controller manager (kwok runs the pods). Rolling install and upgrade, what the pod gets,
// idempotency on redelivery, rollback to an earlier release, delete.
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import type { ReleaseSpecV1 } from '@appserving/shared';
import type { V1ReplicaSet } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { eventually, startTestDeployer, type TestApp, type TestDeployer } from '../testing/test-deployer.ts';

const cluster = inject('appservingCluster');
let d: TestDeployer;
let app: TestApp;

beforeAll(async () => {
  d = await startTestDeployer({ cluster });
  app = await d.createApp({ name: 'orders', strategy: 'rolling', namespacePrefix: 'dep-rolling' });
  // The local cluster has no storage provisioner: provide the volume statically, as a cluster admin would.
  await d.core.createPersistentVolume({
    body: {
      metadata: { name: `${app.namespace}-orders-data` },
      spec: {
        capacity: { storage: '1Gi' },
        accessModes: ['ReadWriteOnce'],
        persistentVolumeReclaimPolicy: 'Retain',
        hostPath: { path: `/tmp/${app.namespace}` },
        claimRef: { namespace: app.namespace, name: 'orders-data' },
      },
    },
  });
});
afterAll(async () => {
  await d?.close();
  await d?.core.deletePersistentVolume({ name: `${app.namespace}-orders-data` }).catch(() => {});
});

const digest = (c: string) => `sha256:${c.repeat(64)}`;
const image = (tag: string, c: string) => `${cluster.registryHost}/shop/orders:${tag}@${digest(c)}`;
const v1Spec: ReleaseSpecV1 = {
  app_type: 'jar',
  port: 8080,
  resource_spec: 'small',
  profile: 'prod',
  strategy: 'rolling',
  env: { GREETING: 'hello', FEATURE_X: 'on' },
  config: { 'application.yml': 'greeting: v1\n' },
  secret_names: ['db-password'],
  volumes: [{ name: 'data', mount_path: '/var/data', size: '1Gi' }],
  replicas: 2,
  health_path: '/actuator/health',
};
const v1Secrets = { 'db-password': 'first-password' };
const v2Spec: ReleaseSpecV1 = { ...v1Spec, env: { GREETING: 'hi' }, config: { 'application.yml': 'greeting: v2\n' }, resource_spec: { cpu: '300m', memory: '640Mi' } };

const releaseSets = async (releaseId: string) =>
  (await d.apps.listNamespacedReplicaSet({ namespace: app.namespace, labelSelector: `appserving.dev/release-id=${releaseId}` })).items;
const readyReplicas = (sets: V1ReplicaSet[]) => sets.reduce((n, rs) => n + (rs.status?.readyReplicas ?? 0), 0);

async function helmHistory(namespace: string, release: string): Promise<{ revision: number; status: string }[]> {
  const { stdout } = await promisify(execFile)(cluster.helmBinary, ['history', release, '--namespace', namespace, '--kubeconfig', cluster.kubeconfigPath, '-o', 'json']);
  return JSON.parse(stdout);
}

async function podEnv(releaseId: string): Promise<Record<string, string>> {
  const pods = (await d.core.listNamespacedPod({ namespace: app.namespace, labelSelector: `appserving.dev/release-id=${releaseId}` })).items;
  const container = pods[0]?.spec?.containers[0];
  return Object.fromEntries((container?.env ?? []).map((e) => [e.name, e.value ?? '']));
}

describe('deployer: rolling releases on the local cluster', () => {
  let r1: Awaited<ReturnType<TestApp['deploy']>>;
  let r2: typeof r1;

  it('installs a release: helm revision 1, announced as applied, its pods ready', async () => {
    r1 = await app.deploy({ spec: v1Spec, image: image('v1', 'a'), secrets: v1Secrets });
    const applied = await d.waitForStep(r1.release_id, 'applied');
    expect(applied).toMatchObject({ id: `${r1.release_id}.deploy.applied`, helm_revision: 1 });
    await eventually('2 ready pods of release 1', () => releaseSets(r1.release_id), (sets) => readyReplicas(sets) === 2);
    expect(await helmHistory(app.namespace, 'orders')).toMatchObject([{ revision: 1, status: 'deployed' }]);
  });

  it('puts ConfigMap, Secret, PVC, env, profile and resources in the pod as asked', async () => {
    const pods = (await d.core.listNamespacedPod({ namespace: app.namespace, labelSelector: `appserving.dev/release-id=${r1.release_id}` })).items;
    expect(pods).toHaveLength(2);
    const pod = pods[0];
    expect(pod?.metadata?.labels).toMatchObject({
      'app.kubernetes.io/managed-by': 'appserving',
      'app.kubernetes.io/name': 'orders',
      'appserving.dev/app-id': app.id,
      'appserving.dev/release-version': '1',
    });
    const container = pod?.spec?.containers[0];
    expect(container?.image).toBe(image('v1', 'a'));
    expect(await podEnv(r1.release_id)).toEqual({
      FEATURE_X: 'on',
      GREETING: 'hello',
      JAVA_TOOL_OPTIONS: '-XX:MaxRAMPercentage=75.0',
      PORT: '8080',
      SERVER_PORT: '8080',
      SPRING_PROFILES_ACTIVE: 'prod',
    });
    expect(container?.resources).toEqual({ requests: { cpu: '250m', memory: '512Mi' }, limits: { cpu: '1', memory: '512Mi' } });
    expect(container?.readinessProbe?.httpGet).toMatchObject({ path: '/actuator/health', port: 'http' });
    expect(container?.volumeMounts?.filter((m) => !m.name.startsWith('kube-api-access'))).toEqual([
      { name: 'config', mountPath: '/app/config', readOnly: true },
      { name: 'secrets', mountPath: '/app/secrets', readOnly: true },
      { name: 'data', mountPath: '/var/data' },
    ]);
    const volumes = Object.fromEntries((pod?.spec?.volumes ?? []).map((v) => [v.name, v]));
    expect(volumes.config?.configMap?.name).toBe('orders-config');
    expect(volumes.secrets?.secret?.secretName).toBe('orders-secrets');
    expect(volumes.data?.persistentVolumeClaim?.claimName).toBe('orders-data');

    const configMap = await d.core.readNamespacedConfigMap({ name: 'orders-config', namespace: app.namespace });
    expect(configMap.data).toEqual({ 'application.yml': 'greeting: v1\n' });
    const secret = await d.core.readNamespacedSecret({ name: 'orders-secrets', namespace: app.namespace });
    expect(Buffer.from(secret.data?.['db-password'] ?? '', 'base64').toString()).toBe('first-password');
    const claim = await d.core.readNamespacedPersistentVolumeClaim({ name: 'orders-data', namespace: app.namespace });
    expect(claim.spec?.resources?.requests?.storage).toBe('1Gi');
    expect(claim.metadata?.labels?.['appserving.dev/app-id']).toBe(app.id);
  });

  it('upgrades: helm revision 2 rolls out a new ReplicaSet with the new release\'s pods', async () => {
    r2 = await app.deploy({ spec: v2Spec, image: image('v2', 'b'), secrets: { 'db-password': 'second-password' } });
    expect(await d.waitForStep(r2.release_id, 'applied')).toMatchObject({ helm_revision: 2 });
    await eventually('release 2 ready and release 1 scaled down', async () => [await releaseSets(r2.release_id), await releaseSets(r1.release_id)] as const, ([now, before]) => {
      return now.length === 1 && readyReplicas(now) === 2 && before.every((rs) => (rs.spec?.replicas ?? 0) === 0);
    });
    const [rs2] = await releaseSets(r2.release_id);
    const [rs1] = await releaseSets(r1.release_id);
    expect(rs2?.metadata?.name).not.toBe(rs1?.metadata?.name);
    const template = rs2?.spec?.template?.spec?.containers[0];
    expect(template?.image).toBe(image('v2', 'b'));
    expect(template?.resources).toEqual({ requests: { cpu: '300m', memory: '640Mi' }, limits: { cpu: '300m', memory: '640Mi' } });
    expect((await podEnv(r2.release_id)).GREETING).toBe('hi');
  });

  it('a redelivered deploy command does not upgrade again: the release is already applied', async () => {
    await app.redeliver(r2);
    await d.idle();
    expect((await helmHistory(app.namespace, 'orders')).map((r) => r.revision)).toEqual([1, 2]);
    // It announces `applied` again, with the same event id (the stream keeps one copy) and the same revision.
    const announced = d.steps.filter((s) => s.release.release_id === r2.release_id);
    expect(announced.map((s) => [s.id, s.step, s.helm_revision])).toEqual([
      [`${r2.release_id}.deploy.applied`, 'applied', 2],
      [`${r2.release_id}.deploy.applied`, 'applied', 2],
    ]);
  });

  it('rolls back to release 1 as a new release: its exact image digest, config and secrets', async () => {
    // What the gateway publishes for POST /apps/{id}/rollback: release 1's spec, image with digest and secrets.
    const r3 = await app.deploy({ spec: v1Spec, image: image('v1', 'a'), secrets: v1Secrets, skipAnalysis: true });
    expect(await d.waitForStep(r3.release_id, 'applied')).toMatchObject({ helm_revision: 3 });
    await eventually('release 3 ready', () => releaseSets(r3.release_id), (sets) => readyReplicas(sets) === 2);
    const deployment = await d.apps.readNamespacedDeployment({ name: 'orders', namespace: app.namespace });
    const container = deployment.spec?.template.spec?.containers[0];
    expect(container?.image).toBe(image('v1', 'a'));
    expect(container?.resources).toEqual({ requests: { cpu: '250m', memory: '512Mi' }, limits: { cpu: '1', memory: '512Mi' } });
    expect(await podEnv(r3.release_id)).toEqual(await podEnvOfSpec());
    expect((await d.core.readNamespacedConfigMap({ name: 'orders-config', namespace: app.namespace })).data).toEqual({ 'application.yml': 'greeting: v1\n' });
    const secret = await d.core.readNamespacedSecret({ name: 'orders-secrets', namespace: app.namespace });
    expect(Buffer.from(secret.data?.['db-password'] ?? '', 'base64').toString()).toBe('first-password');
    expect(deployment.metadata?.labels?.['appserving.dev/release-id']).toBe(r3.release_id);

    async function podEnvOfSpec() {
      return { FEATURE_X: 'on', GREETING: 'hello', JAVA_TOOL_OPTIONS: '-XX:MaxRAMPercentage=75.0', PORT: '8080', SERVER_PORT: '8080', SPRING_PROFILES_ACTIVE: 'prod' };
    }
  });

  it('deletes the app: helm uninstall, and no object of the app is left', async () => {
    const latest = d.steps.filter((s) => s.release.app_id === app.id).at(-1)?.release;
    if (!latest) throw new Error('no release');
    await app.delete(latest);
    expect((await d.waitForStep(latest.release_id, 'deleted', 240_000)).reason).toMatch(/helm release uninstalled/);
    const selector = `appserving.dev/app-id=${app.id}`;
    const namespace = app.namespace;
    const left = [
      ...(await d.apps.listNamespacedDeployment({ namespace, labelSelector: selector })).items,
      ...(await d.apps.listNamespacedReplicaSet({ namespace, labelSelector: selector })).items,
      ...(await d.core.listNamespacedPod({ namespace, labelSelector: selector })).items,
      ...(await d.core.listNamespacedService({ namespace, labelSelector: selector })).items,
      ...(await d.core.listNamespacedConfigMap({ namespace, labelSelector: selector })).items,
      ...(await d.core.listNamespacedSecret({ namespace, labelSelector: selector })).items,
      ...(await d.core.listNamespacedPersistentVolumeClaim({ namespace, labelSelector: selector })).items,
      // helm's own record of the release
      ...(await d.core.listNamespacedSecret({ namespace, labelSelector: 'owner=helm,name=orders' })).items,
    ];
    expect(left.map((o) => `${o.kind ?? ''}/${o.metadata?.name}`)).toEqual([]);
    expect((await d.core.listNamespacedPod({ namespace })).items.map((p) => p.metadata?.name)).toEqual([]);
  });
});
