import { DeployStepV1, type Logger, type Publisher } from '@appserving/shared';
import type { FastifyInstance } from 'fastify';
import Type from 'typebox';
import type { GateRecord, GateStore } from '../adapters/gate-store.ts';
import { deployStep } from '../domain/deploy-steps.ts';
import type { GateTokens } from '../domain/gate-token.ts';
import { analysisComplaint, rollbackOutcome } from '../domain/flagger-events.ts';

export interface FlaggerWebhookDeps {
  gates: GateStore;
  tokens: GateTokens;
  publisher: Publisher;
  log: Logger;
}

const Params = Type.Object({
  appId: Type.String({ format: 'uuid' }),
  releaseId: Type.String({ format: 'uuid' }),
  token: Type.String({ minLength: 1, maxLength: 128 }),
  hook: Type.Enum(['confirm-promotion', 'rollback', 'event']),
});
type Params = Type.Static<typeof Params>;

/** Flagger's webhook payload (CanaryWebhookPayload). */
const Payload = Type.Object({
  name: Type.String(),
  namespace: Type.String(),
  phase: Type.Optional(Type.String()),
  checksum: Type.Optional(Type.String()),
  metadata: Type.Optional(Type.Record(Type.String(), Type.String())),
});
type Payload = Type.Static<typeof Payload>;

/**
 * The gates Flagger asks, at `/flagger/v1/apps/<app>/releases/<release>/<token>/<hook>` on the deployer's ops
 * port. Flagger treats 200 as yes and anything above 202 as no:
 * - `confirm-promotion`: yes once the release is promoted (the first no announces `waiting-promotion`);
 * - `rollback`: yes once the release is aborted (Flagger then rolls back);
 * - `event`: every Flagger event of the release; a rollback after a failed analysis is announced as
 *   `rolled-back`, with Flagger's complaint about the metric as the reason.
 */
export async function flaggerWebhookRoutes(app: FastifyInstance, deps: FlaggerWebhookDeps): Promise<void> {
  const log = deps.log.child({ component: 'flagger-webhooks' });

  app.post('/flagger/v1/apps/:appId/releases/:releaseId/:token/:hook', { schema: { params: Params, body: Payload }, logLevel: 'warn' }, async (request, reply) => {
    const { appId, releaseId, token, hook } = request.params as Params;
    if (!deps.tokens.verify(appId, releaseId, token)) {
      log.warn({ appId, releaseId, hook, from: request.ip }, 'Flagger webhook with a wrong token refused');
      return reply.code(401).send({ error: 'unauthorized' });
    }
    const payload = request.body as Payload;
    const gate = await deps.gates.get(appId, releaseId);
    if (!gate) return reply.code(hook === 'event' ? 202 : 409).send({ answer: 'no', reason: 'this release has no gate (deleted, or not deployed by this platform)' });
    const gateLog = log.child({ appId, releaseId, canary: `${payload.namespace}/${payload.name}`, phase: payload.phase });

    switch (hook) {
      case 'confirm-promotion':
        if (gate.state === 'open') return reply.code(200).send({ answer: 'yes', reason: 'promoted' });
        if (gate.state === 'closed') await announceWaiting(deps, gate, gateLog);
        return reply.code(409).send({ answer: 'no', reason: gate.state === 'aborted' ? 'aborted' : 'waiting for promote' });
      case 'rollback':
        if (gate.state === 'aborted') {
          gateLog.info('Flagger asked whether to roll back: yes (aborted)');
          return reply.code(200).send({ answer: 'yes', reason: 'aborted' });
        }
        return reply.code(409).send({ answer: 'no', reason: 'not aborted' });
      case 'event':
        await recordEvent(deps, gate, payload, gateLog);
        return reply.code(202).send({ recorded: true });
    }
  });
}

async function announceWaiting(deps: FlaggerWebhookDeps, gate: GateRecord, log: Logger): Promise<void> {
  if (gate.waitingAnnounced) return;
  await deps.publisher.publish(DeployStepV1, deployStep(gate.release, 'waiting-promotion', { reason: 'analysis passed; waiting for promote (or abort)' }));
  await deps.gates.update(gate.release, (g) => (g.waitingAnnounced ? undefined : { ...g, waitingAnnounced: true }));
  log.info('release waiting for promotion');
}

async function recordEvent(deps: FlaggerWebhookDeps, gate: GateRecord, payload: Payload, log: Logger): Promise<void> {
  const message = payload.metadata?.eventMessage ?? '';
  const complaint = analysisComplaint(message);
  if (complaint) {
    await deps.gates.update(gate.release, (g) => ({ ...g, lastWarning: complaint }));
    log.info({ flagger: complaint }, 'Flagger halted the analysis');
    return;
  }
  const outcome = rollbackOutcome(message);
  if (!outcome || gate.state === 'aborted' || gate.rollbackAnnounced) return;
  const current = (await deps.gates.get(gate.release.app_id, gate.release.release_id)) ?? gate;
  const reason = `canary analysis failed: ${current.lastWarning ?? outcome}`;
  await deps.publisher.publish(DeployStepV1, deployStep(gate.release, 'rolled-back', { reason }));
  await deps.gates.update(gate.release, (g) => ({ ...g, rollbackAnnounced: true }));
  log.warn({ reason }, 'Flagger rolled the release back');
}
