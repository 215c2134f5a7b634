import { createBuilder } from '@appserving/builder';
import { createDeployer } from '@appserving/deployer';
import { createGateway } from '@appserving/gateway';
import { exitOnSignals, exitOnStartupError, startServiceProcess } from '@appserving/shared';
import { createWatcher } from '@appserving/watcher';
import { platformSettings } from './platform-settings.ts';

/** All four services in one process, sharing one NATS connection and one database pool. */
const running = await startServiceProcess({
  service: 'platform',
  settings: platformSettings,
  env: process.env,
  units: (runtime, config) => [
    createWatcher(runtime, { ...config, httpPort: config.watcherPort }),
    createBuilder(runtime, { ...config, httpPort: config.builderPort }),
    createDeployer(runtime, { ...config, httpPort: config.deployerPort }),
    createGateway(runtime, { ...config, httpPort: config.gatewayPort }),
  ],
}).catch((error: unknown) => exitOnStartupError('platform', error));

running.log.info('AppServing is running: REST API on the gateway port, health on every service port');

exitOnSignals(running);
