import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Platform } from '@appserving/test-support/platform';
import yazl from 'yazl';

/** What GET /apps/{id} answers (the parts these tests read). */
export interface AppView {
  id: string;
  name: string;
  status: string;
  app_type: string;
  strategy: string;
  endpoint: string | null;
  endpoints?: { public: string | null; cluster: string | null };
  current_release: ReleaseView | null;
  operation: { id: string; kind: string; status: string } | null;
}

export interface ReleaseView {
  id: string;
  version: number;
  version_label: string;
  task_type: string;
  strategy: string;
  status: string;
  status_reason: string | null;
  diagnosis: { code: string; summary: string; hint: string; evidence: Record<string, unknown> } | null;
  image: string | null;
  spec: Record<string, unknown>;
  finished_at?: string | null;
}

export const terminal = new Set(['built', 'succeeded', 'failed', 'aborted', 'rolled-back', 'superseded']);

/** A jar (a zip with a manifest), made in memory: no binary fixtures in the repo. */
export async function makeArchive(files: Record<string, string>): Promise<Buffer> {
  const zip = new yazl.ZipFile();
  for (const [name, content] of Object.entries(files)) zip.addBuffer(Buffer.from(content), name);
  zip.end();
  const chunks: Buffer[] = [];
  for await (const chunk of zip.outputStream as AsyncIterable<Buffer>) chunks.push(chunk);
  return Buffer.concat(chunks);
}

export const makeJar = (marker = 'v1') =>
  makeArchive({ 'META-INF/MANIFEST.MF': 'Manifest-Version: 1.0\nMain-Class: demo.Main\n', 'demo/Main.class': `class bytes ${marker}`, 'BOOT-INF/marker.txt': marker });

/**
 * A small artifact repository on 127.0.0.1 (the "Nexus" of the seed): serves the given files over HTTP. The
 * platform must list its `host` in APPSERVING_ARTIFACT_HOST_ALLOWLIST, as an operator lists an in-house Nexus.
 */
export interface ArtifactServer {
  host: string;
  url(path: string): string;
  put(path: string, bytes: Buffer): void;
  /** Paths fetched so far (who fetched: the builder, never the gateway). */
  fetched: string[];
  close(): Promise<void>;
}

