// The builder end to end on the direct path: build commands on a real NATS server, the app read from a real
// Postgres, the artifact from the upload store or a real HTTP server, the image pushed to the real local registry.
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { RegistryClient } from '../adapters/registry/registry-client.ts';
import { testCluster } from '../testing/cluster.ts';
import { fakeJar, layerEntries, libraryJar, seedBaseImage } from '../testing/registry-fixtures.ts';
import { baseSpec, startBuilderWorld, type BuilderWorld, type RunningBuilder } from '../testing/test-builder.ts';

const cluster = testCluster();
const run = randomBytes(3).toString('hex');
let world: BuilderWorld;
let builder: RunningBuilder;

let client: RegistryClient;
let http: Server;
let httpPort: number;
const served = new Map<string, Buffer>();

beforeAll(async () => {
  client = new RegistryClient({ plainHttpHosts: [cluster.registryHost] });
  const jre = await seedBaseImage(client, { host: cluster.registryHost, repository: `appserving-test/jre-${run}` }, { tag: '21' });
  const tomcat = await seedBaseImage(client, { host: cluster.registryHost, repository: `appserving-test/tomcat-${run}` }, { tag: '10.1', kind: 'tomcat' });
  http = createServer((request, response) => {
    const body = served.get(request.url ?? '');
    if (!body) return void response.writeHead(404).end();
    response.writeHead(200, { 'content-length': body.length }).end(body);
  });
  await new Promise<void>((resolve) => http.listen(0, '127.0.0.1', resolve));
  httpPort = (http.address() as AddressInfo).port;
  world = await startBuilderWorld({ kubeconfigPath: cluster.kubeconfigPath, registryHost: `${cluster.registryHost}/t-${run}` });
  builder = await world.startBuilder(
    {
      APPSERVING_BASE_IMAGE_JAR: jre.reference,
      APPSERVING_BASE_IMAGE_WAR: tomcat.reference,
      // The test's artifact server is on loopback: allowed by name, as an operator allows an in-house Nexus.
      APPSERVING_ARTIFACT_HOST_ALLOWLIST: `artifacts.test:${httpPort}`,
    },
    { resolve: async (host) => (host === 'artifacts.test' ? ['127.0.0.1'] : ['93.184.215.14']) },
  );
}, 120_000);

afterAll(async () => {
  await world?.close();
  await client?.close();
  http?.close();
});

const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

async function registryJson(path: string) {
  const response = await fetch(`${cluster.registryUrl}${path}`, { headers: { accept: 'application/vnd.docker.distribution.manifest.v2+json' } });
  expect(response.status).toBe(200);
  return { body: (await response.json()) as Record<string, any>, digest: response.headers.get('docker-content-digest') };
}

