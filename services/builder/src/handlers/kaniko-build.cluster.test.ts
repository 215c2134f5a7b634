// Kaniko builds on the local cluster. kwok runs no containers: how a build Pod ends is chosen by the sim labels
// and annotations the builder is configured to put on its Pods (APPSERVING_BUILD_POD_LABELS / _ANNOTATIONS, the
// operator feature), and Kaniko's digest file is played by the termination message. Everything the builder does
// is real: the Pod, its ConfigMap and Secret, reading its status and log, tagging and checking in the registry.
import { createHash, randomBytes } from 'node:crypto';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { setTimeout as sleep } from 'node:timers/promises';
import { Readable } from 'node:stream';
import { CoreV1Api, KubeConfig, type V1Pod } from '@kubernetes/client-node';
import { DeleteCommandV1 } from '@appserving/shared';
import { setPodLogs, SIM_BEHAVIOUR_LABEL, SIM_RUN_DURATION_ANNOTATION, SIM_TERMINATION_MESSAGE_ANNOTATION } from '@appserving/test-cluster';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../adapters/registry/registry-client.ts';
import { testCluster } from '../testing/cluster.ts';
import { fakeJar, seedBaseImage, type SeededBase } from '../testing/registry-fixtures.ts';
import { baseSpec, startBuilderWorld, type BuilderWorld } from '../testing/test-builder.ts';

const cluster = testCluster();
const run = randomBytes(3).toString('hex');
const namespace = `builds-${run}`;
const registryPrefix = `${cluster.registryHost}/k-${run}`;
let world: BuilderWorld;
let client: RegistryClient;
let python: SeededBase;
let core: CoreV1Api;

beforeAll(async () => {
  client = new RegistryClient({ plainHttpHosts: [cluster.registryHost] });
  python = await seedBaseImage(client, { host: cluster.registryHost, repository: `appserving-test/python-${run}` }, { tag: '3.12-slim' });
  world = await startBuilderWorld({ kubeconfigPath: cluster.kubeconfigPath, registryHost: registryPrefix });
  const kc = new KubeConfig();
  kc.loadFromFile(cluster.kubeconfigPath);
  core = kc.makeApiClient(CoreV1Api);
}, 120_000);

afterAll(async () => {
  await world?.close();
  await client?.close();
  await core?.deleteNamespace({ name: namespace }).catch(() => {});
});

/** Settings of a builder whose Pods behave as `sim` says. */
function kanikoSettings(sim: { labels?: Record<string, string>; annotations?: Record<string, string> }, extra: Record<string, string> = {}) {
  return {
    APPSERVING_BUILD_NAMESPACE: namespace,
    APPSERVING_BASE_IMAGE_PYTHON: python.reference,
    APPSERVING_BUILDER_PUBLIC_URL: 'http://appserving-builder.appserving.svc:9113',
    APPSERVING_BUILD_POD_LABELS: JSON.stringify({ team: 'platform', ...sim.labels }),
    APPSERVING_BUILD_POD_ANNOTATIONS: JSON.stringify({ 'sidecar.istio.io/inject': 'false', ...sim.annotations }),
    ...extra,
  };
}

async function pythonApp(name: string) {
  const { appId } = await world.createApp(name);
  const bytes = fakeJar(300_000);
  const upload = await world.store.put(Readable.from([bytes]), { filename: `${name}.zip` });
  return { appId, bytes, spec: baseSpec({ app_type: 'python', artifact_url: upload.artifactUrl, port: 8000 }), sha256: upload.sha256 };
}

async function podOf(releaseId: string, timeoutMs = 30_000): Promise<V1Pod> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await core.readNamespacedPod({ name: `build-${releaseId}`, namespace });
    } catch (error) {
      if (Date.now() > deadline) throw error;
      await sleep(100);
    }
  }
}

async function podGone(releaseId: string, timeoutMs = 30_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const found = await core.readNamespacedPod({ name: `build-${releaseId}`, namespace }).then(
      () => true,
      () => false,
    );
    if (!found) return;
    await sleep(200);
  }
  throw new Error(`build Pod of ${releaseId} still there after ${timeoutMs} ms`);
}

/** An image Kaniko would have pushed: the digest the simulated Pod reports. */
async function prebuilt(app: string): Promise<string> {
  const seeded = await seedBaseImage(client, { host: cluster.registryHost, repository: `k-${run}/default/${app}` }, { tag: 'kaniko-output' });
  return seeded.digest;
}

