import { commonSettings, portSchema, setting } from '@appserving/shared';

export const watcherSettings = {
  ...commonSettings,
  httpPort: setting({
    env: 'APPSERVING_WATCHER_PORT',
    schema: portSchema(),
    default: 9115,
    description: 'Port of the watcher\'s health, readiness and metrics server.',
  }),
} as const;
