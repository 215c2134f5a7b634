import { randomUUID } from 'node:crypto';
import { request as httpRequest } from 'node:http';
import { request as httpsRequest } from 'node:https';
import { pipeline } from 'node:stream/promises';
import type { Readable } from 'node:stream';
import { ApiError, CliError, ExitCode } from '../errors.ts';

/**
 * The CLI's only way to the gateway's REST API. It adds the bearer token, an Idempotency-Key on every state
 * change (one per logical operation, so a retried request never deploys twice), retries what is safe to retry
 * (reads, keyed changes and content-addressed uploads) after a network failure or a 502/503/504, and turns
 * every failure into a `CliError` with the right exit code. The token never appears in an error or a log line.
 */
export interface ApiClientOptions {
  server: string;
  token: string | undefined;
  userAgent: string;
  /** Attempts of a retryable request (default 3). */
  attempts?: number;
  /** Per-request time limit of ordinary requests, ms (default 60 s). Streams and uploads have none. */
  requestTimeoutMs?: number;
  /** Told before each retry (for progress lines). */
  onRetry?: (what: string, attempt: number, error: CliError) => void;
  /** Delay before retry n (1-based), ms. */
  retryDelayMs?: (attempt: number) => number;
}

export interface RequestOptions {
  query?: Record<string, string | number | boolean | undefined>;
  body?: unknown;
  /** State changes carry one; pass the same key for every attempt of one logical operation. */
  idempotencyKey?: string;
  timeoutMs?: number;
  signal?: AbortSignal;
}

export interface Uploaded {
  sha256: string;
  size: number;
  filename: string;
  artifact_url: string;
  deduplicated: boolean;
}

type Method = 'GET' | 'POST' | 'PATCH' | 'DELETE';

export class ApiClient {
  readonly server: string;
  readonly #token: string | undefined;
  readonly #options: ApiClientOptions;

  constructor(options: ApiClientOptions) {
    this.server = normalizeServerUrl(options.server);
    this.#token = options.token;
    this.#options = options;
  }

  get hasToken(): boolean {
    return this.#token !== undefined && this.#token !== '';
  }

  async get<T>(path: string, options: RequestOptions = {}): Promise<T> {
    return this.request<T>('GET', path, options);
  }

  /** A state change: `idempotencyKey` defaults to a fresh key, reused by this call's retries. */
  async send<T>(method: Exclude<Method, 'GET'>, path: string, options: RequestOptions = {}): Promise<T> {
    return this.request<T>(method, path, { ...options, idempotencyKey: options.idempotencyKey ?? randomUUID() });
  }

