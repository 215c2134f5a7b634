import { exitOnStartupError, startServiceProcess } from '@appserving/shared';
import { gatewaySettings } from './config.ts';
import { createGateway } from './service.ts';

const running = await startServiceProcess({
  service: 'gateway',
  settings: gatewaySettings,
  env: process.env,
  units: (runtime, config) => [createGateway(runtime, config)],
}).catch((error: unknown) => exitOnStartupError('gateway', error));

for (const signal of ['SIGTERM', 'SIGINT'] as const) {
  process.once(signal, () => {
    running.shutdown(signal).then(
      () => process.exit(0),
      (error: unknown) => {
        running.log.error({ err: error }, 'shutdown failed');
        process.exit(1);
      },
    );
  });
}
