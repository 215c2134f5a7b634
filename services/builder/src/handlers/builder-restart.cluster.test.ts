// Killing the builder process (SIGKILL) in the middle of a Kaniko build and starting another: the command comes
// back to the new process, which adopts the running Pod. Exactly one Pod, exactly one result.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { Readable } from 'node:stream';
import { fileURLToPath } from 'node:url';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { freePort } from '@appserving/shared/testing';
import { SIM_RUN_DURATION_ANNOTATION, SIM_TERMINATION_MESSAGE_ANNOTATION } from '@appserving/test-cluster';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../adapters/registry/registry-client.ts';
import { testCluster } from '../testing/cluster.ts';
import { fakeJar, seedBaseImage } from '../testing/registry-fixtures.ts';
import { baseSpec, startBuilderWorld, type BuilderWorld } from '../testing/test-builder.ts';

const cluster = testCluster();
const run = randomBytes(3).toString('hex');
const namespace = `builds-${run}`;
const main = fileURLToPath(new URL('../main.ts', import.meta.url));
let world: BuilderWorld;
let client: RegistryClient;
let core: CoreV1Api;
const children = new Set<ChildProcess>();

beforeAll(async () => {
  client = new RegistryClient({ plainHttpHosts: [cluster.registryHost] });
  world = await startBuilderWorld({ kubeconfigPath: cluster.kubeconfigPath, registryHost: `${cluster.registryHost}/r-${run}` });
  const kc = new KubeConfig();
  kc.loadFromFile(cluster.kubeconfigPath);
  core = kc.makeApiClient(CoreV1Api);
}, 120_000);

afterAll(async () => {
  for (const child of children) child.kill('SIGKILL');
  await world?.close();
  await client?.close();
  await core?.deleteNamespace({ name: namespace }).catch(() => {});
});

async function startBuilderProcess(env: Record<string, string>): Promise<ChildProcess> {
  const port = await freePort();
  const child = spawn(process.execPath, [main], { env: { ...process.env, ...env, APPSERVING_BUILDER_PORT: String(port) }, stdio: ['ignore', 'ignore', 'pipe'] });
  children.add(child);
  let stderr = '';
  child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
  const deadline = Date.now() + 30_000;
  for (;;) {
    const ready = await fetch(`http://127.0.0.1:${port}/readyz`).then(
      (r) => r.status === 200,
      () => false,
    );
    if (ready) return child;
    if (child.exitCode !== null || Date.now() > deadline) throw new Error(`builder process did not become ready: ${stderr}`);
    await sleep(200);
  }
}

describe('builder killed mid-build', () => {
  it('a restarted builder adopts the Pod: one Pod, one succeeded event', { timeout: 180_000 }, async () => {
    const python = await seedBaseImage(client, { host: cluster.registryHost, repository: `appserving-test/py-${run}` }, { tag: '3.12' });
    const digest = (await seedBaseImage(client, { host: cluster.registryHost, repository: `r-${run}/default/survivor` }, { tag: 'kaniko-output' })).digest;
    const { appId } = await world.createApp('survivor');
    const upload = await world.store.put(Readable.from([fakeJar(100_000)]), { filename: 'survivor.zip' });
    const env = world.env({
      APPSERVING_BUILD_NAMESPACE: namespace,
      APPSERVING_BASE_IMAGE_PYTHON: python.reference,
      APPSERVING_ACK_WAIT_MS: '2000',
      APPSERVING_BUILD_POD_ANNOTATIONS: JSON.stringify({ [SIM_TERMINATION_MESSAGE_ANNOTATION]: digest, [SIM_RUN_DURATION_ANNOTATION]: '20s' }),
    });

    const first = await startBuilderProcess(env);
    const ref = world.ref({ appId }, 'survivor');
    await world.build(ref, baseSpec({ app_type: 'python', artifact_url: upload.artifactUrl }));

    // Watch the Pod for the whole test: every uid it ever had.
    const uids = new Set<string>();
    let watching = true;
    const watcher = (async () => {
      while (watching) {
        const pod = await core.readNamespacedPod({ name: `build-${ref.release_id}`, namespace }).catch(() => undefined);
        if (pod?.metadata?.uid) uids.add(pod.metadata.uid);
        await sleep(100);
      }
    })();
    const deadline = Date.now() + 30_000;
    while (uids.size === 0 && Date.now() < deadline) await sleep(100);
    expect(uids.size).toBe(1);

    first.kill('SIGKILL');
    await new Promise((resolve) => first.once('exit', resolve));
    const second = await startBuilderProcess(env);
    try {
      const result = await world.waitForResult(ref.release_id, 60_000);
      expect(result.type).toBe('dev.appserving.build.succeeded.v1');
      expect(result.data.digest).toBe(digest);
      await sleep(1500);
      watching = false;
      await watcher;
      expect(uids.size).toBe(1);
      const results = world.eventsOf(ref.release_id).filter((m) => m.type === 'dev.appserving.build.succeeded.v1' || m.type === 'dev.appserving.build.failed.v1');
      expect(results).toHaveLength(1);
      expect(world.eventsOf(ref.release_id).filter((m) => m.type === 'dev.appserving.build.started.v1')).toHaveLength(1);
      // The restarted builder says it adopted the build, in a new line (ids from 1001 on), not a repeat the stream drops.
      const progress = world.eventsOf(ref.release_id).filter((m) => m.type === 'dev.appserving.build.progress.v1');
      expect(progress.some((m) => Number(m.id.split('.').at(-1)) < 1000)).toBe(true);
      expect(progress.find((m) => m.id === `${ref.release_id}.build.progress.1001`)?.data.message).toBe('the builder was restarted; following the build Pod already running');
    } finally {
      watching = false;
      second.kill('SIGTERM');
      await new Promise((resolve) => second.once('exit', resolve));
    }
  });
});
