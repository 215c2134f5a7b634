import { createHash } from 'node:crypto';
import type { Readable } from 'node:stream';
import { Agent, request, type Dispatcher } from 'undici';
import { InputError, RetryableError } from '@appserving/shared';
import { apiHostOf } from './image-ref.ts';
import { parseChallenge } from './auth-challenge.ts';
import { denied, RegistryAuthorization, unreachable, type RegistryCredentials } from './registry-auth.ts';

/**
 * A client of the OCI distribution API (what `docker push` and `crane` speak): manifests, blobs, cross-repository
 * mounts and uploads, with the registry's own authentication (anonymous or basic credentials traded for a bearer
 * token at the realm the registry names, or basic auth directly).
 *
 * Every request goes to the registry host named by the image reference (Docker Hub's to registry-1.docker.io);
 * plain HTTP only for hosts the operator listed. Credentials are sent to that host and its token realm only,
 * never to a host a redirect names (Docker Hub serves blobs through redirects to a CDN).
 */

export const MEDIA_TYPES = {
  ociManifest: 'application/vnd.oci.image.manifest.v1+json',
  ociIndex: 'application/vnd.oci.image.index.v1+json',
  ociConfig: 'application/vnd.oci.image.config.v1+json',
  ociLayerGzip: 'application/vnd.oci.image.layer.v1.tar+gzip',
  dockerManifest: 'application/vnd.docker.distribution.manifest.v2+json',
  dockerList: 'application/vnd.docker.distribution.manifest.list.v2+json',
  dockerConfig: 'application/vnd.docker.container.image.v1+json',
  dockerLayerGzip: 'application/vnd.docker.image.rootfs.diff.tar.gzip',
} as const;

const manifestAccept = [MEDIA_TYPES.ociManifest, MEDIA_TYPES.ociIndex, MEDIA_TYPES.dockerManifest, MEDIA_TYPES.dockerList].join(', ');


export type { RegistryCredentials } from './registry-auth.ts';

export interface RegistryClientOptions {
  /** Hosts (`host[:port]`) spoken to over plain HTTP, e.g. a local registry. Every other host uses HTTPS. */
  readonly plainHttpHosts?: readonly string[];
  /** Credentials for a registry host, when it has any. Never logged. */
  readonly credentials?: (host: string) => RegistryCredentials | undefined;
  /** Longest wait for response headers, and for each chunk of a body. */
  readonly timeoutMs?: number;
}

/** A repository in a registry, as the API addresses it. */
export interface Repo {
  readonly host: string;
  readonly repository: string;
}

export interface FetchedManifest {
  readonly mediaType: string;
  readonly digest: string;
  readonly bytes: Buffer;
}

export interface BlobSource {
  readonly body: Readable;
  readonly size: number | undefined;
}

type Body = NonNullable<Dispatcher.RequestOptions['body']>;

interface SendOptions {
  method: Dispatcher.HttpMethod;
  /** Path below the host (`/v2/...`) or an absolute URL the registry gave (an upload location). */
  path: string;
  scope: string;
  headers?: Record<string, string>;
  /** A body that can be sent twice (a Buffer or nothing) is retried after an authentication challenge. */
  body?: Body;
  /** What the request is, for error messages. */
  what: string;
  signal?: AbortSignal | undefined;
}

export const sha256Digest = (bytes: Uint8Array): string => `sha256:${createHash('sha256').update(bytes).digest('hex')}`;

export class RegistryClient {
  readonly #agent: Agent;
  readonly #plainHttp: ReadonlySet<string>;
  readonly #authorization: RegistryAuthorization;

  constructor(options: RegistryClientOptions = {}) {
    const timeout = options.timeoutMs ?? 120_000;
    this.#agent = new Agent({ headersTimeout: timeout, bodyTimeout: timeout, connections: 16 });
    this.#plainHttp = new Set(options.plainHttpHosts ?? []);
    this.#authorization = new RegistryAuthorization(this.#agent, options.credentials ?? (() => undefined));
  }

  baseUrl(host: string): string {
    return `${this.#plainHttp.has(host) ? 'http' : 'https'}://${apiHostOf(host)}`;
  }

  async close(): Promise<void> {
    await this.#agent.close();
  }

