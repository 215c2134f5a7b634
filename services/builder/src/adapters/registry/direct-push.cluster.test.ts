// The direct path against the real local registry (Debian's docker-registry 2.8): push a jar as a layer on a
// seeded base image, then pull the manifest, the config and the layer back the way a container runtime would.
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { testCluster } from '../../testing/cluster.ts';
import { fakeJar, layerEntries, seedBaseImage, type SeededBase } from '../../testing/registry-fixtures.ts';
import { resolveBaseImage } from './base-image.ts';
import { pushDirectImage, type DirectImageSpec } from './direct-push.ts';
import { parseImageRef } from './image-ref.ts';
import { MEDIA_TYPES, RegistryClient } from './registry-client.ts';

const cluster = testCluster();
const host = cluster.registryHost;
const run = randomBytes(3).toString('hex');
let client: RegistryClient;
let base: SeededBase;

beforeAll(async () => {
  // `localhost:<port>` is the same registry under another name: to the builder, a second registry (for the copy path).
  const port = host.split(':')[1];
  client = new RegistryClient({ plainHttpHosts: [host, `localhost:${port}`] });
  base = await seedBaseImage(client, { host, repository: `appserving-test/base-${run}` }, { tag: 'jre' });
});
afterAll(async () => {
  await client?.close();
});

async function getJson(path: string, accept?: string) {
  const response = await fetch(`${cluster.registryUrl}${path}`, { headers: accept ? { accept } : {} });
  expect(response.status).toBe(200);
  return { json: (await response.json()) as Record<string, any>, headers: response.headers };
}

function spec(repository: string, jar: Buffer, resolved: Awaited<ReturnType<typeof resolveBaseImage>>, mirror = 'appserving-test/mirror'): DirectImageSpec {
  return {
    base: resolved,
    target: { host, repository },
    tags: ['v1', 'cache-0123456789abcdef'],
    file: { path: 'app/app.jar', size: jar.length, open: () => Readable.from([jar]) },
    directories: ['app'],
    image: {
      entrypoint: ['java', '-jar', '/app/app.jar'],
      workingDir: '/app',
      env: { SERVER_PORT: '9090' },
      port: 9090,
      labels: { 'org.opencontainers.image.title': 'orders' },
    },
    mirrorRepository: mirror,
    createdBy: 'AppServing: app.jar',
  };
}

