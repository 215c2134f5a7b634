import { exitOnStartupError, startServiceProcess } from '@appserving/shared';
import { deployerSettings } from './config.ts';
import { createDeployer } from './service.ts';

const running = await startServiceProcess({
  service: 'deployer',
  settings: deployerSettings,
  env: process.env,
  units: (runtime, config) => [createDeployer(runtime, config)],
}).catch((error: unknown) => exitOnStartupError('deployer', error));

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
