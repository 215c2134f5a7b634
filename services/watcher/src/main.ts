import { exitOnStartupError, startServiceProcess } from '@appserving/shared';
import { watcherSettings } from './config.ts';
import { createWatcher } from './service.ts';

const running = await startServiceProcess({
  service: 'watcher',
  settings: watcherSettings,
  env: process.env,
  units: (runtime, config) => [createWatcher(runtime, config)],
}).catch((error: unknown) => exitOnStartupError('watcher', error));

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
