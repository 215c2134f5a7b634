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
