import { createHash } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { pack } from 'tar-stream';

/**
 * Small synthetic base images (a JRE, Tomcat, Python look-alike) pushed into the local test registry over the
 * OCI distribution API, because nothing may be pulled from the internet here and the simulated cluster never
 * runs an image. Each has the config a real one has where the builder looks (Env with PATH and JAVA_HOME or
 * CATALINA_HOME, an entrypoint or command, a working directory). Pushing is idempotent: the same bytes every
 * time, and blobs already there are not sent again.
 */
export interface BaseImages {
  jar: string;
  war: string;
  python: string;
}

const DOCKER_MANIFEST = 'application/vnd.docker.distribution.manifest.v2+json';
const sha256 = (bytes: Uint8Array) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

const kinds = {
  jar: {
    repository: 'appserving-test/base-jre',
    files: { 'opt/java/bin/java': '#!/bin/sh\necho simulated java "$@"\n' },
    config: { Env: ['PATH=/opt/java/bin:/usr/local/bin:/usr/bin:/bin', 'JAVA_HOME=/opt/java'], Entrypoint: ['/__cacert_entrypoint.sh'] },
  },
  war: {
    repository: 'appserving-test/base-tomcat',
    files: { 'usr/local/tomcat/bin/catalina.sh': '#!/bin/sh\necho simulated tomcat\n', 'opt/java/bin/java': '#!/bin/sh\n' },
    config: {
      Env: ['PATH=/usr/local/tomcat/bin:/opt/java/bin:/usr/bin:/bin', 'JAVA_HOME=/opt/java', 'CATALINA_HOME=/usr/local/tomcat'],
      Cmd: ['catalina.sh', 'run'],
      WorkingDir: '/usr/local/tomcat',
      ExposedPorts: { '8080/tcp': {} },
    },
  },
  python: {
    repository: 'appserving-test/base-python',
    files: { 'usr/local/bin/python3': '#!/bin/sh\necho simulated python "$@"\n' },
    config: { Env: ['PATH=/usr/local/bin:/usr/bin:/bin', 'PYTHON_VERSION=3.12.0'], Cmd: ['python3'] },
  },
} as const;

export async function seedBaseImages(registryHost: string, tag = '1'): Promise<BaseImages> {
  const out: Partial<Record<keyof BaseImages, string>> = {};
  for (const [kind, image] of Object.entries(kinds) as [keyof BaseImages, (typeof kinds)[keyof BaseImages]][]) {
    const layerTar = await tarOf(image.files);
    const layer = gzipSync(layerTar, { level: 9 });
    // gzip output carries no time when none is given to zlib, so the bytes (and digests) are stable.
    const config = Buffer.from(
      JSON.stringify({
        architecture: 'amd64',
        os: 'linux',
        created: '2026-01-01T00:00:00Z',
        config: image.config,
        rootfs: { type: 'layers', diff_ids: [sha256(layerTar)] },
        history: [{ created: '2026-01-01T00:00:00Z', created_by: `appserving test base image (${kind})` }],
      }),
    );
    const registry = `http://${registryHost}`;
    for (const blob of [layer, config]) await pushBlob(registry, image.repository, blob);
    const manifest = Buffer.from(
      JSON.stringify({
        schemaVersion: 2,
        mediaType: DOCKER_MANIFEST,
        config: { mediaType: 'application/vnd.docker.container.image.v1+json', digest: sha256(config), size: config.length },
        layers: [{ mediaType: 'application/vnd.docker.image.rootfs.diff.tar.gzip', digest: sha256(layer), size: layer.length }],
      }),
    );
    const response = await fetch(`${registry}/v2/${image.repository}/manifests/${tag}`, { method: 'PUT', headers: { 'content-type': DOCKER_MANIFEST }, body: manifest });
    if (response.status !== 201) throw new Error(`registry ${registryHost}: manifest of ${image.repository}:${tag} refused (${response.status}: ${await response.text()})`);
    out[kind] = `${registryHost}/${image.repository}:${tag}`;
  }
  return out as BaseImages;
}

async function pushBlob(registry: string, repository: string, blob: Buffer): Promise<void> {
  const digest = sha256(blob);
  const head = await fetch(`${registry}/v2/${repository}/blobs/${digest}`, { method: 'HEAD' });
  if (head.status === 200) return;
  const start = await fetch(`${registry}/v2/${repository}/blobs/uploads/`, { method: 'POST' });
  const location = start.headers.get('location');
  if (start.status !== 202 || !location) throw new Error(`registry: starting an upload to ${repository} answered ${start.status}`);
  const url = new URL(location, registry);
  url.searchParams.set('digest', digest);
  const put = await fetch(url, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: blob });
  if (put.status !== 201) throw new Error(`registry: blob ${digest} of ${repository} refused (${put.status}: ${await put.text()})`);
}

async function tarOf(files: Record<string, string>): Promise<Buffer> {
  const archive = pack();
  for (const [name, content] of Object.entries(files)) archive.entry({ name, mode: 0o755, mtime: new Date(0) }, content);
  archive.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of archive as unknown as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}
