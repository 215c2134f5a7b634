// Two gateway replicas sharing Postgres and NATS, each with a token cache: a revocation through one of them
// stops the token at once on both, long before the cache would expire.
import { createDatabase, migrateToLatest, type DatabaseHandle } from '@appserving/shared';
import { createThrowawayDatabase, startTestNatsServer, type TestNatsServer } from '@appserving/shared/testing';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { errorHandler } from '../app.ts';
import { typeboxValidatorCompiler } from '../http/validation.ts';
import { tokensRoutes } from '../routes/tokens.routes.ts';
import { bootstrapAdminToken, createApiToken } from './api-tokens.ts';
import { authPlugin } from './auth.plugin.ts';
import { createPrincipalCache, shareRevocations } from './principal-cache.ts';

const databaseServer = process.env.APPSERVING_TEST_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';
const adminToken = `aps_${'a'.repeat(40)}`;
let throwaway: Awaited<ReturnType<typeof createThrowawayDatabase>>;
let database: DatabaseHandle;
let nats: TestNatsServer;
const connections: NatsConnection[] = [];
const replicas: FastifyInstance[] = [];

async function replica(): Promise<FastifyInstance> {
  const nc = await connect({ servers: nats.url });
  connections.push(nc);
  // An hour: any refusal below comes from the revocation, not from expiry.
  const cache = createPrincipalCache({ ttlMs: 3_600_000 })!;
  const { announce } = shareRevocations(nc, cache);
  const app = Fastify();
  app.setValidatorCompiler(typeboxValidatorCompiler);
  app.setErrorHandler(errorHandler);
  await app.register(authPlugin, { db: database.db, cache });
  await app.register(tokensRoutes, {
    db: database.db,
    onRevoked: (tokenId) => {
      cache.forgetToken(tokenId);
      announce(tokenId);
    },
  });
  replicas.push(app);
  return app;
}

const listTokens = (app: FastifyInstance, token: string) => app.inject({ method: 'GET', url: '/tokens', headers: { authorization: `Bearer ${token}` } });

beforeAll(async () => {
  nats = await startTestNatsServer();
  throwaway = await createThrowawayDatabase(databaseServer);
  database = createDatabase({ url: throwaway.url, poolMax: 4, onPoolError: () => {} });
  await migrateToLatest(database.db);
  await bootstrapAdminToken(database.db, { configured: adminToken });
});

afterAll(async () => {
  for (const app of replicas) await app.close();
  for (const nc of connections) await nc.close();
  await database?.close();
  await throwaway?.drop();
  await nats?.dispose();
});

describe('token cache across replicas', () => {
  it('a token revoked through one replica is refused at once by it and within moments by the other', async () => {
    const [a, b] = [await replica(), await replica()];
    const { id, token } = await createApiToken(database.db, { name: 'doomed admin', admin: true, projectIds: [] });
    // Both replicas now hold the token in their caches.
    expect((await listTokens(a, token)).statusCode).toBe(200);
    expect((await listTokens(b, token)).statusCode).toBe(200);

    expect((await a.inject({ method: 'DELETE', url: `/tokens/${id}`, headers: { authorization: `Bearer ${adminToken}` } })).statusCode).toBe(204);
    expect((await listTokens(a, token)).statusCode).toBe(401);
    const started = Date.now();
    let status = 200;
    while (status !== 401 && Date.now() - started < 5_000) {
      status = (await listTokens(b, token)).statusCode;
      if (status !== 401) await new Promise((resolve) => setTimeout(resolve, 20));
    }
    expect(status).toBe(401);
  });

  it('serves a token it has seen from its cache (a revocation that bypasses the API is only seen after the ttl)', async () => {
    const app = await replica();
    const { id, token } = await createApiToken(database.db, { name: 'cached', admin: true, projectIds: [] });
    expect((await listTokens(app, token)).statusCode).toBe(200);
    // Revoked behind the gateway's back: no announcement, so only the cache can still let it through.
    await database.db.updateTable('api_tokens').set({ revoked_at: new Date() }).where('id', '=', id).execute();
    expect((await listTokens(app, token)).statusCode).toBe(200);
    const fresh = await replica();
    expect((await listTokens(fresh, token)).statusCode).toBe(401);
  });
});
