import type { DeployStepV1, ReleaseRefV1 } from '@appserving/shared';
import type Type from 'typebox';

export type DeployStep = Type.Static<typeof DeployStepV1.data>['step'];

/**
 * One deploy step event. Its id is derived from the release and the step (`<release_id>.deploy.<step>`), so a
 * redelivered command that repeats the step publishes nothing new (docs/release-lifecycle.md).
 */
export function deployStep(release: ReleaseRefV1, step: DeployStep, extra: { helmRevision?: number; reason?: string; endpoint?: string | null } = {}) {
  return {
    id: `${release.release_id}.deploy.${step}`,
    appId: release.app_id,
    data: {
      release,
      step,
      ...(extra.helmRevision === undefined ? {} : { helm_revision: extra.helmRevision }),
      ...(extra.reason === undefined ? {} : { reason: extra.reason.slice(0, 4_000) }),
      ...(extra.endpoint ? { endpoint: extra.endpoint } : {}),
    },
  };
}
