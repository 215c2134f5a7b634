import { exitOnSignals, exitOnStartupError, startServiceProcess } from '@appserving/shared';
import { builderSettings } from './config.ts';
import { createBuilder } from './service.ts';

const running = await startServiceProcess({
  service: 'builder',
  settings: builderSettings,
  env: process.env,
  units: (runtime, config) => [createBuilder(runtime, config)],
}).catch((error: unknown) => exitOnStartupError('builder', error));

exitOnSignals(running);