describe('direct push to the local registry', () => {
  it('pushes a jar as one layer on the base: manifest, config and layer read back as a runtime sees them', async () => {
    const resolved = await resolveBaseImage(client, parseImageRef(base.reference), { os: 'linux', architecture: 'amd64' });
    expect(resolved.digest).toBe(base.digest);
    const jar = fakeJar(1024 * 1024 + 17);
    const repository = `appserving-test/default/orders-${run}`;
    const progress: number[] = [];
    const result = await pushDirectImage(client, spec(repository, jar, resolved), { onProgress: (done) => progress.push(done) });
    expect(result.baseLayers).toEqual({ present: 0, mounted: 2, copied: 0 });
    expect(progress.at(-1)).toBe(jar.length);

    const { json: manifest, headers } = await getJson(`/v2/${repository}/manifests/v1`, MEDIA_TYPES.dockerManifest);
    expect(headers.get('docker-content-digest')).toBe(result.digest);
    expect(manifest.mediaType).toBe(MEDIA_TYPES.dockerManifest);
    expect(manifest.layers.map((l: { digest: string }) => l.digest)).toEqual([...base.layerDigests, result.appLayer.digest]);
    expect(manifest.layers[2].mediaType).toBe(MEDIA_TYPES.dockerLayerGzip);
    const byCacheTag = await getJson(`/v2/${repository}/manifests/cache-0123456789abcdef`, MEDIA_TYPES.dockerManifest);
    expect(byCacheTag.headers.get('docker-content-digest')).toBe(result.digest);

    const { json: config } = await getJson(`/v2/${repository}/blobs/${manifest.config.digest}`);
    expect(config.config.Entrypoint).toEqual(['java', '-jar', '/app/app.jar']);
    expect(config.config.Cmd).toBeNull();
    expect(config.config.WorkingDir).toBe('/app');
    expect(config.config.ExposedPorts).toEqual({ '9090/tcp': {} });
    expect(config.config.Env).toEqual(['PATH=/opt/java/bin:/usr/bin:/bin', 'JAVA_HOME=/opt/java', 'SERVER_PORT=9090']);
    expect(config.config.Labels).toEqual({ 'org.opencontainers.image.title': 'orders' });
    expect(config.rootfs.diff_ids).toHaveLength(3);
    expect(config.rootfs.diff_ids[2]).toBe(result.appLayer.diffId);

    const layer = Buffer.from(await (await fetch(`${cluster.registryUrl}/v2/${repository}/blobs/${result.appLayer.digest}`)).arrayBuffer());
    const entries = await layerEntries(layer);
    expect([...entries.keys()]).toEqual(['app/', 'app/app.jar']);
    expect(entries.get('app/app.jar')?.mode).toBe(0o644);
    expect(entries.get('app/app.jar')?.content.equals(jar)).toBe(true);
  });

  it('is reproducible: the same jar on the same base gives the same digest, and finds its base layers present', async () => {
    const resolved = await resolveBaseImage(client, parseImageRef(base.reference), { os: 'linux', architecture: 'amd64' });
    const jar = fakeJar(200_000);
    const repository = `appserving-test/default/again-${run}`;
    const first = await pushDirectImage(client, spec(repository, jar, resolved));
    const second = await pushDirectImage(client, spec(repository, jar, resolved));
    expect(second.digest).toBe(first.digest);
    expect(second.baseLayers).toEqual({ present: 2, mounted: 0, copied: 0 });
  });

  it('copies the layers of a base from another registry once into a mirror repository, then mounts them from there', async () => {
    const port = host.split(':')[1];
    // The base seen through a second registry name: its layers must come over the wire, not by a mount.
    const otherBase = await seedBaseImage(client, { host: `localhost:${port}`, repository: `appserving-test/elsewhere-${run}` }, { tag: 'jre', oci: true });
    const resolved = await resolveBaseImage(client, parseImageRef(otherBase.reference), { os: 'linux', architecture: 'amd64' });
    expect(resolved.mediaType).toBe(MEDIA_TYPES.ociManifest);
    const mirror = `appserving-test/mirror-${run}`;
    const copies: string[] = [];
    const first = await pushDirectImage(client, spec(`appserving-test/one-${run}`, fakeJar(50_000), resolved, mirror), { onBaseLayerCopy: (layer, into) => copies.push(`${layer.digest} -> ${into.repository}`) });
    expect(first.baseLayers).toEqual({ present: 0, mounted: 2, copied: 2 });
    expect(copies.sort()).toEqual(otherBase.layerDigests.map((d) => `${d} -> ${mirror}`).sort());
    const second = await pushDirectImage(client, spec(`appserving-test/two-${run}`, fakeJar(50_000), resolved, mirror));
    expect(second.baseLayers).toEqual({ present: 0, mounted: 2, copied: 0 });
    // The mirror holds the base manifest, so its layers stay referenced.
    const mirrored = await fetch(`${cluster.registryUrl}/v2/${mirror}/manifests/${otherBase.digest}`, { method: 'HEAD', headers: { accept: MEDIA_TYPES.ociManifest } });
    expect(mirrored.status).toBe(200);
    const { json: manifest } = await getJson(`/v2/appserving-test/two-${run}/manifests/v1`, MEDIA_TYPES.ociManifest);
    expect(manifest.layers[2].mediaType).toBe(MEDIA_TYPES.ociLayerGzip);
  });
});
