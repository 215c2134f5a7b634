import swagger from '@fastify/swagger';
import swaggerUi from '@fastify/swagger-ui';
import { httpErrorBodyOf, httpStatusOf, isAppServingError, registerOpsRoutes, type ReadinessCheck } from '@appserving/shared';
import type { FastifyError, FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';
import { typeboxValidatorCompiler } from './http/validation.ts';
import { appsRoutes, type AppsRoutesDeps } from './routes/apps.routes.ts';

export interface GatewayDeps {
  registry: Registry;
  checks: readonly ReadinessCheck[];
  isShuttingDown: () => boolean;
  apps: AppsRoutesDeps;
}

/**
 * The gateway as a plain fastify plugin: routes, validation and the one error handler. `service.ts` owns
 * listening and closing; tests drive this with `inject()` or a real socket.
 */
export async function gatewayApp(app: FastifyInstance, deps: GatewayDeps): Promise<void> {
  app.setValidatorCompiler(typeboxValidatorCompiler);
  app.setErrorHandler(errorHandler);
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: { code: 'route_not_found', message: `no route ${request.method} ${request.url.split('?')[0] ?? ''}` } }),
  );
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
}

function errorHandler(this: FastifyInstance, error: FastifyError, request: Parameters<Parameters<FastifyInstance['setErrorHandler']>[0]>[1], reply: Parameters<Parameters<FastifyInstance['setErrorHandler']>[0]>[2]) {
  if (isAppServingError(error)) return reply.code(httpStatusOf(error)).send(httpErrorBodyOf(error));
  // fastify's own 4xx (malformed JSON, body too large, unsupported media type) pass through with their code.
  if (error.statusCode !== undefined && error.statusCode >= 400 && error.statusCode < 500) {
    return reply.code(error.statusCode).send({ error: { code: (error.code ?? 'bad_request').toLowerCase(), message: error.message } });
  }
  request.log.error({ err: error }, 'request failed');
  return reply.code(500).send(httpErrorBodyOf(error));
}
