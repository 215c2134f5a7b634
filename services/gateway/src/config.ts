import { commonSettings, portSchema, setting } from '@appserving/shared';

export const gatewaySettings = {
  ...commonSettings,
  httpPort: setting({
    env: 'APPSERVING_GATEWAY_PORT',
    schema: portSchema(),
    default: 9112,
    description: 'Port of the REST API (the seed\'s `curl http://localhost:9112/apps/...`).',
  }),
} as const;
