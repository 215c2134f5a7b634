// After the first deploy, as a user lives with an app: a failing release explained in GET /apps/{id} and on the
// live stream, a rollback to the exact earlier release, and a delete that leaves nothing of the app behind.
import { setNamespaceLogs } from '@appserving/test-cluster';
import type {} from '@appserving/test-cluster/global-setup';
import { startPlatform, type Platform } from '@appserving/test-support/platform';
import { CustomObjectsApi, KubeConfig, AppsV1Api, CoreV1Api } from '@kubernetes/client-node';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, inject, it } from 'vitest';
import { eventually, makeJar, openEventStream, startArtifactServer, statusesIn, waitForApp, type AppView, type ArtifactServer, type ReleaseView } from './e2e-support.ts';

const cluster = inject('appservingCluster');
let platform: Platform;
let artifacts: ArtifactServer;
let project: { name: string; namespace: string };
const TEST_MS = 300_000;

const kc = new KubeConfig();
kc.loadFromFile(cluster.kubeconfigPath);
const apps = kc.makeApiClient(AppsV1Api);
const core = kc.makeApiClient(CoreV1Api);
const custom = kc.makeApiClient(CustomObjectsApi);

beforeAll(async () => {
  artifacts = await startArtifactServer();
  platform = await startPlatform({ env: { APPSERVING_ARTIFACT_HOST_ALLOWLIST: artifacts.host } });
  project = await platform.createProject('life');
}, 300_000);

afterAll(async () => {
  await platform?.stop();
  await artifacts?.close();
});

const explain = () => `platform log: ${platform.logFile}; last problems: ${JSON.stringify(platform.problems().slice(-5))}`;

async function create(name: string, body: Record<string, unknown>): Promise<string> {
  const created = await platform.api<{ app: AppView }>('POST', '/apps', { name, project: project.name, ...body });
  expect(created.status, JSON.stringify(created.body)).toBe(202);
  return created.body.app.id;
}

