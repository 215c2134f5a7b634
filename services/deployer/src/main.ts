import { exitOnSignals, exitOnStartupError, startServiceProcess } from '@appserving/shared';
import { deployerSettings } from './config.ts';
import { createDeployer } from './service.ts';

const running = await startServiceProcess({
  service: 'deployer',
  settings: deployerSettings,
  env: process.env,
  units: (runtime, config) => [createDeployer(runtime, config)],
}).catch((error: unknown) => exitOnStartupError('deployer', error));

exitOnSignals(running);
