import { exitOnStartupError, startServiceProcess } from '@appserving/shared';
import { builderSettings } from './config.ts';
import { createBuilder } from './service.ts';

const running = await startServiceProcess({
  service: 'builder',
  settings: builderSettings,
  env: process.env,
  units: (runtime, config) => [createBuilder(runtime, config)],
}).catch((error: unknown) => exitOnStartupError('builder', error));

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
