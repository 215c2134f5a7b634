import { commonSettings, PodPlacement, portSchema, setting } from '@appserving/shared';
import { artifactSettings, platformRegistrySetting } from '@appserving/shared/artifacts';
import Type from 'typebox';

export const gatewaySettings = {
  ...commonSettings,
  ...artifactSettings,
  registry: platformRegistrySetting,
  httpPort: setting({
    env: 'APPSERVING_GATEWAY_PORT',
    schema: portSchema(),
    default: 9112,
    description: 'Port of the REST API (the seed\'s `curl http://localhost:9112/apps/...`).',
  }),
  adminToken: setting({
    env: 'APPSERVING_ADMIN_TOKEN',
    schema: Type.String({ pattern: '^[A-Za-z0-9._~+/-]{32,512}=*$' }),
    default: '',
    description:
      'Admin API token stored (hashed) at the first start, when the database has no admin token yet; at least 32 characters (e.g. `openssl rand -base64 32`). Empty: one is generated and printed once to stderr. Ignored once an admin token exists.',
    secret: true,
  }),
  tokenCacheMs: setting({
    env: 'APPSERVING_TOKEN_CACHE_MS',
    schema: Type.Integer({ minimum: 0, maximum: 300_000 }),
    default: 10_000,
    description:
      'How long a gateway trusts a token it has already looked up, in ms. Revoking a token drops it at once on every replica (over NATS); if that message is lost, this is the longest a revoked token keeps working. 0: look up every request.',
  }),
  idempotencyKeyTtlMs: setting({
    env: 'APPSERVING_IDEMPOTENCY_KEY_TTL_MS',
    schema: Type.Integer({ minimum: 60_000 }),
    default: 24 * 60 * 60_000,
    description: 'How long an Idempotency-Key is remembered (its answer replayed), in ms; after that the key may be used again. Default 24 h.',
  }),
  outboxRetentionMs: setting({
    env: 'APPSERVING_OUTBOX_RETENTION_MS',
    schema: Type.Integer({ minimum: 60_000 }),
    default: 7 * 24 * 60 * 60_000,
    description: 'How long published commands stay in the outbox table, in ms (they are in the stream and the timeline). Default 7 days.',
  }),
  artifactRetentionMs: setting({
    env: 'APPSERVING_ARTIFACT_RETENTION_MS',
    schema: Type.Integer({ minimum: 0 }),
    default: 30 * 24 * 60 * 60_000,
    description:
      'How long an uploaded artifact (POST /artifacts) is kept after its last upload and the last release created from it, in ms; an unfinished release keeps it too. 0 keeps uploads forever. Default 30 days (docs/artifacts.md).',
  }),
  webDir: setting({
    env: 'APPSERVING_WEB_DIR',
    schema: Type.String({ minLength: 1 }),
    default: '',
    description:
      'Folder of the built web console (packages/web/dist), served at /console/ on the API port. Empty: the build in this repository, when there is one (scripts/start.sh builds it); `off`: no console.',
  }),
  localClusterKubeconfig: setting({
    env: 'APPSERVING_LOCAL_CLUSTER_KUBECONFIG',
    schema: Type.String({ minLength: 1 }),
    default: '',
    description:
      'Kubeconfig file of the `local` cluster, registered (as the default cluster) at start, e.g. `~/.cache/appserving/cluster/run-26400/kubeconfig.yaml` written by `pnpm cluster:up`. Empty: none.',
  }),
  localClusterPlacement: setting({
    env: 'APPSERVING_LOCAL_CLUSTER_PLACEMENT',
    schema: PodPlacement,
    default: {},
    description:
      'Where the pods of apps and builds on the `local` cluster run, as JSON: {"node_selector":{…},"tolerations":[…]} (the placement of POST /clusters). `scripts/start.sh` sets it to the local control plane\'s real node. Empty: anywhere.',
  }),
  localClusterPrometheusUrl: setting({
    env: 'APPSERVING_LOCAL_CLUSTER_PROMETHEUS_URL',
    schema: Type.String({ pattern: '^https?://' }),
    default: '',
    description:
      'Prometheus of the `local` cluster, which canary and blue-green analysis queries (e.g. http://127.0.0.1:26407 of `pnpm cluster:up`). Empty: none, and only rolling releases can be analysed there.',
  }),
  clusterHostAllowlist: setting({
    env: 'APPSERVING_CLUSTER_HOST_ALLOWLIST',
    schema: Type.String(),
    default: '',
    description:
      'Hosts (`host` or `host:port`, comma-separated) a registered cluster\'s API server, proxy-url or prometheus_url may name although they resolve to loopback, private or link-local addresses; a proxy-url must be listed to be used at all, and only a listed API server may be reached over plain http (docs/auth.md). The `local` cluster of APPSERVING_LOCAL_CLUSTER_KUBECONFIG (and its Prometheus) may be on loopback, over http too, without an entry; anywhere else (e.g. `kubernetes.default.svc` from inside the cluster) it needs one like any other.',
  }),
  clusterProbeTimeoutMs: setting({
    env: 'APPSERVING_CLUSTER_PROBE_TIMEOUT_MS',
    schema: Type.Integer({ minimum: 500, maximum: 120_000 }),
    default: 10_000,
    description: 'Longest the test call to a cluster\'s API server (its version and the platform\'s permissions) may take, when it is registered or its health is checked.',
  }),
  clusterHealthIntervalMs: setting({
    env: 'APPSERVING_CLUSTER_HEALTH_INTERVAL_MS',
    schema: Type.Integer({ minimum: 0 }),
    default: 60_000,
    description: 'How often each gateway re-checks every registered cluster (the same test call), shown as `health` in GET /clusters. 0: only when asked (POST /clusters/{id}/check).',
  }),
  authFailureLimit: setting({
    env: 'APPSERVING_AUTH_FAILURE_LIMIT',
    schema: Type.Integer({ minimum: 1 }),
    default: 20,
    description: 'Failed authentications (an unknown or revoked token, a malformed Authorization header, an expired console session, a console sign-in with an unknown token) one client address may make per APPSERVING_AUTH_FAILURE_WINDOW_MS; after that its requests get 429 with Retry-After until the window ends, except those with a token the gateway already knows to be valid.',
  }),
  authFailureWindowMs: setting({
    env: 'APPSERVING_AUTH_FAILURE_WINDOW_MS',
    schema: Type.Integer({ minimum: 1_000 }),
    default: 60_000,
    description: 'The window of APPSERVING_AUTH_FAILURE_LIMIT, in ms.',
  }),
} as const;
