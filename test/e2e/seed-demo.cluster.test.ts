// The seed's demo as a user runs it, over HTTP against the whole platform (gateway, builder, deployer, watcher)
// on the local cluster: create from a jar URL, get, watch the progress live, update to v2, get, history; then a
// war, a deploy of an existing image, a build-only release and an upload from disk.
import { startPlatform, type Platform } from '@appserving/test-support/platform';
import { KubeConfig, AppsV1Api } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { makeArchive, makeJar, openEventStream, startArtifactServer, statusesIn, waitForApp, type AppView, type ArtifactServer, type ReleaseView } from './e2e-support.ts';

let platform: Platform;
let artifacts: ArtifactServer;
let project: { name: string; namespace: string };
const TEST_MS = 300_000;

beforeAll(async () => {
  artifacts = await startArtifactServer();
  // The seed's Nexus is in-house: an operator allowlists its host, or artifact_url refuses private addresses.
  platform = await startPlatform({ env: { APPSERVING_ARTIFACT_HOST_ALLOWLIST: artifacts.host } });
  project = await platform.createProject('demo');
}, 300_000);

afterAll(async () => {
  await platform?.stop();
  await artifacts?.close();
});

const explain = () => `platform log: ${platform.logFile}; last problems: ${JSON.stringify(platform.problems().slice(-5))}`;

function deployments(namespace: string) {
  const kc = new KubeConfig();
  kc.loadFromFile(process.env.APPSERVING_TEST_KUBECONFIG as string);
  return kc.makeApiClient(AppsV1Api).listNamespacedDeployment({ namespace });
}

