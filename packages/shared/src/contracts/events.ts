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
  description: 'A step of a deployment: applied, waiting-promotion, promoted, aborted, rolled-back, deleted, delete-failed (a delete gave up; the app stays as it was on the cluster) or failed.',
  data: Type.Object(
    {
      release: ReleaseRefV1,
      step: Type.Enum(['applied', 'waiting-promotion', 'promoted', 'aborted', 'rolled-back', 'deleted', 'delete-failed', 'failed']),
      helm_revision: Type.Optional(Type.Integer({ minimum: 1 })),
      reason: Type.Optional(Type.String()),
      endpoint: Type.Optional(
        Type.String({ pattern: '^https?://[^\\s]+$', maxLength: 2048, description: 'With `applied`: the URL people reach the release at (its route on the traffic gateway), when it is exposed.' }),
      ),
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

/** An app's health thresholds (release spec `health_thresholds`) as measured by the watcher. */
export const HealthThresholdChecksV1 = Type.Object(
  {
    window: Type.String(),
    checks: Type.Array(
      Type.Object(
        {
          threshold: Type.Enum(['max_error_ratio', 'max_latency_p95_ms']),
          limit: Type.Number(),
          /** Measured over `window` on the live release's track; null without traffic in the window. */
          value: Type.Union([Type.Number(), Type.Null()]),
          crossed: Type.Boolean(),
        },
        { additionalProperties: false },
      ),
    ),
  },
  { additionalProperties: false },
);
export type HealthThresholdChecksV1 = Type.Static<typeof HealthThresholdChecksV1>;

export const AppHealthChangedV1 = messageType({
  type: 'dev.appserving.app.health.v1',
  subjectPrefix: 'appserving.evt.app.health',
  description:
    'The app\'s live release lost pods for longer than the grace time, or its error ratio or latency crossed a health threshold the user set (`degraded`), or it is whole and within its thresholds again (`running`), after its rollout ended (the watcher is the only publisher).',
  data: Type.Object(
    {
      /** The app's live release, whose pods are counted. */
      release: ReleaseRefV1,
      status: Type.Enum(['running', 'degraded']),
      previous_status: Type.Enum(['running', 'degraded']),
      available_pods: Type.Integer({ minimum: 0 }),
      desired_pods: Type.Integer({ minimum: 0 }),
      reason: Type.String(),
      /** The app's health thresholds as last measured (present when it has any set and they were measured). */
      thresholds: Type.Optional(HealthThresholdChecksV1),
    },
    { additionalProperties: false },
  ),
});

export const BuildProgressV1 = messageType({
  type: 'dev.appserving.build.progress.v1',
  subjectPrefix: 'appserving.evt.build.progress',
  description:
    'Progress of a running build a person can follow: the phase (fetching the artifact, building, pushing) and, where known, bytes done of bytes total. Informational: status does not depend on it.',
  data: Type.Object(
    {
      release: ReleaseRefV1,
      phase: Type.Enum(['fetching-artifact', 'scheduling', 'building', 'pushing']),
      message: Type.String(),
      done_bytes: Type.Optional(Type.Integer({ minimum: 0 })),
      total_bytes: Type.Optional(Type.Integer({ minimum: 0 })),
    },
    { additionalProperties: false },
  ),
});

/** One metric of one canary analysis step, as the watcher evaluated it against Prometheus. */
export const CanaryMetricV1 = Type.Object(
  {
    name: Type.String(),
    /** null when the query returned no data or failed. */
    value: Type.Union([Type.Number(), Type.Null()]),
    threshold_min: Type.Optional(Type.Number()),
    threshold_max: Type.Optional(Type.Number()),
    /** `no-data`: the query ran and returned nothing; `query-failed`: Prometheus could not be asked or refused the query. */
    verdict: Type.Enum(['pass', 'fail', 'no-data', 'query-failed']),
    error: Type.Optional(Type.String()),
  },
  { additionalProperties: false },
);
export type CanaryMetricV1 = Type.Static<typeof CanaryMetricV1>;

export const CanaryAnalysisV1 = messageType({
  type: 'dev.appserving.canary.analysis.v1',
  subjectPrefix: 'appserving.evt.canary.analysis',
  description:
    'One analysis step of a canary or blue/green release (published by the watcher): the traffic weight, each metric\'s value against its threshold, and the verdict of the step.',
  data: Type.Object(
    {
      release: ReleaseRefV1,
      /** Step number within this release's analysis, from 1. */
      step: Type.Integer({ minimum: 1 }),
      /** Traffic weight on the new version during this step (blue/green: 0 until promoted, then 100). */
      weight: Type.Integer({ minimum: 0, maximum: 100 }),
      /** Flagger's phase of the Canary when the step was observed. */
      phase: Type.String(),
      metrics: Type.Array(CanaryMetricV1),
      verdict: Type.Enum(['pass', 'fail', 'inconclusive']),
      failed_checks: Type.Integer({ minimum: 0 }),
    },
    { additionalProperties: false },
  ),
});
