import { createBuilder } from '@appserving/builder';
import { builderSettings } from '@appserving/builder/config';
import { createDeployer } from '@appserving/deployer';
import { deployerSettings } from '@appserving/deployer/config';
import { createGateway } from '@appserving/gateway';
import { gatewaySettings } from '@appserving/gateway/config';
import { commonSettings, exitOnSignals, exitOnStartupError, startServiceProcess } from '@appserving/shared';
import { createWatcher } from '@appserving/watcher';
import { watcherSettings } from '@appserving/watcher/config';

/** All four services in one process, sharing one NATS connection and one database pool. */
const { httpPort: gatewayPort, ...gatewayOwnSettings } = gatewaySettings;
const platformSettings = {
  ...commonSettings,
  ...gatewayOwnSettings,
  gatewayPort,
  builderPort: builderSettings.httpPort,
  deployerPort: deployerSettings.httpPort,
  watcherPort: watcherSettings.httpPort,
} as const;

const running = await startServiceProcess({
  service: 'platform',
  settings: platformSettings,
  env: process.env,
  units: (runtime, config) => [
    createWatcher(runtime, { httpHost: config.httpHost, httpPort: config.watcherPort }),
    createBuilder(runtime, { httpHost: config.httpHost, httpPort: config.builderPort }),
    createDeployer(runtime, { httpHost: config.httpHost, httpPort: config.deployerPort }),
    createGateway(runtime, { ...config, httpPort: config.gatewayPort }),
  ],
}).catch((error: unknown) => exitOnStartupError('platform', error));

running.log.info('AppServing is running: REST API on the gateway port, health on every service port');

exitOnSignals(running);
