import { commonSettings, portSchema, setting } from '@appserving/shared';

export const builderSettings = {
  ...commonSettings,
  httpPort: setting({
    env: 'APPSERVING_BUILDER_PORT',
    schema: portSchema(),
    default: 9113,
    description: 'Port of the builder\'s health, readiness and metrics server.',
  }),
} as const;
