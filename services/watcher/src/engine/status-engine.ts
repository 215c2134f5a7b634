import { randomUUID } from 'node:crypto';
import { AppHealthChangedV1, CanaryAnalysisV1, ReleaseStatusChangedV1, RetryableError, type CanaryMetricV1, type Database, type Logger, type OutboxRelay } from '@appserving/shared';
import type { Kysely, Transaction } from 'kysely';
import { outgoing, recordOutgoing, type OutgoingEvent } from '../adapters/event-outbox.ts';
import {
  finishDeleteOperation,
  loadRelease,
  lockLiveRelease,
  lockRelease,
  releaseRef,
  runningReleasesOfApp,
  updateApp,
  updateOperation,
  updateRelease,
  type ReleaseRecord,
} from '../adapters/release.repository.ts';
import { analysisEventId, stepVerdict, type StepCounters } from '../reconcile/analysis.ts';
import type { HealthDecision } from '../reconcile/app-health.ts';
import { cancelledDiagnosis } from '../reconcile/diagnosis.ts';
import { applyInput, applyInputs, type ReleaseInput } from '../reconcile/release-machine.ts';
import { isAnnounced, isTerminalStatus, sameState, statusEventId, type ReleaseState } from '../reconcile/release-state.ts';
import { createKeyedQueue } from './keyed-queue.ts';
import type { WatcherMetrics } from './watcher-metrics.ts';

/** A status change written and announced. */
export interface StatusChange {
  record: ReleaseRecord;
  previous: ReleaseState;
  next: ReleaseState;
}

export interface StatusEngine {
  /**
   * Decides the release's next state from inputs `decide` derives (outside any transaction: it may read the
   * cluster or Prometheus), writes it only when it changed, in one transaction with the operation, the app,
   * a superseded predecessor and the outgoing events, then publishes those events.
   */
  advance(
    releaseId: string,
    decide: (record: ReleaseRecord) => Promise<readonly ReleaseInput[]> | readonly ReleaseInput[],
    known?: ReleaseRecord,
  ): Promise<StatusChange | undefined>;
  /**
   * The live release's pods went missing or came back, or its health thresholds were crossed or are kept again
   * (reconcile/app-health.ts decides): the app shows `degraded` (with the reason) or `running` again, and the change
   * is announced (AppHealthChangedV1) and kept in the timeline. False when the app was not in the other status
   * (another replica changed it, or it is deploying).
   */
  appHealth(record: ReleaseRecord, decision: HealthDecision, pods: { available: number; desired: number }): Promise<boolean>;
  /** Cancels the app's running releases (a delete command). */
  cancelApp(appId: string): Promise<void>;
  /** The deployer uninstalled the app (or a forced delete forgot it): the app is deleted and its delete operation ends. */
  appDeleted(appId: string): Promise<void>;
  /** The deployer gave up deleting the app: its delete operation ends as failed; the app stays `deleting`. */
  deleteFailed(appId: string): Promise<void>;
  /** Records one canary analysis step once (by its counters), in the record and the timeline, and announces it. */
  recordAnalysisStep(record: ReleaseRecord, step: { counters: StepCounters; phase: string; metrics: CanaryMetricV1[]; observedAt: Date }): Promise<'recorded' | 'known'>;
}