  /** The manifest (or index) a tag or digest names; undefined when the registry has none. */
  async getManifest(repo: Repo, reference: string, signal?: AbortSignal): Promise<FetchedManifest | undefined> {
    const response = await this.#send(repo.host, {
      method: 'GET',
      path: `/v2/${repo.repository}/manifests/${reference}`,
      scope: pullScope(repo),
      headers: { accept: manifestAccept },
      what: `manifest ${repo.repository}:${reference}`,
      signal,
    });
    if (response.statusCode === 404) return discard(response, undefined);
    await this.#expectOk(response, repo, `reading manifest ${reference}`);
    const bytes = Buffer.from(await response.body.arrayBuffer());
    const digest = sha256Digest(bytes);
    if (reference.startsWith('sha256:') && digest !== reference) {
      throw new RetryableError('registry_digest_mismatch', `registry ${repo.host} answered ${repo.repository}@${reference} with bytes of digest ${digest}`);
    }
    const mediaType = header(response, 'content-type')?.split(';')[0]?.trim() || (JSON.parse(bytes.toString('utf8')) as { mediaType?: string }).mediaType || '';
    return { mediaType, digest, bytes };
  }

  /** The digest a tag or digest resolves to, without downloading the manifest; undefined when absent. */
  async headManifest(repo: Repo, reference: string, signal?: AbortSignal): Promise<{ digest: string; mediaType: string } | undefined> {
    const response = await this.#send(repo.host, {
      method: 'HEAD',
      path: `/v2/${repo.repository}/manifests/${reference}`,
      scope: pullScope(repo),
      headers: { accept: manifestAccept },
      what: `manifest ${repo.repository}:${reference}`,
      signal,
    });
    if (response.statusCode === 404) return discard(response, undefined);
    await this.#expectOk(response, repo, `looking up manifest ${reference}`);
    await response.body.dump();
    const digest = header(response, 'docker-content-digest');
    if (digest) return { digest, mediaType: header(response, 'content-type') ?? '' };
    // A registry that leaves the digest header out: read the manifest and hash it.
    const manifest = await this.getManifest(repo, reference, signal);
    return manifest ? { digest: manifest.digest, mediaType: manifest.mediaType } : undefined;
  }

  /** Stores a manifest under a tag (or its digest); returns its digest. */
  async putManifest(repo: Repo, reference: string, mediaType: string, bytes: Buffer, signal?: AbortSignal): Promise<string> {
    const response = await this.#send(repo.host, {
      method: 'PUT',
      path: `/v2/${repo.repository}/manifests/${reference}`,
      scope: pushScope(repo),
      headers: { 'content-type': mediaType },
      body: bytes,
      what: `manifest ${repo.repository}:${reference}`,
      signal,
    });
    await this.#expectOk(response, repo, `storing manifest ${reference}`);
    await response.body.dump();
    const digest = sha256Digest(bytes);
    const answered = header(response, 'docker-content-digest');
    if (answered && answered !== digest) {
      throw new RetryableError('registry_digest_mismatch', `registry ${repo.host} stored manifest ${reference} of ${repo.repository} as ${answered}, expected ${digest}`);
    }
    return digest;
  }

  async hasBlob(repo: Repo, digest: string, signal?: AbortSignal): Promise<boolean> {
    const response = await this.#send(repo.host, {
      method: 'HEAD',
      path: `/v2/${repo.repository}/blobs/${digest}`,
      scope: pullScope(repo),
      what: `blob ${digest}`,
      signal,
    });
    await response.body.dump();
    if (response.statusCode === 404) return false;
    if (response.statusCode >= 200 && response.statusCode < 400) return true;
    await this.#expectOk(response, repo, `looking up blob ${digest}`);
    return false;
  }

  /**
   * Links a blob another repository of the same registry holds into `repo` without sending its bytes. False when
   * the registry did not mount it (it then opened an upload instead, which is cancelled here).
   */
  async mountBlob(repo: Repo, digest: string, from: string, signal?: AbortSignal): Promise<boolean> {
    const response = await this.#send(repo.host, {
      method: 'POST',
      path: `/v2/${repo.repository}/blobs/uploads/?mount=${encodeURIComponent(digest)}&from=${encodeURIComponent(from)}`,
      scope: `${pushScope(repo)} repository:${from}:pull`,
      what: `mount of blob ${digest} from ${from}`,
      signal,
    });
    await response.body.dump();
    if (response.statusCode === 201) return true;
    if (response.statusCode === 202) {
      const location = header(response, 'location');
      if (location) await this.#cancelUpload(repo, location);
      return false;
    }
    await this.#expectOk(response, repo, `mounting blob ${digest} from ${from}`);
    return false;
  }

  /** A blob's bytes, following the registry's redirects (to a CDN) without sending it credentials. */
  async getBlob(repo: Repo, digest: string, signal?: AbortSignal): Promise<BlobSource> {
    let response = await this.#send(repo.host, {
      method: 'GET',
      path: `/v2/${repo.repository}/blobs/${digest}`,
      scope: pullScope(repo),
      what: `blob ${digest}`,
      signal,
    });
    for (let hops = 0; [301, 302, 303, 307, 308].includes(response.statusCode); hops += 1) {
      const location = header(response, 'location');
      await response.body.dump();
      if (!location || hops >= 5) throw new RetryableError('registry_redirects', `registry ${repo.host} redirected blob ${digest} too often or without a Location`);
      const target = new URL(location, this.baseUrl(repo.host));
      response = await request(target, { method: 'GET', dispatcher: this.#agent, signal }).catch((error: unknown) => {
        throw unreachable(target.host, error);
      });
    }
    await this.#expectOk(response, repo, `reading blob ${digest}`);
    const length = header(response, 'content-length');
    return { body: response.body, size: length === undefined ? undefined : Number(length) };
  }

  /** A small blob (an image config) read whole, checked against its digest. */
  async readBlob(repo: Repo, digest: string, maxBytes: number, signal?: AbortSignal): Promise<Buffer> {
    const { body } = await this.getBlob(repo, digest, signal);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of body) {
      size += (chunk as Buffer).length;
      if (size > maxBytes) {
        body.destroy();
        throw new InputError('registry_blob_too_large', `blob ${digest} of ${repo.repository} is larger than ${maxBytes} bytes`);
      }
      chunks.push(chunk as Buffer);
    }
    const bytes = Buffer.concat(chunks);
    if (sha256Digest(bytes) !== digest) throw new RetryableError('registry_digest_mismatch', `blob ${digest} of ${repo.repository} arrived with other content`);
    return bytes;
  }

  /**
   * Uploads a blob whose digest and size are known in one request (POST, then PUT with the bytes). The registry
   * checks the digest itself and refuses bytes that do not match.
   */
  async pushBlob(repo: Repo, digest: string, body: Buffer | Readable, size: number, signal?: AbortSignal): Promise<void> {
    const location = await this.#startUpload(repo, signal);
    const url = withDigest(new URL(location, this.baseUrl(repo.host)), digest);
    const response = await this.#send(repo.host, {
      method: 'PUT',
      path: url.href,
      scope: pushScope(repo),
      headers: { 'content-type': 'application/octet-stream', 'content-length': String(size) },
      body,
      what: `upload of blob ${digest}`,
      signal,
    });
    await this.#expectOk(response, repo, `uploading blob ${digest}`);
    await response.body.dump();
  }

  /**
   * Uploads a blob whose digest is only known once its bytes have gone by: one streamed PATCH, then a PUT naming
   * the digest `finish()` computed. Nothing is held in memory.
   */
  async pushBlobStream(repo: Repo, body: Readable, finish: () => string, signal?: AbortSignal): Promise<string> {
    const location = await this.#startUpload(repo, signal);
    const patch = await this.#send(repo.host, {
      method: 'PATCH',
      path: new URL(location, this.baseUrl(repo.host)).href,
      scope: pushScope(repo),
      headers: { 'content-type': 'application/octet-stream' },
      body,
      what: 'streamed blob upload',
      signal,
    });
    await this.#expectOk(patch, repo, 'streaming a blob');
    await patch.body.dump();
    const next = header(patch, 'location') ?? location;
    const digest = finish();
    const put = await this.#send(repo.host, {
      method: 'PUT',
      path: withDigest(new URL(next, this.baseUrl(repo.host)), digest).href,
      scope: pushScope(repo),
      headers: { 'content-length': '0' },
      what: `completion of blob upload ${digest}`,
      signal,
    });
    await this.#expectOk(put, repo, `completing blob upload ${digest}`);
    await put.body.dump();
    return digest;
  }

  async #startUpload(repo: Repo, signal: AbortSignal | undefined): Promise<string> {
    const response = await this.#send(repo.host, {
      method: 'POST',
      path: `/v2/${repo.repository}/blobs/uploads/`,
      scope: pushScope(repo),
      what: 'start of a blob upload',
      signal,
    });
    await this.#expectOk(response, repo, 'starting a blob upload');
    await response.body.dump();
    const location = header(response, 'location');
    if (!location) throw new RetryableError('registry_protocol', `registry ${repo.host} opened an upload without a Location header`);
    return location;
  }

  async #cancelUpload(repo: Repo, location: string): Promise<void> {
    const response = await this.#send(repo.host, {
      method: 'DELETE',
      path: new URL(location, this.baseUrl(repo.host)).href,
      scope: pushScope(repo),
      what: 'cancel of an upload',
    }).catch(() => undefined);
    await response?.body.dump();
  }

  async #send(host: string, options: SendOptions): Promise<Dispatcher.ResponseData> {
    const sent = this.#authorization.cached(host, options.scope);
    const first = await this.#request(host, options, sent);
    if (first.statusCode !== 401) return first;
    const challenge = parseChallenge(header(first, 'www-authenticate'));
    await first.body.dump();
    const replayable = options.body === undefined || Buffer.isBuffer(options.body);
    if (!challenge || !replayable) {
      throw denied(host, options.what, 401, challenge ? 'a streamed request was challenged; the token had expired' : 'no usable WWW-Authenticate challenge');
    }
    const authorization = await this.#authorization.authorize(host, options.scope, challenge, sent, options.signal);
    const second = await this.#request(host, options, authorization);
    if (second.statusCode === 401) {
      await second.body.dump();
      this.#authorization.forget(host, options.scope);
      throw denied(host, options.what, 401, 'credentials refused');
    }
    return second;
  }

  async #request(host: string, options: SendOptions, authorization: string | undefined): Promise<Dispatcher.ResponseData> {
    const url = options.path.startsWith('/') ? `${this.baseUrl(host)}${options.path}` : options.path;
    // An upload location on another host gets no credentials (the registry delegated the upload).
    const sameHost = new URL(url).host === apiHostOf(host);
    try {
      return await request(url, {
        method: options.method,
        dispatcher: this.#agent,
        headers: { 'user-agent': 'AppServing builder', ...options.headers, ...(authorization && sameHost ? { authorization } : {}) },
        ...(options.body === undefined ? {} : { body: options.body }),
        ...(options.signal ? { signal: options.signal } : {}),
      });
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason instanceof Error ? options.signal.reason : error;
      throw unreachable(host, error);
    }
  }

  async #expectOk(response: Dispatcher.ResponseData, repo: Repo, doing: string): Promise<void> {
    const status = response.statusCode;
    if (status >= 200 && status < 300) return;
    const detail = await errorDetail(response);
    const message = `registry ${repo.host} answered HTTP ${status} ${doing} in ${repo.repository}${detail ? `: ${detail}` : ''}`;
    if (status === 401 || status === 403) throw new InputError('registry_denied', `${message} (check the registry credentials and the repository's permissions)`, { details: { host: repo.host, status } });
    if (status >= 500 || status === 429 || status === 408) throw new RetryableError('registry_unavailable', message, { details: { host: repo.host, status } });
    throw new InputError('registry_rejected', message, { details: { host: repo.host, status } });
  }
}

export const pullScope = (repo: Repo) => `repository:${repo.repository}:pull`;
export const pushScope = (repo: Repo) => `repository:${repo.repository}:pull,push`;

function withDigest(url: URL, digest: string): URL {
  url.searchParams.set('digest', digest);
  return url;
}

function header(response: Dispatcher.ResponseData, name: string): string | undefined {
  const value = response.headers[name];
  return Array.isArray(value) ? value[0] : value;
}

async function discard<T>(response: Dispatcher.ResponseData, value: T): Promise<T> {
  await response.body.dump();
  return value;
}

async function errorDetail(response: Dispatcher.ResponseData): Promise<string> {
  try {
    const text = (await response.body.text()).slice(0, 2000);
    const parsed = JSON.parse(text) as { errors?: { code?: string; message?: string }[] };
    const first = parsed.errors?.[0];
    return first ? `${first.code ?? ''} ${first.message ?? ''}`.trim() : '';
  } catch {
    return '';
  }
}
