import type { Database } from '@appserving/shared';
import type { FastifyInstance } from 'fastify';
import type { Kysely } from 'kysely';
import { createApiToken, listApiTokens, revokeApiToken, type ApiTokenView } from '../auth/api-tokens.ts';
import { requireAdmin } from '../auth/auth.plugin.ts';
import type { TokenView } from '../schemas/access.schemas.ts';
import { CreatedToken, CreateTokenBody, ErrorBody, IdParams, TokenList } from '../schemas/access.schemas.ts';

export interface TokensRoutesDeps {
  db: Kysely<Database>;
  /** Called once a token is revoked, so cached principals of it are dropped (here and on other replicas). */
  onRevoked?: (tokenId: string) => void;
}

const errors = { 400: ErrorBody, 401: ErrorBody, 403: ErrorBody, 404: ErrorBody, 409: ErrorBody };

/** `GET /tokens`, `POST /tokens` (the plaintext token is in this answer only), `DELETE /tokens/{id}`: all admin. */
export async function tokensRoutes(app: FastifyInstance, deps: TokensRoutesDeps): Promise<void> {
  const { db } = deps;

  app.get('/tokens', {
    preHandler: requireAdmin('list tokens'),
    schema: { tags: ['tokens'], summary: 'Every API token, without its secret (admin)', response: { 200: TokenList, 401: ErrorBody, 403: ErrorBody } },
  }, async () => ({ tokens: (await listApiTokens(db)).map(tokenView) }));

  app.post<{ Body: CreateTokenBody }>('/tokens', {
    preHandler: requireAdmin('create tokens'),
    schema: {
      tags: ['tokens'],
      summary: 'Create an API token scoped to projects, or an admin token (admin); the token is shown once',
      body: CreateTokenBody,
      response: { 201: CreatedToken, ...errors },
    },
  }, async (request, reply) => {
    const { name, project_ids: projectIds = [], admin = false } = request.body;
    const created = await createApiToken(db, { name, admin, projectIds });
    request.log.info({ createdTokenId: created.id, isAdmin: created.is_admin, projectIds: created.project_ids }, 'API token created');
    return reply
      .code(201)
      .header('cache-control', 'no-store')
      .send({ ...created, created_at: created.created_at.toISOString() });
  });

  app.delete<{ Params: IdParams }>('/tokens/:id', {
    preHandler: requireAdmin('revoke tokens'),
    schema: { tags: ['tokens'], summary: 'Revoke an API token (admin)', params: IdParams, response: { ...errors } },
  }, async (request, reply) => {
    await revokeApiToken(db, request.params.id);
    deps.onRevoked?.(request.params.id);
    request.log.info({ revokedTokenId: request.params.id }, 'API token revoked');
    return reply.code(204).send();
  });
}

function tokenView(row: ApiTokenView): TokenView {
  return {
    ...row,
    created_at: row.created_at.toISOString(),
    last_used_at: row.last_used_at?.toISOString() ?? null,
    revoked_at: row.revoked_at?.toISOString() ?? null,
  };
}