describe('direct builds', () => {
  it('builds an uploaded jar: started, progress, succeeded with the digest, then the deploy command once', async () => {
    const { appId } = await world.createApp('orders');
    const jar = fakeJar(3 * 1024 * 1024);
    const upload = await world.store.put(Readable.from([jar]), { filename: 'orders.jar' });
    const ref = world.ref({ appId }, 'orders');
    await world.build(ref, baseSpec({ app_type: 'jar', artifact_url: upload.artifactUrl, port: 9090 }), true);
    const result = await world.waitForResult(ref.release_id);
    expect(result.type).toBe('dev.appserving.build.succeeded.v1');
    const repository = `t-${run}/default/orders`;
    expect(result.data.image).toBe(`${cluster.registryHost}/${repository}:v1@${result.data.digest}`);
    expect(result.data.reused).toBe(false);
    expect(result.id).toBe(`${ref.release_id}.build.succeeded`);

    // The deploy command follows the result; wait for it, then a little longer, to see that it comes once.
    await world.waitForMessage(ref.release_id, (m) => m.type === 'dev.appserving.command.deploy.v1');
    await new Promise((resolve) => setTimeout(resolve, 500));
    const events = world.eventsOf(ref.release_id);
    const started = events.find((m) => m.type === 'dev.appserving.build.started.v1');
    expect(started?.data.method).toBe('direct');
    expect(started?.id).toBe(`${ref.release_id}.build.started`);
    const progress = events.filter((m) => m.type === 'dev.appserving.build.progress.v1');
    expect(progress.map((p) => p.data.phase)).toEqual(expect.arrayContaining(['fetching-artifact', 'pushing']));
    expect(progress.at(-1)?.data).toMatchObject({ phase: 'pushing', done_bytes: jar.length, total_bytes: jar.length });
    expect(progress.map((p) => p.id)).toEqual(progress.map((_, i) => `${ref.release_id}.build.progress.${i + 1}`));

    const deploys = events.filter((m) => m.type === 'dev.appserving.command.deploy.v1');
    expect(deploys).toHaveLength(1);
    expect(deploys[0]).toMatchObject({ id: `${ref.release_id}.deploy`, data: { image: result.data.image, skip_analysis: false, spec: { port: 9090 } } });
    // The result comes after every progress line.
    expect(events.indexOf(result)).toBeGreaterThan(events.indexOf(progress.at(-1)!));

    const { body: manifest, digest } = await registryJson(`/v2/${repository}/manifests/v1`);
    expect(digest).toBe(result.data.digest);
    const { body: config } = await registryJson(`/v2/${repository}/blobs/${manifest.config.digest}`);
    expect(config.config.Entrypoint).toEqual(['java', '-jar', '/app/app.jar']);
    expect(config.config.ExposedPorts).toEqual({ '9090/tcp': {} });
    expect(config.config.Env).toContain('SERVER_PORT=9090');
    expect(config.config.Labels['dev.appserving.artifact.sha256']).toBe(sha256(jar));
    const layer = Buffer.from(await (await fetch(`${cluster.registryUrl}/v2/${repository}/blobs/${manifest.layers.at(-1).digest}`)).arrayBuffer());
    expect((await layerEntries(layer)).get('app/app.jar')?.content.equals(jar)).toBe(true);
  });

  it('does not rebuild the same artifact on the same base: the next release reuses the image', async () => {
    const { appId } = await world.createApp('billing');
    const jar = fakeJar(500_000);
    const upload = await world.store.put(Readable.from([jar]), { filename: 'billing.jar' });
    const first = world.ref({ appId }, 'billing', 1);
    await world.build(first, baseSpec({ app_type: 'jar', artifact_url: upload.artifactUrl }));
    const one = await world.waitForResult(first.release_id);
    expect(one.data.reused).toBe(false);

    const second = world.ref({ appId }, 'billing', 2);
    await world.build(second, baseSpec({ app_type: 'jar', artifact_url: upload.artifactUrl }));
    const two = await world.waitForResult(second.release_id);
    expect(two.type).toBe('dev.appserving.build.succeeded.v1');
    expect(two.data).toMatchObject({ reused: true, digest: one.data.digest });
    expect(two.data.image).toBe(`${cluster.registryHost}/t-${run}/default/billing:v2@${one.data.digest}`);
    expect(world.eventsOf(second.release_id).some((m) => m.type === 'dev.appserving.build.progress.v1' && m.data.phase === 'pushing')).toBe(false);
    const { digest } = await registryJson(`/v2/t-${run}/default/billing/manifests/v2`);
    expect(digest).toBe(one.data.digest);
    const metrics = await (await fetch(`http://127.0.0.1:${builder.config.httpPort}/metrics`)).text();
    expect(metrics).toMatch(/appserving_builds_total\{[^}]*method="direct",outcome="reused"[^}]*\} [1-9]/);
  });

  it('fetches a war from its artifact_url under the fetch rules and puts it under Tomcat as ROOT.war', async () => {
    const { appId } = await world.createApp('shop');
    const war = fakeJar(700_000);
    served.set('/libs/shop-1.0.war', war);
    const ref = world.ref({ appId }, 'shop');
    await world.build(ref, baseSpec({ app_type: 'war', artifact_url: `http://artifacts.test:${httpPort}/libs/shop-1.0.war`, artifact_sha256: sha256(war) }));
    const result = await world.waitForResult(ref.release_id);
    expect(result.type).toBe('dev.appserving.build.succeeded.v1');
    const { body: manifest } = await registryJson(`/v2/t-${run}/default/shop/manifests/v1`);
    const { body: config } = await registryJson(`/v2/t-${run}/default/shop/blobs/${manifest.config.digest}`);
    expect(config.config.Cmd).toEqual(['catalina.sh', 'run']);
    const layer = Buffer.from(await (await fetch(`${cluster.registryUrl}/v2/t-${run}/default/shop/blobs/${manifest.layers.at(-1).digest}`)).arrayBuffer());
    const entries = await layerEntries(layer);
    expect([...entries.keys()]).toEqual(['usr/local/tomcat/webapps/ROOT.war']);
    expect(entries.get('usr/local/tomcat/webapps/ROOT.war')?.content.equals(war)).toBe(true);
  });

  it('fails the release with a reason a person can act on: checksum mismatch, private address, missing upload', async () => {
    const { appId } = await world.createApp('broken');
    served.set('/libs/broken.jar', fakeJar(10_000));
    const mismatch = world.ref({ appId }, 'broken', 1);
    await world.build(mismatch, baseSpec({ app_type: 'jar', artifact_url: `http://artifacts.test:${httpPort}/libs/broken.jar`, artifact_sha256: 'f'.repeat(64) }));
    const one = await world.waitForResult(mismatch.release_id);
    expect(one.type).toBe('dev.appserving.build.failed.v1');
    expect(one.data.reason).toMatch(/has sha256 [0-9a-f]{64}, but the release expects f{64}/);

    const metadata = world.ref({ appId }, 'broken', 2);
    await world.build(metadata, baseSpec({ app_type: 'jar', artifact_url: 'http://169.254.169.254/latest/meta-data/app.jar' }));
    const two = await world.waitForResult(metadata.release_id);
    expect(two.data.reason).toMatch(/cloud metadata address/);

    const missing = world.ref({ appId }, 'broken', 3);
    await world.build(missing, baseSpec({ app_type: 'jar', artifact_url: `appserving-artifact://sha256/${'0'.repeat(64)}` }));
    const three = await world.waitForResult(missing.release_id);
    expect(three.data.reason).toMatch(/no uploaded artifact has sha256 0{64}/);

    const library = await world.store.put(Readable.from([libraryJar()]), { filename: 'commons.jar' });
    const notRunnable = world.ref({ appId }, 'broken', 4);
    await world.build(notRunnable, baseSpec({ app_type: 'jar', artifact_url: library.artifactUrl }));
    const four = await world.waitForResult(notRunnable.release_id);
    expect(four.data.reason).toMatch(/^the artifact is not an executable jar: its META-INF\/MANIFEST.MF names no Main-Class/);
  });
});
