import { commonSettings, portSchema, setting } from '@appserving/shared';

export const deployerSettings = {
  ...commonSettings,
  httpPort: setting({
    env: 'APPSERVING_DEPLOYER_PORT',
    schema: portSchema(),
    default: 9114,
    description: 'Port of the deployer\'s health, readiness and metrics server.',
  }),
} as const;
