import { exitOnSignals, exitOnStartupError, startServiceProcess } from '@appserving/shared';
import { gatewaySettings } from './config.ts';
import { createGateway } from './service.ts';

const running = await startServiceProcess({
  service: 'gateway',
  settings: gatewaySettings,
  env: process.env,
  units: (runtime, config) => [createGateway(runtime, config)],
}).catch((error: unknown) => exitOnStartupError('gateway', error));

exitOnSignals(running);