describe('living with an app', () => {
  it('a crashing app fails with its diagnosis (exit code, last log lines, hint) in GET /apps/{id} and on the live stream', async () => {
    const javaCrash = ['Starting PetClinicApplication using Java 21', 'APPLICATION FAILED TO START', 'Caused by: java.net.BindException: Address already in use'];
    await setNamespaceLogs(cluster, { name: `e2e-logs-${project.namespace}`, namespaces: [project.namespace], lines: javaCrash });
    artifacts.put('/libs/crashy.jar', await makeJar('crashy'));
    const appId = await create('crashy', { artifact_url: artifacts.url('/libs/crashy.jar'), env: { SIM_BEHAVIOUR: 'crashloop', SIM_EXIT_CODE: '3' } });
    const stream = openEventStream(platform, appId);
    const app = await waitForApp(platform, appId);
    stream.close();
    const release = app.current_release as ReleaseView;
    expect(release.status, explain()).toBe('failed');
    expect(release.diagnosis?.code).toBe('crash-loop');
    expect(release.diagnosis?.summary).toMatch(/exit.*\b3\b/i);
    expect(JSON.stringify(release.diagnosis?.evidence)).toContain('Address already in use');
    expect(release.diagnosis?.hint.length).toBeGreaterThan(20);
    expect(release.status_reason).toBeTruthy();
    expect(app.status).toBe('failed');
    // The stream carried the same diagnosis with the status change.
    const last = statusesIn(stream.events, release.id).at(-1);
    expect(last).toMatchObject({ status: 'failed', diagnosis: 'crash-loop' });
  }, TEST_MS);

  it('rolls back to an earlier release: its exact image digest and config, as a new release', async () => {
    artifacts.put('/libs/shop-1.jar', await makeJar('shop 1'));
    artifacts.put('/libs/shop-2.jar', await makeJar('shop 2'));
    const appId = await create('shop', { artifact_url: artifacts.url('/libs/shop-1.jar'), env: { GREETING: 'one' }, config: { 'application.yml': 'greeting: one\n' }, secrets: { 'db.password': 's3cret-one' } });
    const v1 = (await waitForApp(platform, appId)).current_release as ReleaseView;
    expect(v1.status, explain()).toBe('succeeded');
    expect((await platform.api('PATCH', `/apps/${appId}`, { artifact_url: artifacts.url('/libs/shop-2.jar'), env: { GREETING: 'two' }, config: { 'application.yml': 'greeting: two\n' }, secrets: { 'db.password': 's3cret-two' } })).status).toBe(202);
    const v2 = (await waitForApp(platform, appId, { done: (a) => a.current_release?.version === 2 && a.current_release.status !== 'pending' && ['succeeded', 'failed'].includes(a.current_release.status) })).current_release as ReleaseView;
    expect(v2.status, explain()).toBe('succeeded');

    const rollback = await platform.api<{ release: ReleaseView }>('POST', `/apps/${appId}/rollback`, { to_version: 1, skip_analysis: true });
    expect(rollback.status, JSON.stringify(rollback.body)).toBe(202);
    const v3 = (await waitForApp(platform, appId, { done: (a) => a.current_release?.version === 3 && ['succeeded', 'failed'].includes(a.current_release.status) })).current_release as ReleaseView;
    expect(v3, explain()).toMatchObject({ status: 'succeeded', task_type: 'deploy', image: v1.image });
    expect(v3.spec).toMatchObject({ env: { GREETING: 'one' }, config: { 'application.yml': 'greeting: one\n' } });

    // On the cluster: v1's image, env, config file and secret.
    const deployment = await apps.readNamespacedDeployment({ name: 'shop', namespace: project.namespace });
    const container = deployment.spec?.template.spec?.containers[0];
    expect(container?.image).toBe(v1.image);
    expect(container?.env).toContainEqual({ name: 'GREETING', value: 'one' });
    const configMaps = (await core.listNamespacedConfigMap({ namespace: project.namespace, labelSelector: `appserving.dev/app-id=${appId}` })).items;
    expect(configMaps.flatMap((c) => Object.values(c.data ?? {}))).toContain('greeting: one\n');
    const secrets = (await core.listNamespacedSecret({ namespace: project.namespace, labelSelector: `appserving.dev/app-id=${appId}` })).items;
    expect(secrets.flatMap((s) => Object.values(s.data ?? {}).map((v) => Buffer.from(v, 'base64').toString()))).toContain('s3cret-one');

    const history = await platform.api<{ items: ReleaseView[] }>('GET', `/apps/${appId}/releases`);
    expect(history.body.items.map((r) => [r.version, r.status])).toEqual([
      [3, 'succeeded'],
      [2, 'rolled-back'],
      [1, 'superseded'],
    ]);
  }, TEST_MS);

  it('deletes an app: nothing of it is left on the cluster, its history is kept', async () => {
    artifacts.put('/libs/gone.jar', await makeJar('gone'));
    // The local cluster provisions no storage: a volume is bound to a PersistentVolume made here, as an operator
    // without a provisioner would (statically). Without it the release fails as unschedulable, naming the claim.
    const pv = `e2e-${project.namespace}-gone`;
    await core.createPersistentVolume({
      body: { metadata: { name: pv }, spec: { storageClassName: '', capacity: { storage: '1Gi' }, accessModes: ['ReadWriteOnce'], hostPath: { path: `/tmp/${pv}` }, persistentVolumeReclaimPolicy: 'Delete' } },
    });
    const appId = await create('gone', { artifact_url: artifacts.url('/libs/gone.jar'), volumes: [{ name: 'data', mount_path: '/data', size: '1Gi' }], config: { 'app.properties': 'x=1\n' }, secrets: { token: 't' } });
    expect((await waitForApp(platform, appId)).current_release?.status, explain()).toBe('succeeded');
    const selector = `appserving.dev/app-id=${appId}`;
    expect((await core.listNamespacedPersistentVolumeClaim({ namespace: project.namespace, labelSelector: selector })).items.length).toBe(1);

    const deleted = await platform.api('DELETE', `/apps/${appId}`);
    expect(deleted.status, JSON.stringify(deleted.body)).toBe(202);
    await eventually('the app deleted', async () => ((await platform.api('GET', `/apps/${appId}`)).status === 404 ? true : undefined), 120_000);

    const leftovers = async () => {
      const ns = project.namespace;
      const lists = await Promise.all([
        apps.listNamespacedDeployment({ namespace: ns, labelSelector: selector }),
        apps.listNamespacedReplicaSet({ namespace: ns, labelSelector: selector }),
        core.listNamespacedPod({ namespace: ns, labelSelector: selector }),
        core.listNamespacedService({ namespace: ns, labelSelector: selector }),
        core.listNamespacedConfigMap({ namespace: ns, labelSelector: selector }),
        core.listNamespacedSecret({ namespace: ns, labelSelector: selector }),
        core.listNamespacedPersistentVolumeClaim({ namespace: ns, labelSelector: selector }),
        custom.listNamespacedCustomObject({ group: 'flagger.app', version: 'v1beta1', namespace: ns, plural: 'canaries', labelSelector: selector }) as Promise<{ items: unknown[] }>,
      ]);
      const helmSecrets = (await core.listNamespacedSecret({ namespace: ns, labelSelector: 'owner=helm,name=gone' })).items;
      return lists.reduce((n, list) => n + list.items.length, 0) + helmSecrets.length;
    };
    await eventually('no object of the app left', async () => ((await leftovers()) === 0 ? true : undefined), 60_000);

    await core.deletePersistentVolume({ name: pv }).catch(() => undefined);
    // The history stays in the database.
    const client = new pg.Client({ connectionString: platform.databaseUrl });
    await client.connect();
    try {
      const { rows } = await client.query<{ status: string; deleted_at: Date | null; releases: string }>(
        'select a.status, a.deleted_at, (select count(*) from releases r where r.app_id = a.id)::text as releases from apps a where a.id = $1',
        [appId],
      );
      expect(rows[0]).toMatchObject({ status: 'deleted', releases: '1' });
      expect(rows[0]?.deleted_at).toBeInstanceOf(Date);
    } finally {
      await client.end();
    }
  }, TEST_MS);
});
