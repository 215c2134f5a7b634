import { AbortCommandV1, DeployStepV1, on, PromoteCommandV1, type Handler, type Publisher } from '@appserving/shared';
import type { GateStore } from '../adapters/gate-store.ts';
import { deployStep } from '../domain/deploy-steps.ts';

export interface GateDeps {
  gates: GateStore;
  publisher: Publisher;
}

/**
 * promote.v1 opens the release's gate: the next time Flagger asks its confirm-promotion webhook, it promotes.
 * An aborted gate stays closed: an abort is final.
 */
export function promoteHandler(deps: GateDeps): Handler {
  return on(PromoteCommandV1, async (event, ctx) => {
    const { release } = event.data;
    const gate = await deps.gates.update(release, (g) => (g.state === 'closed' ? { ...g, state: 'open' } : undefined));
    const log = ctx.log.child({ appId: release.app_id, releaseId: release.release_id });
    if (gate.state === 'aborted') {
      log.warn('promote ignored: the release was aborted');
      return;
    }
    log.info('promotion gate open');
    await deps.publisher.publish(DeployStepV1, deployStep(release, 'promoted', { reason: 'promoted: the gate is open; Flagger promotes at its next check' }));
  });
}

/**
 * abort.v1 closes the release's gate for good: Flagger's rollback webhook now answers yes, so at its next check
 * Flagger routes all traffic back to the previous version and scales the new one down.
 */
export function abortHandler(deps: GateDeps): Handler {
  return on(AbortCommandV1, async (event, ctx) => {
    const { release } = event.data;
    await deps.gates.update(release, (g) => (g.state === 'aborted' ? undefined : { ...g, state: 'aborted' }));
    ctx.log.child({ appId: release.app_id, releaseId: release.release_id }).info('release aborted: the gate is closed for good');
    await deps.publisher.publish(DeployStepV1, deployStep(release, 'aborted', { reason: 'aborted: Flagger returns traffic to the previous version at its next check' }));
  });
}
