import {
  BuildCommandV1,
  BuildFailedV1,
  BuildProgressV1,
  BuildStartedV1,
  BuildSucceededV1,
  DeleteCommandV1,
  DeployCommandV1,
  DeployStepV1,
  on,
  type Handler,
} from '@appserving/shared';
import type { Database } from '@appserving/shared';
import type { Kysely } from 'kysely';
import { registerCommandRelease } from '../adapters/command-registration.ts';
import { recordEndpoint } from '../adapters/release.repository.ts';
import type { StatusEngine } from '../engine/status-engine.ts';
import { buildFailedDiagnosis, helmFailedDiagnosis } from '../reconcile/diagnosis.ts';
import type { ReleaseInput } from '../reconcile/release-machine.ts';

/**
 * The status engine's message handlers: build and deploy events, and the commands that move a release
 * without an event (a deploy-only release starts deploying when its command is recorded; a delete cancels).
 * Each applies one input; replays and late arrivals change nothing (the machine only moves forward).
 */
export function createStatusHandlers(deps: { engine: StatusEngine; db: Kysely<Database> }): { events: Handler[]; commands: Handler[] } {
  const { engine } = deps;
  const apply = (releaseId: string, input: ReleaseInput) => engine.advance(releaseId, () => [input]);

  const events: Handler[] = [
    on(BuildStartedV1, async (event) => {
      await apply(event.data.release.release_id, { type: 'build-started' });
    }),
    // Progress lines land in the timeline (projection), where the deadline check finds them.
    on(BuildProgressV1, async () => {}),
    on(BuildSucceededV1, async (event) => {
      await apply(event.data.release.release_id, { type: 'build-succeeded', image: event.data.image, digest: event.data.digest });
    }),
    on(BuildFailedV1, async (event) => {
      await apply(event.data.release.release_id, { type: 'build-failed', diagnosis: buildFailedDiagnosis(event.data.reason, event.data.log_tail) });
    }),
    on(DeployStepV1, async (event, ctx) => {
      const { release, step } = event.data;
      switch (step) {
        case 'applied':
          // Where people reach the release is a fact the deployer reports, not a status: recorded as it comes.
          if (event.data.endpoint) await recordEndpoint(deps.db, release.release_id, event.data.endpoint);
          await apply(release.release_id, { type: 'applied', helmRevision: event.data.helm_revision });
          return;
        case 'failed':
          await apply(release.release_id, { type: 'deploy-failed', diagnosis: helmFailedDiagnosis(event.data.reason ?? 'helm reported a failure without a message', event.data.helm_revision ?? null) });
          return;
        case 'waiting-promotion':
          await apply(release.release_id, { type: 'waiting-promotion' });
          return;
        case 'promoted':
          await apply(release.release_id, { type: 'promoting' });
          return;
        case 'deleted':
          await engine.appDeleted(release.app_id);
          return;
        case 'delete-failed':
          // The deployer gave up: the delete operation ends; the app stays `deleting` (delete again, or with force).
          await engine.deleteFailed(release.app_id);
          return;
        case 'aborted':
        case 'rolled-back':
          // The outcome comes from Flagger (Failed after the gate closed): the abort is in the timeline.
          ctx.log.debug({ step }, 'recorded; the status follows what Flagger does');
          return;
      }
    }),
  ];

  // A command from another producer than the gateway names a release the platform does not know yet: it is
  // registered first (the builder and deployer wait for that), then followed like any other.
  const commands: Handler[] = [
    on(BuildCommandV1, async (event) => {
      const { release, spec, then_deploy: thenDeploy } = event.data;
      await registerCommandRelease(deps.db, { ref: release, spec, taskType: thenDeploy ? 'all' : 'build', image: null, commandId: event.id });
    }),
    on(DeployCommandV1, async (event) => {
      const { release, spec, image } = event.data;
      await registerCommandRelease(deps.db, { ref: release, spec, taskType: 'deploy', image, commandId: event.id });
      await apply(release.release_id, { type: 'deploy-requested', image });
    }),
    on(DeleteCommandV1, async (event) => {
      // A forced delete forgets the app at once, whatever its cluster does: it cannot wait for the deployer.
      if (event.data.force) await engine.appDeleted(event.data.release.app_id);
      else await engine.cancelApp(event.data.release.app_id);
    }),
  ];

  return { events, commands };
}
