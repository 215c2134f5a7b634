import { commonSettings, portSchema, setting } from '@appserving/shared';
import Type from 'typebox';

const secretKey = '[A-Za-z0-9_.-]{1,32}:[A-Za-z0-9+/]{43}=';

export const gatewaySettings = {
  ...commonSettings,
  httpPort: setting({
    env: 'APPSERVING_GATEWAY_PORT',
    schema: portSchema(),
    default: 9112,
    description: 'Port of the REST API (the seed\'s `curl http://localhost:9112/apps/...`).',
  }),
  adminToken: setting({
    env: 'APPSERVING_ADMIN_TOKEN',
    schema: Type.String({ pattern: '^[A-Za-z0-9._~+/-]{32,512}=*$' }),
    default: '',
    description:
      'Admin API token stored (hashed) at the first start, when the database has no admin token yet; at least 32 characters (e.g. `openssl rand -base64 32`). Empty: one is generated and printed once to stderr. Ignored once an admin token exists.',
    secret: true,
  }),
  secretKeys: setting({
    env: 'APPSERVING_SECRET_KEYS',
    schema: Type.String({ pattern: `^${secretKey}( *, *${secretKey})*$` }),
    default: '',
    description:
      'Keys that encrypt kubeconfigs and app secrets at rest: `keyId:base64(32 bytes)`, comma-separated, the first encrypts, all decrypt (see docs/auth.md). Empty: a fixed development key, allowed only when the database is on 127.0.0.1.',
    secret: true,
  }),
  localClusterKubeconfig: setting({
    env: 'APPSERVING_LOCAL_CLUSTER_KUBECONFIG',
    schema: Type.String({ minLength: 1 }),
    default: '',
    description:
      'Kubeconfig file of the `local` cluster, registered (as the default cluster) at start, e.g. `~/.cache/appserving/cluster/run-26400/kubeconfig.yaml` written by `pnpm cluster:up`. Empty: none.',
  }),
  artifactHostAllowlist: setting({
    env: 'APPSERVING_ARTIFACT_HOST_ALLOWLIST',
    schema: Type.String(),
    default: '',
    description:
      'Hosts (`host` or `host:port`, comma-separated) an artifact_url may name even though they resolve to loopback, private or link-local addresses, e.g. an in-house Nexus (docs/artifacts.md).',
  }),
  artifactMaxBytes: setting({
    env: 'APPSERVING_ARTIFACT_MAX_BYTES',
    schema: Type.Integer({ minimum: 1024 }),
    default: 512 * 1024 * 1024,
    description: 'Largest artifact accepted by POST /artifacts and fetched by a build, in bytes.',
  }),
} as const;
