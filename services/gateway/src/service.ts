import type { Runtime, ServiceUnit } from '@appserving/shared';
import Fastify from 'fastify';
import { createOutboxRelay } from './adapters/outbox.ts';
import { gatewayApp } from './app.ts';
import type { AppsRoutesDeps } from './routes/apps.routes.ts';

export interface GatewayOptions {
  httpHost: string;
  httpPort: number;
  /** Largest request body (JSON); uploads have their own limit. */
  bodyLimitBytes?: number;
}

export function createGateway(runtime: Runtime, config: GatewayOptions, overrides?: Partial<Pick<AppsRoutesDeps, 'principalOf' | 'projectFor' | 'sealSecrets' | 'openSecrets'>>): ServiceUnit {
  const db = runtime.database.db;
  const outbox = createOutboxRelay({ db, publisher: runtime.messaging.publisher, log: runtime.log.child({ component: 'outbox' }) });
  const app = Fastify({ loggerInstance: runtime.log.child({ component: 'http' }), bodyLimit: config.bodyLimitBytes ?? 4 * 1024 * 1024 });
  void app.register(gatewayApp, {
    registry: runtime.metrics.registry,
    checks: runtime.readinessChecks(),
    isShuttingDown: () => runtime.isShuttingDown(),
    apps: {
      db,
      outbox,
      source: '/appserving/gateway',
      principalOf: overrides?.principalOf ?? (() => ({ id: 'anonymous', projects: 'all' })),
      projectFor: overrides?.projectFor ?? (async () => null),
      sealSecrets:
        overrides?.sealSecrets ??
        (() => {
          throw new Error('app secrets need a secret key (APPSERVING_SECRET_KEYS)');
        }),
      openSecrets:
        overrides?.openSecrets ??
        (() => {
          throw new Error('app secrets need a secret key (APPSERVING_SECRET_KEYS)');
        }),
    },
  });
  return {
    name: 'gateway',
    async start() {
      outbox.start();
      const address = await app.listen({ host: config.httpHost, port: config.httpPort });
      runtime.log.info({ address }, 'gateway listening');
    },
    // The gateway consumes nothing; the outbox relay stops before NATS drains.
    stopConsuming: () => outbox.stop(),
    closeServer: () => app.close(),
  };
}
