import type { Database, SecretBox } from '@appserving/shared';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import type { Kysely } from 'kysely';
import { authenticateToken, hashApiToken } from './api-tokens.ts';
import type { AuthFailureThrottle } from './failure-throttle.ts';
import type { PrincipalCache } from './principal-cache.ts';
import type { Principal } from './principal.ts';
import { clearedSessionCookie, cookieValue, CSRF_HEADER, isSafeMethod, isSameOrigin, openSession, SESSION_COOKIE, type SessionContents } from './session.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth plugin on every route that is not open; null on open routes. */
    principal: Principal | null;
    /** The web console session that authenticated the request (null: a bearer token, or an open route). */
    session: SessionContents | null;
  }
}

export interface AuthOptions {
  db: Kysely<Database>;
  /** For tests: the time used for `last_used_at`. */
  now?: () => Date;
  /** Principals of recently seen tokens (absent: every request looks its token up). */
  cache?: PrincipalCache | undefined;
  /** Opens web console session cookies (session.ts); absent: only bearer tokens authenticate. */
  box?: SecretBox | undefined;
  /** Failed authentications per client address; absent: not throttled. */
  throttle?: AuthFailureThrottle | undefined;
}

/** Probes, metrics and the API description: reachable without a token. Matched on the route, not the raw URL. */
const OPEN_ROUTES = new Set(['/healthz', '/readyz', '/metrics', '/openapi.json', '/docs', '/', '/console', '/console/*', '/console/assets/*']);
/** Routes that take a sign-in instead of needing one (routes/web-session.routes.ts). */
const SIGN_IN_ROUTE = 'POST /session';

export function isOpenRoute(routeUrl: string | undefined, method?: string): boolean {
  if (routeUrl === undefined) return false;
  return OPEN_ROUTES.has(routeUrl) || routeUrl.startsWith('/docs/') || `${method ?? ''} ${routeUrl}` === SIGN_IN_ROUTE;
}

const BEARER = /^Bearer +([A-Za-z0-9._~+/-]+=*) *$/i;
const REALM = 'Bearer realm="appserving"';

/**
 * Requires `Authorization: Bearer <token>` on every route but the open ones, answering 401 with the usual
 * error body otherwise, and sets `request.principal`. Unknown routes need a token too, so the route table
 * cannot be probed anonymously. Registered with fastify-plugin so its hook covers routes registered after it
 * in the enclosing context.
 */
const auth: FastifyPluginAsync<AuthOptions> = async (app, options) => {
  const now = options.now ?? (() => new Date());
  app.decorateRequest('principal', null);
  app.decorateRequest('session', null);
  app.addHook('onRequest', async (request, reply) => {
    if (isOpenRoute(request.routeOptions.url, request.method)) return;
    const header = request.headers.authorization;
    // A throttled address gets 429 for anything but a token this gateway already knows to be valid (no lookup).
    const retryMs = options.throttle?.blockedFor(request.ip) ?? 0;
    const failed = (send: () => FastifyReply) => {
      options.throttle?.failed(request.ip);
      return send();
    };
    const sealed = options.box && (header === undefined || header === '') ? cookieValue(request.headers.cookie, SESSION_COOKIE) : undefined;
    if (sealed !== undefined && options.box) {
      // The web console: the cookie holds the token (encrypted); state changes need the session's CSRF value.
      const session = openSession(options.box, sealed);
      if (session && retryMs > 0 && !isKnown(session.token)) return throttled(reply, retryMs);
      if (!session) {
        if (retryMs > 0) return throttled(reply, retryMs);
        void reply.header('set-cookie', clearedSessionCookie({ secure: isHttps(request) }));
        return failed(() => reply.code(401).send({ error: { code: 'session_expired', message: 'the console session has expired or is no longer valid: sign in again' } }));
      }
      if (!isSafeMethod(request.method) && (request.headers[CSRF_HEADER] !== session.csrf || !isSameOrigin(request.headers))) {
        return reply.code(403).send({ error: { code: 'csrf_check_failed', message: `a change made with the console session needs the session's ${CSRF_HEADER} header, from the console's own origin` } });
      }
      const principal = await principalOf(session.token);
      if (principal === undefined) {
        void reply.header('set-cookie', clearedSessionCookie({ secure: isHttps(request) }));
        return failed(() => reply.code(401).send({ error: { code: 'session_expired', message: 'the API token of this console session is unknown or revoked: sign in again' } }));
      }
      request.session = session;
      request.principal = principal;
      request.log = request.log.child({ tokenId: principal.tokenId });
      return;
    }
    if (header === undefined || header === '') {
      return unauthorized(reply, REALM, 'this route needs an API token: send "Authorization: Bearer <token>"');
    }
    const presented = BEARER.exec(header)?.[1];
    if (retryMs > 0 && (presented === undefined || !isKnown(presented))) return throttled(reply, retryMs);
    if (presented === undefined || presented.length > 1024) {
      return failed(() => unauthorized(reply, `${REALM}, error="invalid_request"`, 'the Authorization header must be "Bearer <token>"'));
    }
    const principal = await principalOf(presented);
    if (principal === undefined) {
      return failed(() => unauthorized(reply, `${REALM}, error="invalid_token"`, 'the API token is unknown or revoked'));
    }
    request.principal = principal;
    request.log = request.log.child({ tokenId: principal.tokenId });
  });

  /** Whether the token authenticated here recently (it is then looked up as usual: it may have been revoked since). */
  function isKnown(presented: string): boolean {
    if (presented.length > 1024) return false;
    const hash = hashApiToken(presented);
    return options.cache?.get(hash) !== undefined || options.throttle?.proven(hash) === true;
  }

  async function principalOf(presented: string): Promise<Principal | undefined> {
    const hash = hashApiToken(presented);
    let principal = options.cache?.get(hash);
    if (principal === undefined) {
      principal = await authenticateToken(options.db, presented, now());
      if (principal !== undefined) options.cache?.set(hash, principal);
    }
    if (principal !== undefined) options.throttle?.succeeded(hash);
    return principal;
  }
};

/** Whether the browser reached the gateway over https (directly, or through a TLS-terminating proxy). */
export function isHttps(request: FastifyRequest): boolean {
  return request.protocol === 'https' || request.headers['x-forwarded-proto'] === 'https';
}

export const authPlugin = fp(auth, { name: 'appserving-auth', fastify: '5.x' });

/** 429 with Retry-After (whole seconds) for an address past its failed-authentication limit. */
export function throttled(reply: FastifyReply, retryMs: number): FastifyReply {
  const seconds = Math.ceil(retryMs / 1000);
  return reply
    .code(429)
    .header('retry-after', String(seconds))
    .send({ error: { code: 'too_many_failed_authentications', message: `too many failed authentications from this address: try again in ${seconds} s`, details: { retry_after_seconds: seconds } } });
}

function unauthorized(reply: FastifyReply, challenge: string, message: string): FastifyReply {
  return reply.code(401).header('www-authenticate', challenge).send({ error: { code: 'unauthorized', message } });
}

/**
 * A preHandler for admin-only routes: 403 `forbidden` for a token that is valid but not an admin token.
 * (Cross-project access to an app is a 404 instead; see `assertProjectAccess`.)
 */
export function requireAdmin(action: string): preHandlerAsyncHookHandler {
  return async function adminOnly(this: unknown, request: FastifyRequest, reply: FastifyReply) {
    if (request.principal?.isAdmin === true) return;
    return reply.code(403).send({ error: { code: 'forbidden', message: `only an admin token may ${action}` } });
  };
}
