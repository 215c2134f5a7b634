import { createHash, randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { deflateRawSync, gzipSync } from 'node:zlib';
import { extract, pack } from 'tar-stream';
import type { RegistryClient} from '../adapters/registry/registry-client.ts';
import { MEDIA_TYPES, type Repo } from '../adapters/registry/registry-client.ts';

/**
 * A small synthetic base image pushed into a real registry for tests and benchmarks (the local registry has no
 * real base images and nothing may be pulled from the internet): two layers and a config that look like a JRE
 * or Tomcat image (Env with PATH, JAVA_HOME and, for Tomcat, CATALINA_HOME; an entrypoint).
 */
export interface SeededBase {
  readonly repo: Repo;
  readonly tag: string;
  readonly reference: string;
  readonly digest: string;
  readonly layerDigests: readonly string[];
}

const sha = (bytes: Uint8Array) => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

export async function tarOf(files: Record<string, Buffer>): Promise<Buffer> {
  const archive = pack();
  for (const [name, content] of Object.entries(files)) archive.entry({ name, size: content.length, mode: 0o644, mtime: new Date(1000) }, content);
  archive.finalize();
  const chunks: Buffer[] = [];
  for await (const chunk of archive as unknown as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

export async function seedBaseImage(
  client: RegistryClient,
  repo: Repo,
  options: { tag?: string; kind?: 'jre' | 'tomcat'; oci?: boolean } = {},
): Promise<SeededBase> {
  const tag = options.tag ?? 'base';
  const kind = options.kind ?? 'jre';
  const layerTars = [
    await tarOf({ 'etc/os-release': Buffer.from('ID=appserving-test\n'), 'usr/lib/seed': randomBytes(64 * 1024) }),
    await tarOf(kind === 'tomcat' ? { 'usr/local/tomcat/bin/catalina.sh': Buffer.from('#!/bin/sh\n') } : { 'opt/java/bin/java': Buffer.from('#!/bin/sh\n') }),
  ];
  const layers = layerTars.map((t) => gzipSync(t));
  const env = ['PATH=/opt/java/bin:/usr/bin:/bin', 'JAVA_HOME=/opt/java'];
  if (kind === 'tomcat') env.push('CATALINA_HOME=/usr/local/tomcat');
  const config = Buffer.from(
    JSON.stringify({
      architecture: 'amd64',
      os: 'linux',
      created: '2026-01-01T00:00:00Z',
      config: {
        Env: env,
        ...(kind === 'tomcat' ? { Cmd: ['catalina.sh', 'run'], WorkingDir: '/usr/local/tomcat', ExposedPorts: { '8080/tcp': {} } } : { Entrypoint: ['/__cacert_entrypoint.sh'] }),
      },
      rootfs: { type: 'layers', diff_ids: layerTars.map(sha) },
      history: [{ created: '2026-01-01T00:00:00Z', created_by: 'test base layer 1' }, { created: '2026-01-01T00:00:00Z', created_by: 'test base layer 2' }],
    }),
  );
  for (const blob of [...layers, config]) await client.pushBlob(repo, sha(blob), blob, blob.length);
  const oci = options.oci ?? false;
  const manifest = Buffer.from(
    JSON.stringify({
      schemaVersion: 2,
      mediaType: oci ? MEDIA_TYPES.ociManifest : MEDIA_TYPES.dockerManifest,
      config: { mediaType: oci ? MEDIA_TYPES.ociConfig : MEDIA_TYPES.dockerConfig, digest: sha(config), size: config.length },
      layers: layers.map((l) => ({ mediaType: oci ? MEDIA_TYPES.ociLayerGzip : MEDIA_TYPES.dockerLayerGzip, digest: sha(l), size: l.length })),
    }),
  );
  const digest = await client.putManifest(repo, tag, oci ? MEDIA_TYPES.ociManifest : MEDIA_TYPES.dockerManifest, manifest);
  return { repo, tag, reference: `${repo.host}/${repo.repository}:${tag}`, digest, layerDigests: layers.map(sha) };
}

/** A library jar: a real zip whose manifest names no Main-Class (not runnable with `java -jar`). */
export function libraryJar(): Buffer {
  const manifest = Buffer.from('Manifest-Version: 1.0\r\nCreated-By: Maven\r\n\r\n');
  const data = deflateRawSync(manifest);
  const name = Buffer.from('META-INF/MANIFEST.MF');
  const header = Buffer.alloc(30);
  header.writeUInt32LE(0x04034b50, 0);
  header.writeUInt16LE(20, 4);
  header.writeUInt16LE(8, 8);
  header.writeUInt32LE(data.length, 18);
  header.writeUInt32LE(manifest.length, 22);
  header.writeUInt16LE(name.length, 26);
  return Buffer.concat([header, name, data]);
}

/** A jar-like artifact: the zip local-file header, then random bytes. */
export function fakeJar(size: number): Buffer {
  const bytes = randomBytes(size);
  bytes.set([0x50, 0x4b, 0x03, 0x04], 0);
  return bytes;
}

/** The entries of a tar (from a gzip layer), name → content. */
export async function layerEntries(gzipped: Buffer): Promise<Map<string, { type: string; mode: number; content: Buffer }>> {
  const { gunzipSync } = await import('node:zlib');
  const entries = new Map<string, { type: string; mode: number; content: Buffer }>();
  const reader = extract();
  const done = new Promise<void>((resolve, reject) => {
    reader.on('entry', (header, stream, next) => {
      const chunks: Buffer[] = [];
      stream.on('data', (c: unknown) => chunks.push(c as Buffer));
      stream.on('end', () => {
        entries.set(header.name, { type: header.type ?? 'file', mode: header.mode ?? 0, content: Buffer.concat(chunks) });
        next();
      });
      stream.resume();
    });
    reader.on('finish', resolve);
    reader.on('error', reject);
  });
  Readable.from([gunzipSync(gzipped)]).pipe(reader);
  await done;
  return entries;
}
