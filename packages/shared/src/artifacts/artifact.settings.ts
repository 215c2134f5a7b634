import Type from 'typebox';
import { setting } from '../config/index.ts';
import { DEFAULT_ARTIFACT_MAX_BYTES } from './artifact-meter.ts';

/**
 * Settings of everything that reads artifacts: the gateway (uploads, create-time checks) and the builder (the
 * first fetch of an artifact_url). Both services spread this group, so the same variable means the same limit
 * in each and in the all-in-one process.
 */
export const artifactSettings = {
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
    default: DEFAULT_ARTIFACT_MAX_BYTES,
    description: 'Largest artifact accepted by POST /artifacts and fetched by a build, in bytes.',
  }),
} as const;

/**
 * The platform's own registry, read by the builder (it pushes there) and the gateway (an image_url on it is always
 * allowed, whatever its address: docs/artifacts.md, "Images").
 */
export const platformRegistrySetting = setting({
  env: 'APPSERVING_REGISTRY',
  schema: Type.String({ pattern: '^[A-Za-z0-9.\\-\\[\\]:]+(/[a-z0-9._\\-/]+)?$' }),
  default: '',
  description:
    'Registry (host[:port], optionally /path/prefix) that images are pushed to as <registry>/<namespace>/<app>:v<version>, e.g. harbor.example.com/appserving or 127.0.0.1:26408 for `pnpm cluster:up`. Empty: builds fail with a message asking for it. An image_url on this registry is always allowed.',
});
