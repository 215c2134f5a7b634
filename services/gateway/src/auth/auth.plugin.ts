import type { Database } from '@appserving/shared';
import type { FastifyPluginAsync, FastifyReply, FastifyRequest, preHandlerAsyncHookHandler } from 'fastify';
import fp from 'fastify-plugin';
import type { Kysely } from 'kysely';
import { authenticateToken, hashApiToken } from './api-tokens.ts';
import type { PrincipalCache } from './principal-cache.ts';
import type { Principal } from './principal.ts';

declare module 'fastify' {
  interface FastifyRequest {
    /** Set by the auth plugin on every route that is not open; null on open routes. */
    principal: Principal | null;
  }
}

export interface AuthOptions {
  db: Kysely<Database>;
  /** For tests: the time used for `last_used_at`. */
  now?: () => Date;
  /** Principals of recently seen tokens (absent: every request looks its token up). */
  cache?: PrincipalCache | undefined;
}

/** Probes, metrics and the API description: reachable without a token. Matched on the route, not the raw URL. */
const OPEN_ROUTES = new Set(['/healthz', '/readyz', '/metrics', '/openapi.json', '/docs']);

export function isOpenRoute(routeUrl: string | undefined): boolean {
  if (routeUrl === undefined) return false;
  return OPEN_ROUTES.has(routeUrl) || routeUrl.startsWith('/docs/');
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
  app.addHook('onRequest', async (request, reply) => {
    if (isOpenRoute(request.routeOptions.url)) return;
    const header = request.headers.authorization;
    if (header === undefined || header === '') {
      return unauthorized(reply, REALM, 'this route needs an API token: send "Authorization: Bearer <token>"');
    }
    const presented = BEARER.exec(header)?.[1];
    if (presented === undefined || presented.length > 1024) {
      return unauthorized(reply, `${REALM}, error="invalid_request"`, 'the Authorization header must be "Bearer <token>"');
    }
    const hash = hashApiToken(presented);
    let principal = options.cache?.get(hash);
    if (principal === undefined) {
      principal = await authenticateToken(options.db, presented, now());
      if (principal !== undefined) options.cache?.set(hash, principal);
    }
    if (principal === undefined) {
      return unauthorized(reply, `${REALM}, error="invalid_token"`, 'the API token is unknown or revoked');
    }
    request.principal = principal;
    request.log = request.log.child({ tokenId: principal.tokenId });
  });
};

export const authPlugin = fp(auth, { name: 'appserving-auth', fastify: '5.x' });

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
