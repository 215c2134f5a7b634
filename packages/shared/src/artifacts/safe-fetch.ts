import { isIP, type LookupFunction } from 'node:net';
import { Readable } from 'node:stream';
import { Agent, request, type Dispatcher } from 'undici';
import { isAppServingError, InputError, RetryableError } from '../errors/index.ts';
import { ArtifactMeter, DEFAULT_ARTIFACT_MAX_BYTES, tooLarge } from './artifact-meter.ts';
import { checkArtifactUrl, type ArtifactUrlPolicy, type CheckedArtifactUrl } from './artifact-url.guard.ts';

/**
 * Fetches an artifact_url under the rules of `artifact-url.guard.ts`. This is the only way the platform reads a
 * user's artifact URL: the gateway probes it at create time and the builder downloads it, both through here.
 *
 * - Each hop is checked, then connected to one of the very addresses that were checked (undici is given a lookup
 *   that answers only those), with the original Host header and TLS server name. Resolving again at connect
 *   time would let a DNS server answer "public" to the check and "10.0.0.1" to the connection (DNS rebinding).
 * - Redirects are followed here, not by the HTTP client, so every Location goes through the same check.
 * - The size limit is enforced while streaming, and one deadline covers the whole exchange, body included.
 */

export interface SafeFetchOptions extends ArtifactUrlPolicy {
  /** Largest body accepted; past it the download stops with `artifact_too_large`. */
  maxBytes?: number;
  /** Deadline for the whole exchange (every hop and the body). */
  timeoutMs?: number;
  maxRedirects?: number;
  method?: 'GET' | 'HEAD';
  headers?: Record<string, string>;
  signal?: AbortSignal;
}

export interface SafeFetchResponse {
  /** The URL that answered, after redirects. */
  readonly url: string;
  readonly status: number;
  readonly contentType: string | undefined;
  readonly contentLength: number | undefined;
  readonly headers: Readonly<Record<string, string | string[] | undefined>>;
  readonly redirects: number;
  /** The body, read lazily (backpressure reaches the socket); it errors with `artifact_too_large` past the limit. */
  readonly body: Readable;
  /** sha256 (hex) and size of the body; only once `body` has been read to its end. */
  digest(): { sha256: string; size: number };
}

export interface FetchedArtifact {
  readonly url: string;
  readonly contentType: string | undefined;
  readonly sha256: string;
  readonly size: number;
  readonly body: Buffer;
}

export const DEFAULT_FETCH_TIMEOUT_MS = 10 * 60_000;
export const DEFAULT_MAX_REDIRECTS = 5;
const redirectStatuses = new Set([301, 302, 303, 307, 308]);

export async function safeFetch(url: string | URL, options: SafeFetchOptions = {}): Promise<SafeFetchResponse> {
  const maxBytes = options.maxBytes ?? DEFAULT_ARTIFACT_MAX_BYTES;
  const maxRedirects = options.maxRedirects ?? DEFAULT_MAX_REDIRECTS;
  const timeoutMs = options.timeoutMs ?? DEFAULT_FETCH_TIMEOUT_MS;
  const deadline = AbortSignal.timeout(timeoutMs);
  const signal = options.signal ? AbortSignal.any([deadline, options.signal]) : deadline;
  let current = url instanceof URL ? url : String(url);

  for (let redirects = 0; ; redirects += 1) {
    const target = await checkArtifactUrl(current, options);
    const { agent, response } = await send(target, options, signal, timeoutMs);
    // Closes this hop's socket: nothing is read from a response the caller does not get.
    const release = () => {
      // undici reports a body destroyed unread as an AbortError; here that is the intent, not a failure.
      response.body.on('error', () => {});
      response.body.destroy();
      agent.destroy().catch(() => {});
    };
    if (redirectStatuses.has(response.statusCode)) {
      release();
      current = nextLocation(target, response, redirects, maxRedirects);
      continue;
    }
    if (response.statusCode < 200 || response.statusCode > 299) {
      release();
      throw statusError(target, response.statusCode);
    }
    const contentLength = numberHeader(response.headers['content-length']);
    if (contentLength !== undefined && contentLength > maxBytes && options.method !== 'HEAD') {
      release();
      throw tooLarge(`artifact_url host ${target.url.host}`, maxBytes, contentLength);
    }
    const meter = new ArtifactMeter(maxBytes, `the artifact from host ${target.url.host}`);
    const body = Readable.from(meteredBody(response.body, meter, target, signal, timeoutMs), { objectMode: false });
    let ended = false;
    body.once('end', () => (ended = true));
    // Also when the caller drops the body unread (a generator that never started runs no `finally`).
    body.once('close', release);
    return {
      url: target.url.href,
      status: response.statusCode,
      contentType: stringHeader(response.headers['content-type']),
      contentLength,
      headers: response.headers,
      redirects,
      body,
      digest() {
        if (!ended) throw new Error('safeFetch digest() asked before the body was read to its end');
        return { sha256: meter.sha256(), size: meter.size };
      },
    };
  }
}

/** Downloads the whole body into memory (bounded by `maxBytes`): for small artifacts and tests. */
export async function safeFetchBuffer(url: string | URL, options: SafeFetchOptions = {}): Promise<FetchedArtifact> {
  const response = await safeFetch(url, { ...options, method: 'GET' });
  const chunks: Buffer[] = [];
  for await (const chunk of response.body) chunks.push(chunk as Buffer);
  const { sha256, size } = response.digest();
  return { url: response.url, contentType: response.contentType, sha256, size, body: Buffer.concat(chunks, size) };
}

export interface ArtifactProbe {
  readonly url: string;
  readonly status: number;
  readonly contentType: string | undefined;
  /** From Content-Length (HEAD) or the total of Content-Range (ranged GET), when the server says. */
  readonly size: number | undefined;
}

