import { exitOnSignals, exitOnStartupError, startServiceProcess } from '@appserving/shared';
import { watcherSettings } from './config.ts';
import { createWatcher } from './service.ts';

const running = await startServiceProcess({
  service: 'watcher',
  settings: watcherSettings,
  env: process.env,
  units: (runtime, config) => [createWatcher(runtime, config)],
}).catch((error: unknown) => exitOnStartupError('watcher', error));

exitOnSignals(running);
