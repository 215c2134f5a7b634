import type { Runtime, ServiceUnit } from '@appserving/shared';
import Fastify from 'fastify';
import { gatewayApp } from './app.ts';

export function createGateway(runtime: Runtime, config: { httpHost: string; httpPort: number }): ServiceUnit {
  const app = Fastify({ loggerInstance: runtime.log.child({ component: 'http' }), disableRequestLogging: false });
  void app.register(gatewayApp, {
    registry: runtime.metrics.registry,
    checks: runtime.readinessChecks(),
    isShuttingDown: () => runtime.isShuttingDown(),
  });
  return {
    name: 'gateway',
    async start() {
      const address = await app.listen({ host: config.httpHost, port: config.httpPort });
      runtime.log.info({ address }, 'gateway listening');
    },
    // The gateway consumes nothing; it stops taking requests when its server closes.
    stopConsuming: async () => {},
    closeServer: () => app.close(),
  };
}
