import { commonSettings, portSchema, setting, type ConfigOf } from '@appserving/shared';
import Type from 'typebox';

const ms = (minimum = 1) => Type.Integer({ minimum });
const minute = 60_000;

export const watcherSettings = {
  ...commonSettings,
  httpPort: setting({
    env: 'APPSERVING_WATCHER_PORT',
    schema: portSchema(),
    default: 9115,
    description: 'Port of the watcher\'s health, readiness and metrics server.',
  }),
  crashLoopRestarts: setting({
    env: 'APPSERVING_WATCHER_CRASH_LOOP_RESTARTS',
    schema: Type.Integer({ minimum: 1, maximum: 100 }),
    default: 3,
    description: 'Restarts of a release\'s container (crash loop or OOMKilled) after which the release fails with that diagnosis.',
  }),
  imagePullGraceMs: setting({
    env: 'APPSERVING_WATCHER_IMAGE_PULL_GRACE_MS',
    schema: ms(0),
    default: 20_000,
    description: 'How long a release\'s image may fail to pull (ErrImagePull) before the release fails; ImagePullBackOff fails it at once.',
  }),
  unschedulableGraceMs: setting({
    env: 'APPSERVING_WATCHER_UNSCHEDULABLE_GRACE_MS',
    schema: ms(0),
    default: 2 * minute,
    description: 'How long a release\'s pods may stay unschedulable (no node has room) before the release fails; leaves time for a cluster autoscaler.',
  }),
  readinessGraceMs: setting({
    env: 'APPSERVING_WATCHER_READINESS_GRACE_MS',
    schema: ms(0),
    default: 5 * minute,
    description: 'How long a running container may fail its readiness check before the release fails (a JVM app can take a while to start).',
  }),
  degradedGraceMs: setting({
    env: 'APPSERVING_WATCHER_DEGRADED_GRACE_MS',
    schema: ms(0),
    default: 30_000,
    description: 'How long the live release may have fewer available pods than asked before the app shows `degraded`.',
  }),
  healthCheckIntervalMs: setting({
    env: 'APPSERVING_WATCHER_HEALTH_CHECK_INTERVAL_MS',
    schema: ms(1_000),
    default: 30_000,
    description:
      'How often the watcher measures the error ratio and p95 latency of each live app that has `health_thresholds` set (two instant queries to its cluster\'s Prometheus), and marks it `degraded` or `running` from them.',
  }),
  pendingDeadlineMs: setting({
    env: 'APPSERVING_WATCHER_PENDING_DEADLINE_MS',
    schema: ms(),
    default: 60 * minute,
    description: 'A release whose command no builder or deployer picked up within this time fails (`deadline-exceeded`).',
  }),
  buildingDeadlineMs: setting({
    env: 'APPSERVING_WATCHER_BUILDING_DEADLINE_MS',
    schema: ms(),
    default: 30 * minute,
    description: 'A build that reports no progress for this long fails (`deadline-exceeded`).',
  }),
  deployingDeadlineMs: setting({
    env: 'APPSERVING_WATCHER_DEPLOYING_DEADLINE_MS',
    schema: ms(),
    default: 15 * minute,
    description: 'A release that is not applied to the cluster (helm) within this time fails (`deadline-exceeded`).',
  }),
  progressingDeadlineMs: setting({
    env: 'APPSERVING_WATCHER_PROGRESSING_DEADLINE_MS',
    schema: ms(),
    default: 20 * minute,
    description: 'A rollout (or canary analysis) that makes no visible progress for this long fails (`deadline-exceeded`).',
  }),
  flaggerPickupDeadlineMs: setting({
    env: 'APPSERVING_WATCHER_FLAGGER_PICKUP_DEADLINE_MS',
    schema: ms(1_000),
    default: 3 * minute,
    description:
      'A canary or blue/green release Flagger has not started on within this time (and three of its analysis intervals) of being applied fails (`flagger-not-acting`): Flagger is not running, does not watch the namespace, or the Canary is suspended.',
  }),
  waitingPromotionDeadlineMs: setting({
    env: 'APPSERVING_WATCHER_WAITING_PROMOTION_DEADLINE_MS',
    schema: ms(),
    default: 24 * 60 * minute,
    description: 'A canary or blue/green release waiting at its promotion gate (POST /apps/{id}/promote or /abort) fails after this long.',
  }),
  promotingDeadlineMs: setting({
    env: 'APPSERVING_WATCHER_PROMOTING_DEADLINE_MS',
    schema: ms(),
    default: 15 * minute,
    description: 'A promotion that does not finish within this time fails (`deadline-exceeded`).',
  }),
  resyncMs: setting({
    env: 'APPSERVING_WATCHER_RESYNC_MS',
    schema: ms(100),
    default: 10_000,
    description: 'How often the watcher re-examines every running release of the clusters it holds (deadlines, anything a watch missed).',
  }),
  leaseRetryMs: setting({
    env: 'APPSERVING_WATCHER_LEASE_RETRY_MS',
    schema: ms(100),
    default: 5_000,
    description: 'How often a watcher replica tries to take clusters no replica is watching (a Postgres advisory lock per cluster).',
  }),
  prometheusTimeoutMs: setting({
    env: 'APPSERVING_WATCHER_PROMETHEUS_TIMEOUT_MS',
    schema: ms(100),
    default: 5_000,
    description: 'Timeout of one Prometheus query of the canary analysis record.',
  }),
  metricsQueryTimeoutMs: setting({
    env: 'APPSERVING_WATCHER_METRICS_QUERY_TIMEOUT_MS',
    schema: ms(100),
    default: 8_000,
    description: 'Timeout of one Prometheus range query of an app\'s metrics (GET /apps/{id}/metrics); a request runs at most five at once.',
  }),
} as const;

export type WatcherConfig = ConfigOf<typeof watcherSettings>;
