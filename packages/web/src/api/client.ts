/**
 * The console's HTTP client: same origin, the session cookie (httpOnly: never visible here) authenticates,
 * and every state-changing request carries the session's CSRF value. No token is ever held by page scripts.
 */
export class ApiError extends Error {
  readonly status: number;
  readonly code: string;
  readonly details: Record<string, unknown> | undefined;
  constructor(status: number, code: string, message: string, details?: Record<string, unknown>) {
    super(message);
    this.name = 'ApiError';
    this.status = status;
    this.code = code;
    this.details = details;
  }
}

let csrfToken: string | undefined;
const signedOutListeners = new Set<() => void>();

export function setCsrfToken(value: string | undefined): void {
  csrfToken = value;
}

/** Told when the gateway no longer accepts the session (expired, token revoked). */
export function onSignedOut(listener: () => void): () => void {
  signedOutListeners.add(listener);
  return () => signedOutListeners.delete(listener);
}

export function csrfHeaders(): Record<string, string> {
  return csrfToken ? { 'x-csrf-token': csrfToken } : {};
}

export async function api<T>(method: string, path: string, body?: unknown, headers: Record<string, string> = {}): Promise<T> {
  const unsafe = method !== 'GET' && method !== 'HEAD';
  const response = await fetch(path, {
    method,
    credentials: 'same-origin',
    headers: {
      accept: 'application/json',
      ...(body === undefined ? {} : { 'content-type': 'application/json' }),
      ...(unsafe ? csrfHeaders() : {}),
      ...headers,
    },
    ...(body === undefined ? {} : { body: JSON.stringify(body) }),
  });
  return parse<T>(response, path);
}

async function parse<T>(response: Response, path: string): Promise<T> {
  if (!response.ok) throw await failureOf(response, path);
  const text = await response.text();
  return (text ? safeJson(text) : undefined) as T;
}

/** The API's refusal in a response that is not OK (its `{ error }` body); a 401 tells the session is over. */
export async function failureOf(response: Response, path: string): Promise<ApiError> {
  const text = await response.text().catch(() => '');
  const json: unknown = text ? safeJson(text) : undefined;
  const error = (json as { error?: { code?: string; message?: string; details?: Record<string, unknown> } } | undefined)?.error;
  if (response.status === 401 && path !== '/session') for (const listener of signedOutListeners) listener();
  return new ApiError(response.status, error?.code ?? 'http_error', error?.message ?? `HTTP ${response.status}`, error?.details);
}

function safeJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

/** POST /artifacts with upload progress (fetch cannot report it; XMLHttpRequest can). */
export function uploadArtifact(file: File, onProgress: (fraction: number) => void, signal?: AbortSignal): Promise<{ artifact_url: string; sha256: string; size: number }> {
  return new Promise((resolve, reject) => {
    const xhr = new XMLHttpRequest();
    xhr.open('POST', `/artifacts?filename=${encodeURIComponent(file.name)}`);
    xhr.withCredentials = true;
    for (const [name, value] of Object.entries(csrfHeaders())) xhr.setRequestHeader(name, value);
    xhr.setRequestHeader('content-type', 'application/octet-stream');
    xhr.upload.onprogress = (event) => {
      if (event.lengthComputable) onProgress(event.loaded / event.total);
    };
    xhr.onload = () => {
      const json = safeJson(xhr.responseText) as { error?: { code: string; message: string } } | undefined;
      if (xhr.status === 201) resolve(json as unknown as { artifact_url: string; sha256: string; size: number });
      else reject(new ApiError(xhr.status, json?.error?.code ?? 'upload_failed', json?.error?.message ?? `HTTP ${xhr.status}`));
    };
    xhr.onerror = () => reject(new ApiError(0, 'network', 'network error'));
    signal?.addEventListener('abort', () => xhr.abort());
    xhr.send(file);
  });
}