describe('the seed demo, end to end', () => {
  it('create from a jar URL, get, watch progress, update to v2, get, history', async () => {
    const v1Path = '/repository/my-release-repo/default/petclinic/1.0/petclinic-1.0.jar';
    artifacts.put(v1Path, await makeJar('1.0'));
    // The seed's "Request params", as written, plus the project this token's apps go to.
    const created = await platform.api<{ app: AppView; release: ReleaseView }>('POST', '/apps', {
      name: 'my-petclinic',
      version: 'v1',
      target_cluster_id: 'local',
      task_type: 'all',
      artifact_url: artifacts.url(v1Path),
      port: '8080',
      resource_spec: 'medium',
      profile: 'default',
      project: project.name,
    });
    expect(created.status, JSON.stringify(created.body)).toBe(202);
    const appId = created.body.app.id;
    const stream = openEventStream(platform, appId);

    const v1 = await waitForApp(platform, appId);
    expect(v1.current_release?.status, explain()).toBe('succeeded');
    expect(v1).toMatchObject({ name: 'my-petclinic', status: 'running', app_type: 'jar', endpoint: `http://my-petclinic.${project.namespace}.svc.cluster.local:8080` });
    expect(v1.current_release?.image).toMatch(/@sha256:[a-f0-9]{64}$/);
    expect(artifacts.fetched).toContain(v1Path);

    // The live stream showed each step, in order.
    await new Promise((resolve) => setTimeout(resolve, 500));
    const steps = statusesIn(stream.events, v1.current_release?.id).map((s) => s.status);
    expect(steps).toEqual(['building', 'deploying', 'progressing', 'succeeded']);
    const types = stream.events.map((e) => e.event);
    expect(types[0]).toBe('snapshot');
    for (const type of ['dev.appserving.build.started.v1', 'dev.appserving.build.succeeded.v1', 'dev.appserving.deploy.step.v1']) expect(types).toContain(type);
    stream.close();

    const v2Path = '/repository/my-release-repo/default/petclinic/2.0/petclinic-2.0.jar';
    artifacts.put(v2Path, await makeJar('2.0'));
    const updated = await platform.api<{ release: ReleaseView }>('PATCH', `/apps/${appId}`, { version: 'v2', artifact_url: artifacts.url(v2Path) });
    expect(updated.status, JSON.stringify(updated.body)).toBe(202);
    // Fields left out keep their values.
    expect(updated.body.release.spec).toMatchObject({ port: 8080, resource_spec: 'medium', profile: 'default', app_type: 'jar' });
    const v2 = await waitForApp(platform, appId, { done: (app) => app.current_release?.version === 2 && ['succeeded', 'failed'].includes(app.current_release.status) });
    expect(v2.current_release, explain()).toMatchObject({ version: 2, version_label: 'v2', status: 'succeeded' });
    expect(v2.current_release?.image).not.toBe(v1.current_release?.image);

    const history = await platform.api<{ items: ReleaseView[] }>('GET', `/apps/${appId}/releases`);
    expect(history.body.items.map((r) => [r.version_label, r.status])).toEqual([
      ['v2', 'succeeded'],
      ['v1', 'superseded'],
    ]);
    const live = (await deployments(project.namespace)).items.find((d) => d.metadata?.name === 'my-petclinic');
    expect(live?.spec?.template.spec?.containers[0]?.image).toBe(v2.current_release?.image);
  }, TEST_MS);

  it('a war on Tomcat: the app type comes from the file name', async () => {
    artifacts.put('/libs/orders-1.4.2.war', await makeArchive({ 'WEB-INF/web.xml': '<web-app/>', 'index.jsp': 'hello' }));
    const created = await platform.api<{ app: AppView }>('POST', '/apps', { name: 'orders', artifact_url: artifacts.url('/libs/orders-1.4.2.war'), project: project.name });
    expect(created.status, JSON.stringify(created.body)).toBe(202);
    const app = await waitForApp(platform, created.body.app.id);
    expect(app.current_release?.status, explain()).toBe('succeeded');
    expect(app.app_type).toBe('war');
  }, TEST_MS);

  it('deploys an existing image (task_type deploy): no build', async () => {
    const image = platform.baseImages.jar;
    const created = await platform.api<{ app: AppView }>('POST', '/apps', { name: 'scanned', task_type: 'deploy', image_url: image, port: '8080', project: project.name });
    expect(created.status, JSON.stringify(created.body)).toBe(202);
    const appId = created.body.app.id;
    const app = await waitForApp(platform, appId);
    expect(app.current_release, explain()).toMatchObject({ status: 'succeeded', task_type: 'deploy', image });
    const timeline = await platform.api<{ items: { type: string }[] }>('GET', `/apps/${appId}/timeline`);
    expect(timeline.body.items.map((e) => e.type).filter((t) => t.includes('.build.'))).toEqual([]);
  }, TEST_MS);

  it('builds without deploying (task_type build): the release ends built, nothing runs', async () => {
    artifacts.put('/libs/batch.jar', await makeJar('batch'));
    const created = await platform.api<{ app: AppView }>('POST', '/apps', { name: 'batch', task_type: 'build', artifact_url: artifacts.url('/libs/batch.jar'), project: project.name });
    expect(created.status, JSON.stringify(created.body)).toBe(202);
    const app = await waitForApp(platform, created.body.app.id);
    expect(app.current_release, explain()).toMatchObject({ status: 'built', task_type: 'build' });
    expect(app.current_release?.image).toMatch(/@sha256:[a-f0-9]{64}$/);
    expect((await deployments(project.namespace)).items.map((d) => d.metadata?.name)).not.toContain('batch');
  }, TEST_MS);

  it('uploads a jar from disk (no Nexus) and deploys it', async () => {
    const jar = await makeJar('laptop');
    const uploaded = await fetch(`${platform.url}/artifacts?filename=laptop-app-0.1.jar`, {
      method: 'POST',
      headers: { authorization: `Bearer ${platform.adminToken}`, 'content-type': 'application/java-archive' },
      body: jar,
    });
    expect(uploaded.status).toBe(201);
    const { artifact_url: artifactUrl, sha256 } = (await uploaded.json()) as { artifact_url: string; sha256: string };
    const created = await platform.api<{ app: AppView }>('POST', '/apps', { name: 'laptop-app', artifact_url: artifactUrl, project: project.name });
    expect(created.status, JSON.stringify(created.body)).toBe(202);
    const app = await waitForApp(platform, created.body.app.id);
    expect(app.current_release, explain()).toMatchObject({ status: 'succeeded' });
    expect(app.current_release?.spec).toMatchObject({ artifact_url: `appserving-artifact://sha256/${sha256}`, app_type: 'jar' });
  }, TEST_MS);
});