export function createStatusEngine(deps: {
  db: Kysely<Database>;
  relay: OutboxRelay;
  log: Logger;
  metrics?: WatcherMetrics;
  /** Called after a change is committed (the cluster supervisor follows new running releases). */
  onChange?: (change: StatusChange) => void;
}): StatusEngine {
  const { db, log } = deps;
  const queue = createKeyedQueue();

  async function write(trx: Transaction<Database>, record: ReleaseRecord, next: ReleaseState): Promise<OutgoingEvent[]> {
    const previous = record.state;
    const ending = isTerminalStatus(next.status) && !isTerminalStatus(previous.status);
    await updateRelease(trx, record.id, next, ending ? new Date() : isTerminalStatus(next.status) ? undefined : null);
    const events: OutgoingEvent[] = [];
    if (isAnnounced(previous, next)) events.push(statusEvent(record, previous, next));

    if (ending) await updateOperation(trx, record.id, next.status === 'succeeded' || next.status === 'built' ? 'succeeded' : 'failed');
    else if (previous.status === 'pending' && next.status !== 'pending') await updateOperation(trx, record.id, 'running');

    if (record.taskType === 'build' || record.app.deleted || record.app.status === 'deleting') return events;
    if (next.status === 'succeeded' && previous.status !== 'succeeded') {
      const live = await lockLiveRelease(trx, record.app.currentReleaseId, record);
      if (live) {
        const superseded = applyInput(live.state, live, { type: 'superseded', byRollback: record.operationKind === 'rollback', by: record.versionLabel });
        await updateRelease(trx, live.id, superseded, undefined);
        events.push(statusEvent(live, live.state, superseded));
      }
      await updateApp(trx, record.appId, { status: 'running', currentReleaseId: record.id });
    } else if (ending) {
      await updateApp(trx, record.appId, { status: record.app.currentReleaseId && record.app.currentReleaseId !== record.id ? 'running' : 'failed' });
    } else if (!isTerminalStatus(next.status) && next.status !== 'pending' && record.app.status !== 'deploying') {
      await updateApp(trx, record.appId, { status: 'deploying' });
    }
    return events;
  }

  async function commit(releaseId: string, inputs: readonly ReleaseInput[]): Promise<StatusChange | undefined> {
    const result = await db.transaction().execute(async (trx) => {
      const locked = await lockRelease(trx, releaseId);
      if (!locked) return undefined;
      const next = applyInputs(locked.state, locked, inputs);
      if (sameState(locked.state, next)) return undefined;
      const events = await write(trx, locked, next);
      for (const event of events) await recordOutgoing(trx, event);
      return { change: { record: locked, previous: locked.state, next }, events };
    });
    if (!result) return undefined;
    await deps.relay.publishNow(result.events);
    const { change } = result;
    if (change.previous.status !== change.next.status) {
      deps.metrics?.transitions.inc({ status: change.next.status });
      if (change.next.diagnosis && change.next.status === 'failed') deps.metrics?.diagnoses.inc({ code: change.next.diagnosis.code });
      log.info(
        { releaseId, appId: change.record.appId, from: change.previous.status, to: change.next.status, canaryWeight: change.next.canaryWeight, diagnosis: change.next.diagnosis?.code },
        'release status changed',
      );
    }
    deps.onChange?.(change);
    return change;
  }

  return {
    advance(releaseId, decide, known) {
      return queue.run(releaseId, async () => {
        // A follower's copy saves a read per observation; the commit reads the row fresh under its lock.
        const record = known ?? (await loadRelease(db, releaseId));
        // An event may arrive before the command of another producer registered its release: retried, then
        // dead-lettered with this reason if the release never appears.
        if (!record) throw new RetryableError('release_not_found', `no release ${releaseId} is registered`);
        const inputs = await decide(record);
        if (inputs.length === 0) return undefined;
        // Most observations change nothing: decide on the copy first, lock and write only a change.
        if (sameState(record.state, applyInputs(record.state, record, inputs))) return undefined;
        return commit(releaseId, inputs);
      });
    },

    async appHealth(record, decision, pods) {
      const { status } = decision;
      const previous = status === 'running' ? 'degraded' : 'running';
      const event = outgoing(AppHealthChangedV1, {
        id: randomUUID(),
        appId: record.appId,
        releaseId: record.id,
        data: {
          release: releaseRef(record),
          status,
          previous_status: previous,
          available_pods: pods.available,
          desired_pods: pods.desired,
          reason: decision.reason,
          ...(decision.thresholds ? { thresholds: decision.thresholds } : {}),
        },
      });
      const changed = await db.transaction().execute(async (trx) => {
        const result = await trx
          .updateTable('apps')
          .set({ status, health_reason: status === 'degraded' ? decision.reason : null })
          .where('id', '=', record.appId)
          .where('current_release_id', '=', record.id)
          .where('status', '=', previous)
          .executeTakeFirst();
        if ((result.numUpdatedRows ?? 0n) === 0n) return false;
        await recordOutgoing(trx, event);
        return true;
      });
      if (changed) await deps.relay.publishNow([event]);
      return changed;
    },

    async cancelApp(appId) {
      for (const releaseId of await runningReleasesOfApp(db, appId)) {
        await this.advance(releaseId, () => [{ type: 'cancelled', diagnosis: cancelledDiagnosis() }]);
      }
    },

    async appDeleted(appId) {
      await this.cancelApp(appId);
      await db.transaction().execute(async (trx) => {
        await updateApp(trx, appId, { status: 'deleted' });
        await trx.updateTable('apps').set({ deleted_at: new Date() }).where('id', '=', appId).where('deleted_at', 'is', null).execute();
        await finishDeleteOperation(trx, appId);
      });
      log.info({ appId }, 'app deleted');
    },

    async deleteFailed(appId) {
      await db.transaction().execute((trx) => finishDeleteOperation(trx, appId, 'failed'));
      log.warn({ appId }, 'the delete of the app gave up; it can be deleted again or forced');
    },

    recordAnalysisStep(record, step) {
      return queue.run(record.id, async () => {
        const eventId = analysisEventId(record.id, step.counters);
        const result = await db.transaction().execute(async (trx) => {
          const locked = await lockRelease(trx, record.id);
          if (!locked) return undefined;
          const known = await trx.selectFrom('canary_analysis').select('id').where('event_id', '=', eventId).executeTakeFirst();
          if (known) return undefined;
          const last = await trx.selectFrom('canary_analysis').select(['step', 'event_id']).where('release_id', '=', record.id).orderBy('step', 'desc').limit(1).executeTakeFirst();
          const number = (last?.step ?? 0) + 1;
          const verdict = stepVerdict(last ? countersOf(last.event_id) : null, step.counters);
          await trx
            .insertInto('canary_analysis')
            .values({
              event_id: eventId,
              app_id: record.appId,
              release_id: record.id,
              step: number,
              weight: step.counters.weight,
              phase: step.phase,
              verdict,
              failed_checks: step.counters.failedChecks,
              metrics: JSON.stringify(step.metrics),
              observed_at: step.observedAt,
            })
            .execute();
          const event = outgoing(CanaryAnalysisV1, {
            id: eventId,
            appId: record.appId,
            releaseId: record.id,
            time: step.observedAt,
            data: { release: releaseRef(locked), step: number, weight: step.counters.weight, phase: step.phase, metrics: step.metrics, verdict, failed_checks: step.counters.failedChecks },
          });
          await recordOutgoing(trx, event);
          return { event, verdict };
        });
        if (!result) return 'known';
        deps.metrics?.analysisSteps.inc({ verdict: result.verdict });
        await deps.relay.publishNow([result.event]);
        return 'recorded';
      });
    },
  };
}

function statusEvent(record: ReleaseRecord, previous: ReleaseState, next: ReleaseState): OutgoingEvent {
  return outgoing(ReleaseStatusChangedV1, {
    id: statusEventId(record.id, next),
    appId: record.appId,
    releaseId: record.id,
    data: {
      release: releaseRef(record),
      status: next.status,
      ...(previous.status === next.status ? {} : { previous_status: previous.status }),
      ...(next.reason ? { reason: next.reason } : {}),
      ...(next.diagnosis ? { diagnosis: next.diagnosis } : {}),
      ...(next.canaryWeight === null ? {} : { canary_weight: next.canaryWeight }),
    },
  });
}

/** The counters a step's event id was derived from (`<release>.analysis.w20.i0.f1`). */
export function countersOf(eventId: string): StepCounters | null {
  const match = /\.analysis\.w(\d+)\.i(\d+)\.f(\d+)$/.exec(eventId);
  return match ? { weight: Number(match[1]), iterations: Number(match[2]), failedChecks: Number(match[3]) } : null;
}