export async function startArtifactServer(): Promise<ArtifactServer> {
  const files = new Map<string, Buffer>();
  const fetched: string[] = [];
  const server: Server = createServer((request, response) => {
    const path = (request.url ?? '/').split('?')[0] ?? '/';
    fetched.push(path);
    const body = files.get(path);
    if (!body) {
      response.writeHead(404).end('not found');
      return;
    }
    response.writeHead(200, { 'content-type': 'application/java-archive', 'content-length': body.length }).end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  return {
    host: `127.0.0.1:${port}`,
    url: (path) => `http://127.0.0.1:${port}${path}`,
    put: (path, bytes) => files.set(path, bytes),
    fetched,
    close: () => new Promise((resolve) => server.close(() => resolve())),
  };
}

/** Polls GET /apps/{id} until `done` holds (default: the current release is terminal). */
export async function waitForApp(platform: Platform, appId: string, options: { timeoutMs?: number; done?: (app: AppView) => boolean } = {}): Promise<AppView> {
  const done = options.done ?? ((app: AppView) => app.current_release !== null && isDone(app.current_release));
  const deadline = Date.now() + (options.timeoutMs ?? 180_000);
  let last: AppView | undefined;
  while (Date.now() < deadline) {
    const { status, body } = await platform.api<AppView>('GET', `/apps/${appId}`);
    if (status !== 200) throw new Error(`GET /apps/${appId} answered ${status}: ${JSON.stringify(body)}`);
    last = body;
    if (done(body)) return body;
    await new Promise((resolve) => setTimeout(resolve, 500));
  }
  throw new Error(`app ${appId} did not get there in time; last seen: ${JSON.stringify(last?.current_release ?? last)}\nplatform log: ${platform.logFile}`);
}

/** `built` ends a build-only release; for the others it is a step. */
export function isDone(release: ReleaseView): boolean {
  return release.status === 'built' ? release.task_type === 'build' : terminal.has(release.status);
}

export interface SseEvent {
  id: string | undefined;
  event: string;
  data: unknown;
}

/**
 * Reads GET /apps/{id}/events (Server-Sent Events) into `events` until `close()`: what a browser's EventSource
 * would receive. `lastEventId` resumes after an earlier event.
 */
export function openEventStream(platform: Platform, appId: string, lastEventId?: string): { events: SseEvent[]; closed: Promise<void>; close(): void } {
  const controller = new AbortController();
  const events: SseEvent[] = [];
  const closed = (async () => {
    const response = await fetch(`${platform.url}/apps/${appId}/events`, {
      headers: { authorization: `Bearer ${platform.adminToken}`, accept: 'text/event-stream', ...(lastEventId ? { 'last-event-id': lastEventId } : {}) },
      signal: controller.signal,
    });
    if (response.status !== 200 || !response.body) throw new Error(`GET /apps/${appId}/events answered ${response.status}`);
    const decoder = new TextDecoder();
    let buffer = '';
    for await (const chunk of response.body) {
      buffer += decoder.decode(chunk, { stream: true });
      let end: number;
      while ((end = buffer.indexOf('\n\n')) >= 0) {
        const block = buffer.slice(0, end);
        buffer = buffer.slice(end + 2);
        const fields = new Map<string, string>();
        for (const line of block.split('\n')) {
          if (line.startsWith(':')) continue;
          const colon = line.indexOf(':');
          if (colon > 0) fields.set(line.slice(0, colon), line.slice(colon + 1).trimStart());
        }
        if (fields.has('data')) events.push({ id: fields.get('id'), event: fields.get('event') ?? 'message', data: JSON.parse(fields.get('data') ?? 'null') });
      }
    }
  })().catch((error: unknown) => {
    if (!controller.signal.aborted) throw error;
  });
  return { events, closed, close: () => controller.abort() };
}

/** Status changes a stream carried, in order: `[status, diagnosis code?]`. */
export function statusesIn(events: readonly SseEvent[], releaseId?: string): { status: string; diagnosis?: string; weight?: number }[] {
  return events
    .filter((e) => e.event === 'dev.appserving.release.status.v1')
    .map((e) => (e.data as { data: { release: { release_id: string }; status: string; diagnosis?: { code: string }; canary_weight?: number } }).data)
    .filter((d) => releaseId === undefined || d.release.release_id === releaseId)
    .map((d) => ({ status: d.status, ...(d.diagnosis ? { diagnosis: d.diagnosis.code } : {}), ...(d.canary_weight !== undefined ? { weight: d.canary_weight } : {}) }));
}

export async function eventually<T>(what: string, probe: () => Promise<T | undefined> | T | undefined, timeoutMs = 30_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value !== undefined) return value;
    if (Date.now() > deadline) throw new Error(`${what}: not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 250));
  }
}

/**
 * Copies an image inside the local registry (blobs mounted across repositories, the manifest put under `tag`)
 * and returns the copy's manifest digest: an image "Kaniko pushed" for a simulated build, which runs no Kaniko.
 */
export async function copyImage(registryHost: string, from: { repository: string; reference: string }, to: { repository: string; tag: string }): Promise<string> {
  const registry = `http://${registryHost}`;
  const accept = 'application/vnd.docker.distribution.manifest.v2+json, application/vnd.oci.image.manifest.v1+json';
  const source = await fetch(`${registry}/v2/${from.repository}/manifests/${from.reference}`, { headers: { accept } });
  if (source.status !== 200) throw new Error(`registry: no manifest ${from.repository}:${from.reference} (${source.status})`);
  const mediaType = source.headers.get('content-type') ?? 'application/vnd.docker.distribution.manifest.v2+json';
  const bytes = Buffer.from(await source.arrayBuffer());
  const manifest = JSON.parse(bytes.toString('utf8')) as { config: { digest: string }; layers: { digest: string }[] };
  for (const digest of [manifest.config.digest, ...manifest.layers.map((l) => l.digest)]) {
    const mounted = await fetch(`${registry}/v2/${to.repository}/blobs/uploads/?mount=${digest}&from=${from.repository}`, { method: 'POST' });
    if (mounted.status !== 201) throw new Error(`registry: could not mount ${digest} into ${to.repository} (${mounted.status})`);
  }
  const put = await fetch(`${registry}/v2/${to.repository}/manifests/${to.tag}`, { method: 'PUT', headers: { 'content-type': mediaType }, body: bytes });
  if (put.status !== 201) throw new Error(`registry: manifest of ${to.repository}:${to.tag} refused (${put.status})`);
  const digest = put.headers.get('docker-content-digest');
  if (!digest) throw new Error('registry: no Docker-Content-Digest on the manifest put');
  return digest;
}
