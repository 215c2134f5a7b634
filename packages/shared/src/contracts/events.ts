import Type from 'typebox';
import { messageType } from './cloudevent.ts';
import { ReleaseRefV1 } from './release.schemas.ts';

/** Events: what happened. Published by the service that observed it, projected into the timeline by the watcher. */
export const releaseStatuses = [
  'pending',
  'building',
  'built',
  'deploying',
  'progressing',
  'waiting-promotion',
  'promoting',
  'succeeded',
  'failed',
  'aborted',
  'rolled-back',
  'superseded',
] as const;
export type ReleaseStatus = (typeof releaseStatuses)[number];

export const terminalStatuses: ReadonlySet<ReleaseStatus> = new Set(['built', 'succeeded', 'failed', 'aborted', 'rolled-back', 'superseded']);

export const DiagnosisV1 = Type.Object(
  {
    code: Type.String({ description: 'Failure class, e.g. image-pull, crash-loop, oom-killed, unschedulable.' }),
    summary: Type.String(),
    hint: Type.String(),
    evidence: Type.Record(Type.String(), Type.Unknown()),
  },
  { additionalProperties: false },
);

export const BuildStartedV1 = messageType({
  type: 'dev.appserving.build.started.v1',
  subjectPrefix: 'appserving.evt.build.started',
  description: 'A build of a release began.',
  data: Type.Object({ release: ReleaseRefV1, method: Type.Enum(['kaniko', 'direct']) }, { additionalProperties: false }),
});

export const BuildSucceededV1 = messageType({
  type: 'dev.appserving.build.succeeded.v1',
  subjectPrefix: 'appserving.evt.build.succeeded',
  description: 'The image of a release is in the registry.',
  data: Type.Object(
    { release: ReleaseRefV1, image: Type.String(), digest: Type.String({ pattern: '^sha256:[a-f0-9]{64}$' }), reused: Type.Boolean() },
    { additionalProperties: false },
  ),
});

export const BuildFailedV1 = messageType({
  type: 'dev.appserving.build.failed.v1',
  subjectPrefix: 'appserving.evt.build.failed',
  description: 'A build failed; `log_tail` holds the last lines of its log.',
  data: Type.Object({ release: ReleaseRefV1, reason: Type.String(), log_tail: Type.Array(Type.String()) }, { additionalProperties: false }),
});

export const DeployStepV1 = messageType({
  type: 'dev.appserving.deploy.step.v1',
  subjectPrefix: 'appserving.evt.deploy.step',
  description: 'A step of a deployment: applied, waiting-promotion, promoted, aborted, rolled-back, deleted or failed.',
  data: Type.Object(
    {
      release: ReleaseRefV1,
      step: Type.Enum(['applied', 'waiting-promotion', 'promoted', 'aborted', 'rolled-back', 'deleted', 'failed']),
      helm_revision: Type.Optional(Type.Integer({ minimum: 1 })),
      reason: Type.Optional(Type.String()),
    },
    { additionalProperties: false },
  ),
});

export const ReleaseStatusChangedV1 = messageType({
  type: 'dev.appserving.release.status.v1',
  subjectPrefix: 'appserving.evt.release.status',
  description: 'The status of a release changed (the watcher is the only publisher). Subscribe here to follow rollouts.',
  data: Type.Object(
    {
      release: ReleaseRefV1,
      status: Type.Enum(releaseStatuses),
      previous_status: Type.Optional(Type.Enum(releaseStatuses)),
      reason: Type.Optional(Type.String()),
      diagnosis: Type.Optional(DiagnosisV1),
      canary_weight: Type.Optional(Type.Integer({ minimum: 0, maximum: 100 })),
    },
    { additionalProperties: false },
  ),
});
