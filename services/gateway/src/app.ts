import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { httpErrorBodyOf, httpStatusOf, isAppServingError, registerOpsRoutes, RetryableError, type Database, type ReadinessCheck, type SecretBox } from '@appserving/shared';
import type { FastifyError, FastifyReply, FastifyRequest, FastifyInstance } from 'fastify';
import type { JetStreamClient } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import type { Kysely } from 'kysely';
import type { Registry } from 'prom-client';
import type { ArtifactStore } from '@appserving/shared/artifacts';
import { authPlugin } from './auth/auth.plugin.ts';
import type { AuthFailureThrottle } from './auth/failure-throttle.ts';
import type { PrincipalCache } from './auth/principal-cache.ts';
import { acceptEmptyJsonBodies, frameworkCode } from './http/json-body.ts';
import { nameOperations, publishedDocument } from './http/openapi.ts';
import { typeboxValidatorCompiler } from './http/validation.ts';
import { appMetricsRoutes } from './routes/app-metrics.routes.ts';
import { appStatusRoutes } from './routes/app-status.routes.ts';
import { appsRoutes, type AppsRoutesDeps } from './routes/apps.routes.ts';
import { artifactsRoutes } from './routes/artifacts.routes.ts';
import { clustersRoutes, type ClustersRoutesDeps } from './routes/clusters.routes.ts';
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
  /** How clusters are proven before they are registered, and their health. */
  clusters: Pick<ClustersRoutesDeps, 'addresses' | 'probe' | 'health'>;
  /** Failed authentications per client address (429 past the limit); absent: not throttled. */
  authThrottle?: AuthFailureThrottle | undefined;
  /** What an operator should know about the platform's security (an open NATS, the development key): in /readyz. */
  warnings?: () => readonly string[];
}

/**
 * The gateway as a plain fastify plugin: authentication, validation, routes and the one error handler.
 * `service.ts` owns listening and closing; tests drive this with `inject()` or a real socket.
 */
export async function gatewayApp(app: FastifyInstance, deps: GatewayDeps): Promise<void> {
  app.setValidatorCompiler(typeboxValidatorCompiler);
  app.setErrorHandler(errorHandler);
  acceptEmptyJsonBodies(app);
  nameOperations(app);
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: { code: 'route_not_found', message: `no route ${request.method} ${request.url.split('?')[0] ?? ''}` } }),
  );
  app.addHook('onSend', securityHeaders);
  // First, so its hook covers every route registered after it; probes, metrics and the API docs stay open.
  await app.register(authPlugin, { db: deps.db, cache: deps.principalCache, box: deps.box, throttle: deps.authThrottle });
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
    transformObject: (documentObject) => publishedDocument('openapiObject' in documentObject ? documentObject.openapiObject : documentObject.swaggerObject),
  });
  await app.register(swaggerUi, {
    routePrefix: '/docs',
    // No call to the public validator (the page would send the API description to validator.swagger.io).
    uiConfig: { validatorUrl: null },
    // The plugin's policy, with hashes of its own inline script and style, made stricter: no framing, no images
    // from elsewhere, and no upgrade of requests (the gateway is plain http on a laptop).
    staticCSP: true,
    transformStaticCSP: (header) =>
      header
        .replace(' validator.swagger.io', '')
        .replace("frame-ancestors 'self'", "frame-ancestors 'none'")
        .replace(/\s*upgrade-insecure-requests;?/, '')
        .trim(),
  });
  app.get('/openapi.json', { schema: { hide: true } }, async () => app.swagger());
  registerOpsRoutes(app, { ...deps, ...(deps.warnings ? { warnings: deps.warnings } : {}) });
  await app.register(appsRoutes, deps.apps);
  await app.register(appStatusRoutes, { db: deps.db, js: deps.js, ...(deps.nc ? { nc: deps.nc } : {}), principalOf: (request) => deps.apps.principalOf(request) });
  await app.register(appMetricsRoutes, { db: deps.db, ...(deps.nc ? { nc: deps.nc } : {}), principalOf: (request) => deps.apps.principalOf(request) });
  await app.register(artifactsRoutes, { store: deps.artifacts });
  await app.register(clustersRoutes, { db: deps.db, box: deps.box, ...deps.clusters, outbox: deps.apps.outbox, source: deps.apps.source });
  await app.register(projectsRoutes, { db: deps.db });
  await app.register(webSessionRoutes, { db: deps.db, box: deps.box, throttle: deps.authThrottle });
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
  void reply.code(status).send({ error: { code: frameworkCode(error), message: error.message } });
}


/** The one error handler: the shared error kinds map to their status; 5xx never shows internals. */
export function errorHandler(error: FastifyError, request: FastifyRequest, reply: FastifyReply) {
  if (isAppServingError(error)) {
    // A 503 says when to come back when the error knows (the watcher's logs, a transaction that kept conflicting).
    if (error instanceof RetryableError && error.retryAfterMs !== undefined) void reply.header('retry-after', String(Math.max(1, Math.ceil(error.retryAfterMs / 1000))));
    return reply.code(httpStatusOf(error)).send(httpErrorBodyOf(error));
  }
  // fastify's own 4xx (malformed JSON, body too large, unsupported media type) pass through with their status. A
  // body declared larger than the limit is refused from its Content-Length, before it is read.
  if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
    return reply.code(error.statusCode).send({ error: { code: frameworkCode(error), message: error.message } });
  }
  request.log.error({ err: error }, 'request failed');
  return reply.code(500).send(httpErrorBodyOf(error));
}

/**
 * Headers of every answer: no MIME sniffing anywhere; an HTML page (the API docs, the console, an error page)
 * additionally may not be framed or leak its URL, and gets a deny-all policy when its route set none.
 */
async function securityHeaders(_request: FastifyRequest, reply: FastifyReply, payload: unknown) {
  void reply.header('x-content-type-options', 'nosniff');
  const type = reply.getHeader('content-type');
  if (typeof type === 'string' && type.startsWith('text/html')) {
    if (!reply.hasHeader('content-security-policy')) void reply.header('content-security-policy', "default-src 'none'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'");
    if (!reply.hasHeader('x-frame-options')) void reply.header('x-frame-options', 'DENY');
    if (!reply.hasHeader('referrer-policy')) void reply.header('referrer-policy', 'no-referrer');
    if (!reply.hasHeader('cross-origin-opener-policy')) void reply.header('cross-origin-opener-policy', 'same-origin');
  }
  return payload;
}
