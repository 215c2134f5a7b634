import { httpErrorBodyOf, httpStatusOf, registerOpsRoutes, type ReadinessCheck } from '@appserving/shared';
import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';

export interface GatewayDeps {
  registry: Registry;
  checks: readonly ReadinessCheck[];
  isShuttingDown: () => boolean;
}

/**
 * The gateway as a plain fastify plugin: routes and the one error handler. `service.ts` owns listening and
 * closing; tests drive this with `inject()`.
 */
export async function gatewayApp(app: FastifyInstance, deps: GatewayDeps): Promise<void> {
  app.setErrorHandler((error, request, reply) => {
    // fastify's own 4xx (bad JSON, body too large, schema validation) pass through with their code.
    const { statusCode, code, message } = error as { statusCode?: number; code?: string; message?: string };
    if (statusCode !== undefined && statusCode >= 400 && statusCode < 500) {
      return reply.code(statusCode).send({ error: { code: code ?? 'bad_request', message: message ?? 'bad request' } });
    }
    const status = httpStatusOf(error);
    if (status >= 500) request.log.error({ err: error }, 'request failed');
    return reply.code(status).send(httpErrorBodyOf(error));
  });
  app.setNotFoundHandler((request, reply) =>
    reply.code(404).send({ error: { code: 'route_not_found', message: `no route ${request.method} ${request.url}` } }),
  );
  registerOpsRoutes(app, deps);
}
