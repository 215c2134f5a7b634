import { DeleteCommandV1, isAppServingError, LABELS, on, type Handler, type Publisher } from '@appserving/shared';
import type { KanikoBuilds } from '../adapters/kaniko-builds.ts';
import { publishBuildFailed } from './build-events.ts';

export const CANCELLED_BY_DELETE = 'cancelled: app deleted';

/**
 * A delete cancels the app's running builds: each build Pod is marked and removed, and its release fails with
 * the reason. The build's own handler, if it is still waiting on the Pod, sees it go and reports the same event
 * id (`<release>.build.failed`), so the release gets one result either way. A direct build, which has no Pod,
 * checks the app before it starts and before it pushes.
 */
export function deleteHandler(deps: { kaniko: KanikoBuilds; publisher: Publisher }): Handler {
  return on(DeleteCommandV1, async (event, ctx) => {
    const { release } = event.data;
    let pods;
    try {
      pods = await deps.kaniko.ofApp(release.cluster_id, release.app_id);
    } catch (error) {
      // The app's cluster was removed from the registry: there is nothing of it left to cancel.
      if (isAppServingError(error) && error.kind === 'not-found') {
        ctx.log.info({ err: error }, 'app cluster not registered; no builds to cancel');
        return;
      }
      throw error;
    }
    for (const pod of pods) {
      const labels = pod.metadata?.labels ?? {};
      const releaseId = labels[LABELS.releaseId];
      if (!releaseId) continue;
      await deps.kaniko.remove(release.cluster_id, releaseId, CANCELLED_BY_DELETE);
      const ref = { app_id: release.app_id, app_name: release.app_name, release_id: releaseId, version: Number(labels[LABELS.releaseVersion] ?? release.version) || 1, cluster_id: release.cluster_id };
      await publishBuildFailed(deps.publisher, ref, CANCELLED_BY_DELETE);
      ctx.log.info({ releaseId, pod: pod.metadata?.name }, 'build cancelled: app deleted');
    }
  });
}