  async request<T>(method: Method, path: string, options: RequestOptions = {}): Promise<T> {
    const retryable = method === 'GET' || options.idempotencyKey !== undefined;
    return this.#withRetries(`${method} ${path}`, retryable, async () => {
      const headers: Record<string, string> = { accept: 'application/json' };
      if (options.body !== undefined) headers['content-type'] = 'application/json';
      if (options.idempotencyKey) headers['idempotency-key'] = options.idempotencyKey;
      const response = await this.#fetch(this.#url(path, options.query), {
        method,
        headers,
        ...(options.body !== undefined ? { body: JSON.stringify(options.body) } : {}),
        signal: anySignal(options.signal, AbortSignal.timeout(options.timeoutMs ?? this.#options.requestTimeoutMs ?? 60_000)),
      });
      return readAnswer<T>(response);
    });
  }

  /**
   * Streams a file to `POST /artifacts`. `open` is called once per attempt (an upload is content-addressed, so a
   * retry after a broken connection stores nothing twice); `onProgress` sees the bytes handed to the socket.
   */
  async upload(filename: string, open: () => Readable, onProgress?: (sentBytes: number) => void): Promise<Uploaded> {
    return this.#withRetries('upload', true, async () => {
      const source = open();
      let sent = 0;
      source.on('data', (chunk: Buffer) => {
        sent += chunk.length;
        onProgress?.(sent);
      });
      try {
        return await readAnswer<Uploaded>(await this.#post(this.#url('/artifacts', { filename }), source));
      } finally {
        source.destroy();
      }
    });
  }

  /**
   * POST of a stream with node:http(s), which waits for the socket before reading more of the file. (fetch
   * reads a streamed request body ahead of the connection: measured, its memory grew with the file, 660 MB for
   * a 500 MB jar, against 160 MB here.)
   */
  async #post(url: string, body: Readable): Promise<Response> {
    const target = new URL(url);
    const headers: Record<string, string> = { accept: 'application/json', 'content-type': 'application/octet-stream', 'user-agent': this.#options.userAgent };
    if (this.#token) headers.authorization = `Bearer ${this.#token}`;
    const send = target.protocol === 'https:' ? httpsRequest : httpRequest;
    try {
      return await new Promise<Response>((resolve, reject) => {
        const request = send(target, { method: 'POST', headers }, (answer) => {
          const chunks: Buffer[] = [];
          answer.on('data', (chunk: Buffer) => chunks.push(chunk));
          answer.once('error', reject);
          answer.once('end', () => {
            const responseHeaders = new Headers();
            for (const [key, value] of Object.entries(answer.headers)) if (typeof value === 'string') responseHeaders.set(key, value);
            resolve(new Response(Buffer.concat(chunks), { status: answer.statusCode ?? 502, statusText: answer.statusMessage ?? '', headers: responseHeaders }));
          });
        });
        request.once('error', reject);
        // The server may answer (a refusal) before it has read the whole file: that answer is the one to report.
        pipeline(body, request).catch((error: unknown) => {
          if (!request.writableFinished) request.destroy(error as Error);
        });
      });
    } catch (error) {
      throw networkError(this.server, error, undefined);
    }
  }

  /** Opens a streaming GET (Server-Sent Events, followed logs); the caller reads and closes the body. */
  async openStream(path: string, options: { headers?: Record<string, string>; query?: RequestOptions['query']; signal?: AbortSignal } = {}): Promise<Response> {
    const response = await this.#fetch(this.#url(path, options.query), {
      method: 'GET',
      headers: { accept: 'text/event-stream', ...options.headers },
      ...(options.signal ? { signal: options.signal } : {}),
    });
    if (!response.ok) await readAnswer(response);
    return response;
  }

  #url(path: string, query: RequestOptions['query']): string {
    const url = new URL(path.replace(/^\//, ''), `${this.server}/`);
    for (const [key, value] of Object.entries(query ?? {})) if (value !== undefined) url.searchParams.set(key, String(value));
    return url.toString();
  }

  async #fetch(url: string, init: RequestInit): Promise<Response> {
    const headers = new Headers(init.headers);
    headers.set('user-agent', this.#options.userAgent);
    if (this.#token) headers.set('authorization', `Bearer ${this.#token}`);
    try {
      return await fetch(url, { ...init, headers });
    } catch (error) {
      throw networkError(this.server, error, init.signal ?? undefined);
    }
  }

  async #withRetries<T>(what: string, retryable: boolean, attempt: () => Promise<T>): Promise<T> {
    const attempts = retryable ? (this.#options.attempts ?? 3) : 1;
    for (let n = 1; ; n += 1) {
      try {
        return await attempt();
      } catch (error) {
        if (!(error instanceof CliError) || n >= attempts || !isTransient(error)) throw error;
        this.#options.onRetry?.(what, n, error);
        await new Promise((resolve) => setTimeout(resolve, this.#options.retryDelayMs?.(n) ?? 300 * 3 ** (n - 1)));
      }
    }
  }
}

/** `localhost:9112` → `http://localhost:9112`; no trailing slash. A URL with credentials or a query is refused. */
export function normalizeServerUrl(raw: string): string {
  const text = raw.trim();
  const withScheme = /^[a-z][a-z0-9+.-]*:\/\//i.test(text) ? text : `http://${text}`;
  let url: URL;
  try {
    url = new URL(withScheme);
  } catch {
    throw new CliError(ExitCode.usage, 'invalid_server_url', `"${raw}" is not a server URL (e.g. http://localhost:9112)`);
  }
  if (url.protocol !== 'http:' && url.protocol !== 'https:') {
    throw new CliError(ExitCode.usage, 'invalid_server_url', `the server URL must start with http:// or https:// (got ${url.protocol})`);
  }
  if (url.username || url.password) throw new CliError(ExitCode.usage, 'invalid_server_url', 'the server URL must not carry a user or password; log in with a token');
  if (url.search || url.hash) throw new CliError(ExitCode.usage, 'invalid_server_url', 'the server URL must not carry a query or fragment');
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

async function readAnswer<T>(response: Response): Promise<T> {
  const text = await response.text();
  let body: unknown;
  try {
    body = text === '' ? undefined : JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (response.ok) {
    if (body === undefined && text !== '') {
      throw new CliError(ExitCode.internal, 'unexpected_answer', `the server answered ${response.status} with something that is not JSON; is this an AppServing server?`);
    }
    return body as T;
  }
  const error = (body as { error?: { code?: unknown; message?: unknown; details?: unknown } } | undefined)?.error;
  if (error && typeof error.code === 'string' && typeof error.message === 'string') {
    const details = error.details && typeof error.details === 'object' ? (error.details as Record<string, unknown>) : undefined;
    throw new ApiError(response.status, error.code, error.message, details);
  }
  const statusText = response.statusText ? ` ${response.statusText}` : '';
  throw new ApiError(response.status, `http_${response.status}`, `the server answered ${response.status}${statusText}`, undefined);
}

const permanentNetworkCodes = new Set(['ENOTFOUND', 'EAI_NONAME', 'ERR_INVALID_URL', 'ERR_TLS_CERT_ALTNAME_INVALID', 'DEPTH_ZERO_SELF_SIGNED_CERT', 'SELF_SIGNED_CERT_IN_CHAIN', 'UNABLE_TO_VERIFY_LEAF_SIGNATURE', 'CERT_HAS_EXPIRED']);

function isTransient(error: CliError): boolean {
  if (error instanceof ApiError) return error.status === 502 || error.status === 503 || (error.status === 504 && error.code !== 'wait_timeout');
  return error.code === 'unreachable' && !permanentNetworkCodes.has(typeof error.details?.cause === 'string' ? error.details.cause : '');
}

const networkReasons: Record<string, string> = {
  ECONNREFUSED: 'connection refused',
  ENOTFOUND: 'unknown host',
  EAI_AGAIN: 'the host name could not be resolved right now',
  ECONNRESET: 'the connection was reset',
  ETIMEDOUT: 'the connection timed out',
  EHOSTUNREACH: 'no route to the host',
  ENETUNREACH: 'the network is unreachable',
  UND_ERR_CONNECT_TIMEOUT: 'the connection timed out',
  UND_ERR_SOCKET: 'the connection closed unexpectedly',
  UND_ERR_HEADERS_TIMEOUT: 'the server did not answer in time',
  UND_ERR_BODY_TIMEOUT: 'the server stopped sending its answer',
  EPIPE: 'the connection closed while sending',
};

function networkError(server: string, error: unknown, signal: AbortSignal | undefined): CliError {
  if (signal?.aborted && signal.reason instanceof CliError) return signal.reason;
  const name = (error as { name?: string }).name;
  if (name === 'TimeoutError' || (signal?.aborted && (signal.reason as { name?: string } | undefined)?.name === 'TimeoutError')) {
    return new CliError(ExitCode.unreachable, 'unreachable', `the AppServing server at ${server} did not answer in time`, {
      details: { cause: 'timeout' },
      hint: 'check that the server is running and reachable',
      cause: error,
    });
  }
  if (name === 'AbortError') return new CliError(ExitCode.interrupted, 'interrupted', 'interrupted', { cause: error });
  const cause = deepestCause(error);
  const code = (cause as { code?: string } | undefined)?.code ?? '';
  const reason = networkReasons[code] ?? (cause instanceof Error ? cause.message : 'the connection failed');
  return new CliError(ExitCode.unreachable, 'unreachable', `cannot reach the AppServing server at ${server}: ${reason}`, {
    details: { cause: code || 'network' },
    hint: 'is the server running at that address? Set it with --server, APPSERVE_SERVER or `appserve login`',
    cause: error,
  });
}

function deepestCause(error: unknown): unknown {
  let current = error;
  for (let depth = 0; depth < 5; depth += 1) {
    const next = (current as { cause?: unknown } | undefined)?.cause;
    if (next === undefined || next === null) break;
    current = next;
  }
  // AggregateError (several addresses tried): the first one's reason.
  const errors = (current as { errors?: unknown[] }).errors;
  return Array.isArray(errors) && errors.length > 0 ? errors[0] : current;
}

function anySignal(...signals: (AbortSignal | undefined)[]): AbortSignal {
  return AbortSignal.any(signals.filter((s): s is AbortSignal => s !== undefined));
}