describe('Kaniko builds', () => {
  it('runs one Pod with the right spec; its digest becomes the succeeded event and the release tags', async () => {
    const app = await pythonApp('reports');
    const digest = await prebuilt('reports');
    const builder = await world.startBuilder(
      kanikoSettings({ annotations: { [SIM_TERMINATION_MESSAGE_ANNOTATION]: `${digest}\n`, [SIM_RUN_DURATION_ANNOTATION]: '3s' } }, { APPSERVING_REGISTRY_USERNAME: 'robot', APPSERVING_REGISTRY_PASSWORD: 'pw-never-logged' }),
    );
    try {
      const ref = world.ref(app, 'reports');
      await world.build(ref, app.spec, true);
      const pod = await podOf(ref.release_id);
      expect(pod.metadata?.labels).toMatchObject({
        'app.kubernetes.io/managed-by': 'appserving',
        'app.kubernetes.io/name': 'reports',
        'app.kubernetes.io/component': 'build',
        'appserving.dev/app-id': app.appId,
        'appserving.dev/release-id': ref.release_id,
        'appserving.dev/release-version': '1',
        team: 'platform',
      });
      expect(pod.metadata?.annotations).toMatchObject({ 'sidecar.istio.io/inject': 'false', 'appserving.dev/build-method': 'kaniko' });
      expect(pod.spec?.restartPolicy).toBe('Never');
      expect(pod.spec?.automountServiceAccountToken).toBe(false);
      expect(pod.spec?.activeDeadlineSeconds).toBe(1800);
      const kaniko = pod.spec?.containers[0];
      expect(kaniko?.image).toBe('ghcr.io/osscontainertools/kaniko:v1.27.0');
      const key = pod.metadata?.annotations?.['appserving.dev/cache-key'];
      expect(kaniko?.args).toEqual([
        '--dockerfile=/build/Dockerfile',
        '--context=dir:///workspace',
        `--destination=${registryPrefix}/default/reports:v1`,
        `--destination=${registryPrefix}/default/reports:cache-${key}`,
        '--digest-file=/dev/termination-log',
        '--snapshot-mode=redo',
        '--push-retry=3',
        '--image-download-retry=3',
        `--insecure-registry=${cluster.registryHost}`,
      ]);
      expect(kaniko?.terminationMessagePolicy).toBe('FallbackToLogsOnError');
      expect(kaniko?.resources?.limits).toEqual({ cpu: '1', memory: '2Gi' });
      const fetcher = pod.spec?.initContainers?.[0];
      expect(fetcher?.args?.at(-1)).toBe(`http://appserving-builder.appserving.svc:9113/build-artifacts/${ref.release_id}/${app.sha256}`);
      expect(fetcher?.args).toContain('@/var/run/appserving/fetch/fetch-header');
      expect(fetcher?.args?.join(' ')).not.toMatch(/Bearer/);

      // Made before the Pod, then handed to it (owner), so they go when the Pod goes.
      let files = await core.readNamespacedConfigMap({ name: `build-${ref.release_id}`, namespace });
      for (let i = 0; i < 50 && !files.metadata?.ownerReferences; i++) {
        await sleep(100);
        files = await core.readNamespacedConfigMap({ name: `build-${ref.release_id}`, namespace });
      }
      expect(files.data?.Dockerfile).toContain(`FROM ${python.repo.host}/${python.repo.repository}@${python.digest}`);
      expect(files.data?.Dockerfile).toContain('ENTRYPOINT ["python", "/opt/appserving/launch.py", "run", "/app"]');
      expect(files.data?.['appserving-launch.py']).toContain('def install(archive, directory):');
      expect(files.metadata?.ownerReferences?.[0]).toMatchObject({ kind: 'Pod', uid: pod.metadata?.uid });
      const secret = await core.readNamespacedSecret({ name: `build-${ref.release_id}`, namespace });
      expect(Buffer.from(secret.data?.['fetch-header'] ?? '', 'base64').toString()).toMatch(/^Authorization: Bearer [A-Za-z0-9_-]+$/);
      // What the init container's curl does: download the artifact from the builder with the Secret's header.
      const header = Buffer.from(secret.data?.['fetch-header'] ?? '', 'base64').toString();
      const download = await fetch(`http://127.0.0.1:${builder.config.httpPort}/build-artifacts/${ref.release_id}/${app.sha256}`, { headers: { authorization: header.replace(/^Authorization: /, '') } });
      expect(download.status).toBe(200);
      expect(Buffer.from(await download.arrayBuffer()).equals(app.bytes)).toBe(true);
      const dockerConfig = JSON.parse(Buffer.from(secret.data?.['config.json'] ?? '', 'base64').toString());
      expect(Buffer.from(dockerConfig.auths[cluster.registryHost].auth, 'base64').toString()).toBe('robot:pw-never-logged');

      const result = await world.waitForResult(ref.release_id);
      expect(result.type).toBe('dev.appserving.build.succeeded.v1');
      expect(result.data).toMatchObject({ digest, reused: false, image: `${registryPrefix}/default/reports:v1@${digest}` });
      await world.waitForMessage(ref.release_id, (m) => m.type === 'dev.appserving.command.deploy.v1');
      await sleep(500);
      const phases = world.eventsOf(ref.release_id).filter((m) => m.type === 'dev.appserving.build.progress.v1').map((m) => m.data.phase);
      expect(phases).toContain('building');
      expect(world.eventsOf(ref.release_id).filter((m) => m.type === 'dev.appserving.command.deploy.v1')).toHaveLength(1);
      // The builder tagged the image Kaniko reported, after checking the registry has it.
      const tagged = await fetch(`${cluster.registryUrl}/v2/k-${run}/default/reports/manifests/v1`, { method: 'HEAD', headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' } });
      expect(tagged.headers.get('docker-content-digest')).toBe(digest);
      await podGone(ref.release_id);
      expect(await core.readNamespacedSecret({ name: `build-${ref.release_id}`, namespace }).then(() => 'still there', () => 'gone')).toBe('gone');
      expect(await core.readNamespacedConfigMap({ name: `build-${ref.release_id}`, namespace }).then(() => 'still there', () => 'gone')).toBe('gone');

      // The same artifact again: the image is reused, no Pod is made.
      const again = world.ref(app, 'reports', 2);
      await world.build(again, app.spec);
      const reused = await world.waitForResult(again.release_id);
      expect(reused.data).toMatchObject({ digest, reused: true, image: `${registryPrefix}/default/reports:v2@${digest}` });
      expect(await core.readNamespacedPod({ name: `build-${again.release_id}`, namespace }).then(() => 'made', () => 'none')).toBe('none');
    } finally {
      await builder.stop();
    }
  });

  it('an artifact_url is fetched once by the builder, under the fetch rules, and handed to the Pod from the store', async () => {
    const bytes = fakeJar(200_000);
    const server = createServer((request, response) => (request.url === '/py/app.zip' ? response.writeHead(200).end(bytes) : response.writeHead(404).end()));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const port = (server.address() as AddressInfo).port;
    const { appId } = await world.createApp('fetched');
    const digest = await prebuilt('fetched');
    const builder = await world.startBuilder(
      { ...kanikoSettings({ annotations: { [SIM_TERMINATION_MESSAGE_ANNOTATION]: digest, [SIM_RUN_DURATION_ANNOTATION]: '2s' } }), APPSERVING_ARTIFACT_HOST_ALLOWLIST: `pypi.test:${port}` },
      { resolve: async (host) => (host === 'pypi.test' ? ['127.0.0.1'] : ['93.184.215.14']) },
    );
    try {
      const ref = world.ref({ appId }, 'fetched');
      await world.build(ref, baseSpec({ app_type: 'python', artifact_url: `http://pypi.test:${port}/py/app.zip` }));
      const pod = await podOf(ref.release_id);
      const sha = createHash('sha256').update(bytes).digest('hex');
      expect(pod.spec?.initContainers?.[0]?.args?.at(-1)).toMatch(new RegExp(`/build-artifacts/${ref.release_id}/${sha}$`));
      expect((await world.store.info(sha))?.size).toBe(bytes.length);
      const result = await world.waitForResult(ref.release_id);
      expect(result.data).toMatchObject({ digest, reused: false });
      const fetched = world.eventsOf(ref.release_id).filter((m) => m.type === 'dev.appserving.build.progress.v1' && m.data.phase === 'fetching-artifact');
      expect(fetched.at(-1)?.data).toMatchObject({ done_bytes: bytes.length, total_bytes: bytes.length });
    } finally {
      await builder.stop();
      server.close();
    }
  });

  it('a digest Kaniko reports that the registry does not have fails the build', async () => {
    const app = await pythonApp('phantom');
    const missing = `sha256:${'e'.repeat(64)}`;
    const builder = await world.startBuilder(kanikoSettings({ annotations: { [SIM_TERMINATION_MESSAGE_ANNOTATION]: missing } }));
    try {
      const ref = world.ref(app, 'phantom');
      await world.build(ref, app.spec);
      const result = await world.waitForResult(ref.release_id);
      expect(result.type).toBe('dev.appserving.build.failed.v1');
      expect(result.data.reason).toBe(`Kaniko reported image ${missing}, but ${cluster.registryHost}/k-${run}/default/phantom has no such image`);
    } finally {
      await builder.stop();
    }
  });

  it('without a registry to push to, a build fails saying which setting to give', async () => {
    const app = await pythonApp('nowhere');
    const builder = await world.startBuilder({ ...kanikoSettings({}), APPSERVING_REGISTRY: '' });
    try {
      const ref = world.ref(app, 'nowhere');
      await world.build(ref, app.spec);
      const result = await world.waitForResult(ref.release_id);
      expect(result.data.reason).toMatch(/^the builder has no registry to push images to: set APPSERVING_REGISTRY/);
    } finally {
      await builder.stop();
    }
  });

  it('a failed build reports the reason and the last lines of its log, and its Pod is removed', async () => {
    const app = await pythonApp('failing');
    const ref = world.ref(app, 'failing');
    const lines = ['INFO Retrieving image manifest python', 'INFO RUN python /opt/appserving/launch.py install', 'ERROR: No matching distribution found for numpyy==9.9', 'error building image: error building stage: failed to execute command: exit status 1'];
    await setPodLogs(cluster, { namespace, pod: `build-${ref.release_id}`, lines });
    const builder = await world.startBuilder(
      kanikoSettings(
        { labels: { [SIM_BEHAVIOUR_LABEL]: 'fail' }, annotations: { [SIM_TERMINATION_MESSAGE_ANNOTATION]: 'error building image: error building stage: failed to execute command: exit status 1' } },
        { APPSERVING_BUILD_LOG_TAIL_LINES: '3' },
      ),
    );
    try {
      await world.build(ref, app.spec);
      const result = await world.waitForResult(ref.release_id);
      expect(result.type).toBe('dev.appserving.build.failed.v1');
      expect(result.data.reason).toBe('Kaniko exited with code 1 (Error): error building image: error building stage: failed to execute command: exit status 1');
      expect(result.data.log_tail).toEqual(lines.slice(-3));
      await podGone(ref.release_id);
    } finally {
      await builder.stop();
    }
  });

  it('a build past its timeout fails with the reason and its Pod is removed', async () => {
    const app = await pythonApp('slow');
    const builder = await world.startBuilder(kanikoSettings({ annotations: { [SIM_RUN_DURATION_ANNOTATION]: '10m' } }, { APPSERVING_BUILD_TIMEOUT_MS: '10000' }));
    try {
      const ref = world.ref(app, 'slow');
      await world.build(ref, app.spec);
      await podOf(ref.release_id);
      const result = await world.waitForResult(ref.release_id, 40_000);
      expect(result.type).toBe('dev.appserving.build.failed.v1');
      expect(result.data.reason).toMatch(/^the build took longer than 10 s \(it was building\); its Pod was removed$/);
      await podGone(ref.release_id);
    } finally {
      await builder.stop();
    }
  });

  it('deleting the app cancels its build: the Pod goes and the release fails with the reason, once', async () => {
    const app = await pythonApp('doomed');
    const builder = await world.startBuilder(kanikoSettings({ annotations: { [SIM_RUN_DURATION_ANNOTATION]: '10m' } }));
    try {
      const ref = world.ref(app, 'doomed');
      await world.build(ref, app.spec);
      await podOf(ref.release_id);
      // What the gateway does on DELETE /apps/{id}: the app is marked, the delete command published.
      await world.database.db.updateTable('apps').set({ status: 'deleting' }).where('id', '=', app.appId).execute();
      await world.messaging.publisher.publish(DeleteCommandV1, { id: `delete-${ref.release_id}`, appId: app.appId, data: { release: ref } });
      const result = await world.waitForResult(ref.release_id);
      expect(result.type).toBe('dev.appserving.build.failed.v1');
      expect(result.data.reason).toBe('cancelled: app deleted');
      await podGone(ref.release_id);
      await sleep(1000);
      const results = world.eventsOf(ref.release_id).filter((m) => m.type.startsWith('dev.appserving.build.') && !m.type.includes('progress') && !m.type.includes('started'));
      expect(results.map((m) => m.id)).toEqual([`${ref.release_id}.build.failed`]);
    } finally {
      await builder.stop();
    }
  });
});
