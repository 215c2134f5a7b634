import { builderSettings } from '@appserving/builder/config';
import { deployerSettings } from '@appserving/deployer/config';
import { gatewaySettings } from '@appserving/gateway/config';
import { commonSettings } from '@appserving/shared';
import { watcherSettings } from '@appserving/watcher/config';

/**
 * The settings of the all-in-one process: every service's own settings together (a setting two services share
 * is defined once, in one of them or in `commonSettings`), with each service's HTTP port under its own name.
 */
const { httpPort: gatewayPort, ...gatewayOwn } = gatewaySettings;
const { httpPort: builderPort, ...builderOwn } = builderSettings;
const { httpPort: deployerPort, ...deployerOwn } = deployerSettings;
const { httpPort: watcherPort, ...watcherOwn } = watcherSettings;

export const platformSettings = {
  ...commonSettings,
  ...gatewayOwn,
  ...builderOwn,
  ...deployerOwn,
  ...watcherOwn,
  gatewayPort,
  builderPort,
  deployerPort,
  watcherPort,
} as const;
