import { createHash, randomBytes } from 'node:crypto';
import { gzipSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { remoteWrite } from '../src/index.ts';
import { eventually, kube } from './helpers.ts';

const { cluster } = kube();

describe('Prometheus', () => {
  it('returns the data a test wrote through remote write', async () => {
    const run = randomBytes(4).toString('hex');
    await remoteWrite(cluster.prometheusUrl, [
      { labels: { __name__: 'appserving_test_requests_total', run, code: '200' }, samples: [{ value: 42.5 }] },
      { labels: { __name__: 'appserving_test_requests_total', run, code: '500' }, samples: [{ value: 7 }] },
    ]);
    const query = `sum by (code) (appserving_test_requests_total{run="${run}"})`;
    interface QueryResult { status: string; data: { result: { metric: Record<string, string>; value: [number, string] }[] } }
    const body = await eventually(
      'query result',
      async () => (await (await fetch(`${cluster.prometheusUrl}/api/v1/query?query=${encodeURIComponent(query)}`)).json()) as QueryResult,
      (r) => r.data.result.length === 2,
    );
    expect(body.status).toBe('success');
    const byCode = Object.fromEntries(body.data.result.map((r) => [r.metric.code, r.value[1]]));
    expect(byCode).toEqual({ '200': '42.5', '500': '7' });
  });
});

/** A one-file tar archive (ustar), so the pushed layer is a real image layer. */
function tar(name: string, content: Buffer): Buffer {
  const header = Buffer.alloc(512);
  header.write(name, 0, 'utf8');
  header.write('0000644\0', 100);
  header.write('0000000\0', 108);
  header.write('0000000\0', 116);
  header.write(content.length.toString(8).padStart(11, '0') + '\0', 124);
  header.write('00000000000\0', 136);
  header.write('        ', 148);
  header.write('0', 156);
  header.write('ustar\0' + '00', 257);
  const sum = header.reduce((a, b) => a + b, 0);
  header.write(sum.toString(8).padStart(6, '0') + '\0 ', 148);
  const pad = Buffer.alloc((512 - (content.length % 512)) % 512);
  return Buffer.concat([header, content, pad, Buffer.alloc(1024)]);
}

const sha256 = (b: Buffer | string) => `sha256:${createHash('sha256').update(b).digest('hex')}`;

async function pushBlob(repo: string, blob: Buffer): Promise<string> {
  const digest = sha256(blob);
  const start = await fetch(`${cluster.registryUrl}/v2/${repo}/blobs/uploads/`, { method: 'POST' });
  expect(start.status).toBe(202);
  const location = new URL(start.headers.get('location') ?? '', cluster.registryUrl);
  expect(location.hostname).toBe('127.0.0.1');
  location.searchParams.set('digest', digest);
  const put = await fetch(location, { method: 'PUT', headers: { 'content-type': 'application/octet-stream' }, body: new Uint8Array(blob) });
  expect(put.status).toBe(201);
  return digest;
}

describe('OCI registry', () => {
  it('accepts a pushed image and serves its manifest', async () => {
    const repo = `appserving-test/app-${randomBytes(3).toString('hex')}`;
    const layerTar = tar('app/hello.txt', Buffer.from('hello from the local registry\n'));
    const layer = gzipSync(layerTar);
    const config = Buffer.from(JSON.stringify({ architecture: 'amd64', os: 'linux', rootfs: { type: 'layers', diff_ids: [sha256(layerTar)] }, config: {} }));
    const layerDigest = await pushBlob(repo, layer);
    const configDigest = await pushBlob(repo, config);
    const manifest = JSON.stringify({
      schemaVersion: 2,
      mediaType: 'application/vnd.oci.image.manifest.v1+json',
      config: { mediaType: 'application/vnd.oci.image.config.v1+json', digest: configDigest, size: config.length },
      layers: [{ mediaType: 'application/vnd.oci.image.layer.v1.tar+gzip', digest: layerDigest, size: layer.length }],
    });
    const put = await fetch(`${cluster.registryUrl}/v2/${repo}/manifests/1.0.0`, {
      method: 'PUT',
      headers: { 'content-type': 'application/vnd.oci.image.manifest.v1+json' },
      body: manifest,
    });
    expect(put.status).toBe(201);
    expect(put.headers.get('docker-content-digest')).toBe(sha256(manifest));

    const got = await fetch(`${cluster.registryUrl}/v2/${repo}/manifests/1.0.0`, { headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
    expect(got.status).toBe(200);
    expect(got.headers.get('content-type')).toBe('application/vnd.oci.image.manifest.v1+json');
    expect(got.headers.get('docker-content-digest')).toBe(sha256(manifest));
    expect(await got.text()).toBe(manifest);

    const byDigest = await fetch(`${cluster.registryUrl}/v2/${repo}/manifests/${sha256(manifest)}`, { method: 'HEAD', headers: { accept: 'application/vnd.oci.image.manifest.v1+json' } });
    expect(byDigest.status).toBe(200);
    const tags = (await (await fetch(`${cluster.registryUrl}/v2/${repo}/tags/list`)).json()) as { tags: string[] };
    expect(tags.tags).toEqual(['1.0.0']);
    const blob = await fetch(`${cluster.registryUrl}/v2/${repo}/blobs/${layerDigest}`);
    expect(Buffer.from(await blob.arrayBuffer())).toEqual(layer);
  });
});
