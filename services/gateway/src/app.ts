import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { httpErrorBodyOf, httpStatusOf, isAppServingError, registerOpsRoutes, type Database, type ReadinessCheck, type SecretBox } from '@appserving/shared';
import type { FastifyError, FastifyReply, FastifyRequest, FastifyInstance } from 'fastify';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import type { Kysely } from 'kysely';
import type { Registry } from 'prom-client';
import type { ArtifactStore } from '@appserving/shared/artifacts';
import { authPlugin } from './auth/auth.plugin.ts';
import type { PrincipalCache } from './auth/principal-cache.ts';
import { typeboxValidatorCompiler } from './http/validation.ts';
import { appStatusRoutes } from './routes/app-status.routes.ts';
import { appsRoutes, type AppsRoutesDeps } from './routes/apps.routes.ts';
import { artifactsRoutes } from './routes/artifacts.routes.ts';
import { clustersRoutes } from './routes/clusters.routes.ts';
import { projectsRoutes } from './routes/projects.routes.ts';
import { tokensRoutes } from './routes/tokens.routes.ts';
import { webRoutes } from './routes/web.routes.ts';
import { webSessionRoutes } from './routes/web-session.routes.ts';

export interface GatewayDeps {
  db: Kysely<Database>;
  box: SecretBox;
  registry: Registry;
  checks: readonly ReadinessCheck[];
  isShuttingDown: () => boolean;
  apps: AppsRoutesDeps;
  artifacts: ArtifactStore;
  js: JetStreamClient;
  /** Core NATS for request/reply: GET /apps/{id}/logs asks the watcher. */
  nc?: NatsConnection;
  /** Principals of recently seen tokens; absent: every request looks its token up. */
  principalCache?: PrincipalCache | undefined;
  /** Announces a revoked token to the other replicas (their caches drop it). */
  announceRevoked?: (tokenId: string) => void;
  /** The web console's build output (packages/web/dist), served under /console/; absent: no console. */
  webDir?: string | undefined;
}

/**
 * The gateway as a plain fastify plugin: authentication, validation, routes and the one error handler.
 * `service.ts` owns listening and closing; tests drive this with `inject()` or a real socket.
 */
export async function gatewayApp(app: FastifyInstance, deps: GatewayDeps): Promise<void> {
  app.setValidatorCompiler(typeboxValidatorCompiler);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: { code: 'route_not_found', message: `no route ${request.method} ${request.url.split('?')[0] ?? ''}` } }),
  );
  // First, so its hook covers every route registered after it; probes, metrics and the API docs stay open.
  await app.register(authPlugin, { db: deps.db, cache: deps.principalCache, box: deps.box });
  await app.register(swagger, {
    openapi: {
      openapi: '3.1.0',
      info: {
        title: 'AppServing API',
        version: '1.0.0',
        description: 'Deploy a jar, war or Python app to Kubernetes with one call. Every 4xx carries `{ error: { code, message, details } }`.',
      },
      components: { securitySchemes: { bearer: { type: 'http', scheme: 'bearer' } } },
      security: [{ bearer: [] }],
    },
  });
  await app.register(swaggerUi, { routePrefix: '/docs' });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  registerOpsRoutes(app, deps);
  await app.register(appsRoutes, deps.apps);
  await app.register(appStatusRoutes, { db: deps.db, js: deps.js, ...(deps.nc ? { nc: deps.nc } : {}), principalOf: (request) => deps.apps.principalOf(request) });
  await app.register(artifactsRoutes, { store: deps.artifacts });
  await app.register(clustersRoutes, { db: deps.db, box: deps.box });
  await app.register(projectsRoutes, { db: deps.db });
  await app.register(webSessionRoutes, { db: deps.db, box: deps.box });
  if (deps.webDir !== undefined) await app.register(webRoutes, { dir: deps.webDir });
  await app.register(tokensRoutes, {
    db: deps.db,
    onRevoked: (tokenId) => {
      deps.principalCache?.forgetToken(tokenId);
      deps.announceRevoked?.(tokenId);
    },
  });
}

/**
 * Errors fastify raises before a route runs (a URL it cannot decode, a parameter too long): the same body
 * shape as every other error. Passed as `frameworkErrors` when the server is created.
 */
export function frameworkErrors(error: FastifyError, _request: FastifyRequest, reply: FastifyReply) {
  const status = error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500 ? error.statusCode : 400;
  void reply.code(status).send({ error: { code: (error.code ?? 'bad_request').toLowerCase(), message: error.message } });
}

/** The one error handler: the shared error kinds map to their status; 5xx never shows internals. */
export function errorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  if (isAppServingError(error)) return reply.code(httpStatusOf(error)).send(httpErrorBodyOf(error));
  // fastify's own 4xx (malformed JSON, body too large, unsupported media type) pass through with their code.
  if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
    return reply.code(error.statusCode).send({ error: { code: (error.code ?? 'bad_request').toLowerCase(), message: error.message } });
  }
  request.log.error({ err: error }, 'request failed');
  return reply.code(500).send(httpErrorBodyOf(error));
}
