import type { Database, SecretBox } from '@appserving/shared';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import Type from 'typebox';
import { authenticateToken, hashApiToken, tokenPrefixOf } from '../auth/api-tokens.ts';
import { isHttps, throttled } from '../auth/auth.plugin.ts';
import type { AuthFailureThrottle } from '../auth/failure-throttle.ts';
import { clearedSessionCookie, isSameOrigin, newSession, sealSession, sessionCookie } from '../auth/session.ts';
import { ErrorBody } from '../schemas/app.schemas.ts';

export interface WebSessionRoutesDeps {
  db: Kysely<Database>;
  box: SecretBox;
  /** A sign-in with an unknown token is a failed authentication like any other (429 past the limit). */
  throttle?: AuthFailureThrottle | undefined;
}

const SignInBody = Type.Object(
  { token: Type.String({ minLength: 1, maxLength: 1024, pattern: '^[A-Za-z0-9._~+/-]+=*$', errorMessage: 'must be an API token (aps_…)' }) },
  { additionalProperties: false },
);
type SignInBody = Type.Static<typeof SignInBody>;

const SessionView = Type.Object({
  csrf_token: Type.String({ description: 'Send as x-csrf-token on every POST, PATCH and DELETE made with the session.' }),
  token_prefix: Type.String(),
  is_admin: Type.Boolean(),
  project_ids: Type.Array(Type.String()),
  expires_at: Type.String(),
});

/**
 * The web console's sign-in (auth/session.ts): `POST /session` trades an API token for an httpOnly session
 * cookie, `GET /session` tells the page who it is and its CSRF value, `DELETE /session` signs out.
 */
export async function webSessionRoutes(app: FastifyInstance, deps: WebSessionRoutesDeps): Promise<void> {
  app.post<{ Body: SignInBody }>(
    '/session',
    {
      schema: {
        tags: ['console'],
        summary: 'Sign the web console in with an API token: sets an httpOnly, SameSite=Strict session cookie (the token is never readable by the page)',
        security: [],
        body: SignInBody,
        response: { 200: SessionView, 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 429: ErrorBody },
      },
    },
    async (request, reply) => {
      // A sign-in forged by another site would log the victim into the attacker's token (login CSRF).
      if (!isSameOrigin(request.headers)) {
        return reply.code(403).send({ error: { code: 'csrf_check_failed', message: 'sign in from the console\'s own origin' } });
      }
      const { token } = request.body;
      const hash = hashApiToken(token);
      const retryMs = deps.throttle?.blockedFor(request.ip) ?? 0;
      if (retryMs > 0 && deps.throttle?.proven(hash) !== true) return throttled(reply, retryMs);
      const principal = await authenticateToken(deps.db, token);
      if (!principal) {
        deps.throttle?.failed(request.ip);
        return reply.code(401).send({ error: { code: 'unauthorized', message: 'the API token is unknown or revoked' } });
      }
      deps.throttle?.succeeded(hash);
      const session = newSession(token);
      request.log.info({ tokenId: principal.tokenId }, 'console session started');
      return reply
        .header('set-cookie', sessionCookie(sealSession(deps.box, session), { secure: isHttps(request) }))
        .header('cache-control', 'no-store')
        .send({
          csrf_token: session.csrf,
          token_prefix: tokenPrefixOf(token),
          is_admin: principal.isAdmin,
          project_ids: [...principal.projectIds],
          expires_at: new Date(session.expiresAt).toISOString(),
        });
    },
  );

  app.get(
    '/session',
    { schema: { tags: ['console'], summary: 'The console session: who it is and its CSRF value (404 for a bearer token)', response: { 200: SessionView, 401: ErrorBody, 404: ErrorBody } } },
    async (request, reply) => {
      const { session, principal } = request;
      if (!session || !principal) return reply.code(404).send({ error: { code: 'no_session', message: 'this request is not made with a console session' } });
      return reply.header('cache-control', 'no-store').send({
        csrf_token: session.csrf,
        token_prefix: tokenPrefixOf(session.token),
        is_admin: principal.isAdmin,
        project_ids: [...principal.projectIds],
        expires_at: new Date(session.expiresAt).toISOString(),
      });
    },
  );

  app.delete('/session', { schema: { tags: ['console'], summary: 'Sign the console out (clears the session cookie)', response: { 204: Type.Null(), 401: ErrorBody, 403: ErrorBody } } }, async (request, reply) =>
    reply.code(204).header('set-cookie', clearedSessionCookie({ secure: isHttps(request) })).send(),
  );
}