/**
 * Checks at create time that an artifact URL passes the rules and answers, without downloading it: a HEAD, or a
 * one-byte ranged GET for servers that refuse HEAD. Refuses early when the announced size is over the limit.
 */
export async function probeArtifactUrl(url: string | URL, options: Omit<SafeFetchOptions, 'method' | 'headers'> = {}): Promise<ArtifactProbe> {
  const maxBytes = options.maxBytes ?? DEFAULT_ARTIFACT_MAX_BYTES;
  let response: SafeFetchResponse;
  let size: number | undefined;
  try {
    response = await safeFetch(url, { ...options, method: 'HEAD' });
    size = response.contentLength;
  } catch (error) {
    // Some servers refuse HEAD (405, 501) and presigned object-store URLs are signed for GET only (403).
    if (!(isAppServingError(error) && error.code === 'artifact_url_status' && [403, 405, 501].includes(Number(error.details?.status)))) throw error;
    response = await safeFetch(url, { ...options, method: 'GET', headers: { range: 'bytes=0-0' } });
    size = totalFromContentRange(response.headers['content-range']) ?? (response.status === 200 ? response.contentLength : undefined);
  }
  response.body.destroy();
  if (size !== undefined && size > maxBytes) throw tooLarge(`artifact_url host ${new URL(response.url).host}`, maxBytes, size);
  return { url: response.url, status: response.status, contentType: response.contentType, size };
}

async function send(target: CheckedArtifactUrl, options: SafeFetchOptions, signal: AbortSignal, timeoutMs: number) {
  const agent = new Agent({ connect: { lookup: pinnedLookup(target) } });
  try {
    const response = await request(target.url, {
      dispatcher: agent,
      method: options.method ?? 'GET',
      headers: { 'user-agent': 'AppServing artifact fetcher', ...options.headers },
      signal,
    });
    return { agent, response };
  } catch (error) {
    agent.destroy().catch(() => {});
    throw transportError(error, target, signal, timeoutMs);
  }
}

/** A lookup that never asks DNS: it answers the addresses the guard already checked for this host. */
function pinnedLookup(target: CheckedArtifactUrl): LookupFunction {
  const answers = target.addresses.map((address) => ({ address, family: isIP(address) }));
  return (hostname, lookupOptions, callback) => {
    if (hostname !== target.hostname) {
      callback(Object.assign(new Error(`refusing to look up ${hostname}: only ${target.hostname} was checked`), { code: 'ENOTFOUND' }), '', 0);
      return;
    }
    if (lookupOptions.all) callback(null, answers);
    else callback(null, answers[0]!.address, answers[0]!.family);
  };
}

async function* meteredBody(
  body: Dispatcher.ResponseData['body'],
  meter: ArtifactMeter,
  target: CheckedArtifactUrl,
  signal: AbortSignal,
  timeoutMs: number,
): AsyncGenerator<Buffer> {
  try {
    for await (const chunk of body) {
      // Throws past the limit; the Readable then closes and `release` drops the connection unread.
      meter.update(chunk as Buffer);
      yield chunk as Buffer;
    }
  } catch (error) {
    throw transportError(error, target, signal, timeoutMs);
  }
}

function nextLocation(target: CheckedArtifactUrl, response: Dispatcher.ResponseData, redirects: number, maxRedirects: number): string {
  const host = target.url.host;
  if (redirects >= maxRedirects) {
    throw new InputError('artifact_url_redirects', `artifact_url redirected more than ${maxRedirects} times (last from host ${host}); give the final URL instead`, {
      details: { max_redirects: maxRedirects },
    });
  }
  const location = stringHeader(response.headers.location);
  if (!location) throw new InputError('artifact_url_redirect', `artifact_url host ${host} answered ${response.statusCode} without a Location header`);
  const next = new URL(location, target.url);
  if (target.url.protocol === 'https:' && next.protocol === 'http:') {
    throw new InputError('artifact_url_redirect', `artifact_url host ${host} redirects from https to plain http (${next.host}); refusing the downgrade`);
  }
  return next.href;
}

function statusError(target: CheckedArtifactUrl, status: number) {
  const message = `artifact_url host ${target.url.host} answered HTTP ${status} for ${target.url.pathname}`;
  const details = { host: target.url.host, status };
  // Server trouble and rate limits may pass; a missing or forbidden file stays so until the URL changes.
  return status >= 500 || status === 408 || status === 429
    ? new RetryableError('artifact_url_status', message, { details })
    : new InputError('artifact_url_status', message, { details });
}

function transportError(error: unknown, target: CheckedArtifactUrl, signal: AbortSignal, timeoutMs: number): Error {
  if (isAppServingError(error)) return error;
  const host = target.url.host;
  if (signal.aborted && (signal.reason as Error | undefined)?.name === 'TimeoutError') {
    return new RetryableError('artifact_fetch_timeout', `fetching the artifact from host ${host} took longer than ${timeoutMs} ms`, { cause: error });
  }
  if (signal.aborted) return signal.reason instanceof Error ? signal.reason : new Error('artifact fetch aborted', { cause: error });
  const reason = (error as NodeJS.ErrnoException).code ?? (error as Error).message;
  return new RetryableError('artifact_url_unreachable', `could not fetch the artifact from host ${host}: ${reason}`, { cause: error });
}

function stringHeader(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

function numberHeader(value: string | string[] | undefined): number | undefined {
  const text = stringHeader(value);
  if (text === undefined || !/^\d+$/.test(text)) return undefined;
  return Number(text);
}

function totalFromContentRange(value: string | string[] | undefined): number | undefined {
  const match = /\/(\d+)$/.exec(stringHeader(value) ?? '');
  return match ? Number(match[1]) : undefined;
}
