import type { FastifyInstance } from 'fastify';
import type { Registry } from 'prom-client';

export interface ReadinessCheck {
  name: string;
  /** Resolves when the dependency is usable; rejects (or times out) otherwise. */
  check(): Promise<void>;
}

/**
 * `/healthz` (the process is alive), `/readyz` (every dependency answers; each check named in the body) and
 * `/metrics` (Prometheus). Registered on the gateway's API server and on each worker's small ops server.
 */
export function registerOpsRoutes(
  app: FastifyInstance,
  deps: {
    registry: Registry;
    checks: readonly ReadinessCheck[];
    isShuttingDown: () => boolean;
    /** What an operator should know that does not make the service unready (e.g. an unauthenticated NATS): `warnings`. */
    warnings?: () => readonly string[];
  },
): void {
  // Probes and scrapes come every few seconds: logged only when something is wrong.
  const quiet = { logLevel: 'warn' as const };
  app.get('/healthz', quiet, async () => ({ status: 'ok' }));

  app.get('/readyz', quiet, async (_request, reply) => {
    if (deps.isShuttingDown()) {
      return reply.code(503).send({ status: 'shutting-down', checks: {} });
    }
    const results = await Promise.all(
      deps.checks.map(async (c) => {
        try {
          await withTimeout(c.check(), 2_000, `${c.name} did not answer within 2s`);
          return [c.name, { ok: true }] as const;
        } catch (error) {
          return [c.name, { ok: false, error: error instanceof Error ? error.message : String(error) }] as const;
        }
      }),
    );
    const ready = results.every(([, r]) => r.ok);
    const warnings = deps.warnings?.() ?? [];
    return reply.code(ready ? 200 : 503).send({ status: ready ? 'ready' : 'not-ready', checks: Object.fromEntries(results), ...(warnings.length > 0 ? { warnings } : {}) });
  });

  app.get('/metrics', quiet, async (_request, reply) => {
    return reply.header('content-type', deps.registry.contentType).send(await deps.registry.metrics());
  });
}

async function withTimeout<T>(promise: Promise<T>, ms: number, message: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_, reject) => (timer = setTimeout(() => reject(new Error(message)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}
