import { randomBytes } from 'node:crypto';
import type { SecretBox } from '@appserving/shared';

/**
 * The web console's session: after a sign-in with an API token the browser holds the token only inside an
 * httpOnly, SameSite=Strict cookie, encrypted with the secret box (AES-256-GCM, the platform's keys), so no
 * page script can read it and no other site can send it. Every request the cookie authenticates is
 * authenticated as that token, looked up like a bearer token: revoking the token ends every session made from
 * it on the next request, on every replica, with no session table to keep in step.
 *
 * A session also carries a random CSRF value. The page reads it from `GET /session` (same origin only: the
 * gateway sends no CORS headers) and sends it back in `x-csrf-token` on every state-changing request; a forged
 * cross-site request can neither read it nor, being SameSite=Strict, carry the cookie at all.
 */
export const SESSION_COOKIE = 'appserving_session';
export const CSRF_HEADER = 'x-csrf-token';
/** How long a sign-in lasts (the cookie's Max-Age and the expiry sealed inside it). */
export const SESSION_TTL_MS = 12 * 60 * 60_000;
const AAD = 'web-session:v1';

export interface SessionContents {
  token: string;
  csrf: string;
  /** Epoch ms after which the session is refused even if the browser still sends it. */
  expiresAt: number;
}

export function newSession(token: string, now: number = Date.now()): SessionContents {
  return { token, csrf: randomBytes(24).toString('base64url'), expiresAt: now + SESSION_TTL_MS };
}

export function sealSession(box: SecretBox, session: SessionContents): string {
  return box.encrypt(JSON.stringify({ t: session.token, c: session.csrf, e: session.expiresAt }), AAD).toString('base64url');
}

/** The session a cookie value holds, or undefined when it is malformed, tampered with, of an unknown key, or expired. */
export function openSession(box: SecretBox, sealed: string, now: number = Date.now()): SessionContents | undefined {
  if (sealed.length > 4096 || !/^[A-Za-z0-9_-]+$/.test(sealed)) return undefined;
  let raw: unknown;
  try {
    raw = JSON.parse(box.decryptText(Buffer.from(sealed, 'base64url'), AAD));
  } catch {
    return undefined;
  }
  if (typeof raw !== 'object' || raw === null) return undefined;
  const { t, c, e } = raw as { t?: unknown; c?: unknown; e?: unknown };
  if (typeof t !== 'string' || typeof c !== 'string' || typeof e !== 'number' || e <= now) return undefined;
  return { token: t, csrf: c, expiresAt: e };
}

/** One cookie's value from a Cookie header (the first one of that name), undefined when absent. */
export function cookieValue(header: string | undefined, name: string): string | undefined {
  if (!header) return undefined;
  for (const part of header.split(';')) {
    const eq = part.indexOf('=');
    if (eq < 0) continue;
    if (part.slice(0, eq).trim() === name) return part.slice(eq + 1).trim();
  }
  return undefined;
}

/** Set-Cookie for a session; `secure` when the browser reached the gateway over https. */
export function sessionCookie(sealed: string, options: { secure: boolean; maxAgeMs?: number }): string {
  const maxAge = Math.floor((options.maxAgeMs ?? SESSION_TTL_MS) / 1000);
  return `${SESSION_COOKIE}=${sealed}; Path=/; Max-Age=${maxAge}; HttpOnly; SameSite=Strict${options.secure ? '; Secure' : ''}`;
}

export function clearedSessionCookie(options: { secure: boolean }): string {
  return `${SESSION_COOKIE}=; Path=/; Max-Age=0; HttpOnly; SameSite=Strict${options.secure ? '; Secure' : ''}`;
}

/** Methods that change nothing: they need no CSRF value. */
export function isSafeMethod(method: string): boolean {
  return method === 'GET' || method === 'HEAD' || method === 'OPTIONS';
}

/**
 * Whether a request's Origin (or, without one, its Referer) is the gateway itself. Browsers send Origin on
 * every cross-site and every state-changing request; a request with neither header is not from a browser
 * page, and the CSRF value still has to match.
 */
export function isSameOrigin(headers: { origin?: string | undefined; referer?: string | undefined; host?: string | undefined }): boolean {
  const source = headers.origin ?? headers.referer;
  if (source === undefined) return true;
  if (source === 'null' || headers.host === undefined) return false;
  try {
    return new URL(source).host === headers.host;
  } catch {
    return false;
  }
}
