import { analysisMetricSources, commonSettings, portSchema, setting } from '@appserving/shared';
import Type from 'typebox';

export const deployerSettings = {
  ...commonSettings,
  httpPort: setting({
    env: 'APPSERVING_DEPLOYER_PORT',
    schema: portSchema(),
    default: 9114,
    description: 'Port of the deployer\'s health, readiness and metrics server, which also answers Flagger\'s promotion and rollback webhooks.',
  }),
  deployerWebhookUrl: setting({
    env: 'APPSERVING_DEPLOYER_WEBHOOK_URL',
    schema: Type.String({ pattern: '^https?://[^\\s/?#]+(/[^\\s?#]*[^/\\s?#])?$' }),
    default: '',
    description:
      'Base URL at which Flagger, running in the target cluster, reaches the deployer (e.g. https://deployer.appserving.example.com); the promotion gate webhooks of every canary and blue-green release point there. Empty: http://127.0.0.1:<APPSERVING_DEPLOYER_PORT>, which only a cluster on this machine can reach.',
  }),
  helmBinary: setting({
    env: 'APPSERVING_HELM_BINARY',
    schema: Type.String({ minLength: 1 }),
    default: 'helm',
    description: 'The helm v3 CLI the deployer runs (a path, or a name looked up on PATH).',
  }),
  helmHistoryMax: setting({
    env: 'APPSERVING_HELM_HISTORY_MAX',
    schema: Type.Integer({ minimum: 2, maximum: 100 }),
    default: 10,
    description: 'Revisions helm keeps per app (`--history-max`); older ones are pruned. The platform\'s own release history is in Postgres and is not limited by this.',
  }),
  helmTimeoutMs: setting({
    env: 'APPSERVING_HELM_TIMEOUT_MS',
    schema: Type.Integer({ minimum: 10_000, maximum: 3_600_000 }),
    default: 300_000,
    description: 'Longest one helm command may run before it is stopped and the step retried.',
  }),
  trafficProvider: setting({
    env: 'APPSERVING_TRAFFIC_PROVIDER',
    schema: Type.Enum(['gatewayapi', 'nginx']),
    default: 'gatewayapi',
    description:
      'How apps are exposed and how a canary moves traffic: `gatewayapi` (an HTTPRoute on the Gateway APPSERVING_APP_GATEWAY; Flagger weights it) or `nginx` (an Ingress of class APPSERVING_INGRESS_CLASS; Flagger weights a canary clone of it). Blue-green always switches Services (Flagger\'s kubernetes provider).',
  }),
  appGateway: setting({
    env: 'APPSERVING_APP_GATEWAY',
    schema: Type.String({ pattern: '^([a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?/)?[a-z0-9]([-.a-z0-9]{0,251}[a-z0-9])?$' }),
    default: '',
    description: 'The Gateway API Gateway (`namespace/name`, or `name` in the app\'s namespace) that app HTTPRoutes attach to. Empty: apps get no HTTPRoute, and a canary with the gatewayapi provider is refused.',
  }),
  ingressClass: setting({
    env: 'APPSERVING_INGRESS_CLASS',
    schema: Type.String({ pattern: '^[a-z0-9]([-.a-z0-9]{0,251}[a-z0-9])?$' }),
    default: 'nginx',
    description: 'ingressClassName of the Ingresses of apps (traffic provider nginx).',
  }),
  appDomain: setting({
    env: 'APPSERVING_APP_DOMAIN',
    schema: Type.String({ pattern: '^[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]{0,61}[a-z0-9])?)*$' }),
    default: '',
    description:
      'DNS domain under which apps are exposed as `<app>-<namespace>.<domain>` (one wildcard record `*.<domain>` serves every app; `localhost` on the local cluster, which browsers and curl resolve to 127.0.0.1 themselves). Empty: apps are reachable inside the cluster only, unless a canary needs an Ingress or HTTPRoute (then without a host name).',
  }),
  appUrl: setting({
    env: 'APPSERVING_APP_URL',
    schema: Type.String({ pattern: '^https?://\\{host\\}(:[0-9]{1,5})?/?$' }),
    default: 'https://{host}/',
    description:
      'How people reach an app exposed under its host name (APPSERVING_APP_DOMAIN), as a URL template: {host} is `<app>-<namespace>.<domain>`, e.g. http://{host}:26411/ for the local traffic gateway. It becomes the app\'s `endpoint`.',
  }),
  analysisMetrics: setting({
    env: 'APPSERVING_ANALYSIS_METRICS',
    schema: Type.Enum([...analysisMetricSources]),
    default: 'otel-agent',
    description:
      'Where canary and blue-green analysis reads request metrics: `otel-agent` (the OpenTelemetry Java agent in each jar/war pod, or the app\'s own exporter) or `traefik` (the traffic gateway\'s per-Service request metrics: no agent, no change in the app; the Gateway must be Traefik\'s and its metrics scraped by the cluster\'s Prometheus).',
  }),
  otelAgent: setting({
    env: 'APPSERVING_OTEL_AGENT',
    schema: Type.Enum(['analysed', 'always', 'never']),
    default: 'analysed',
    description:
      'When jar and war apps get the OpenTelemetry Java agent (request metrics in the Prometheus format on port 9464): `analysed` for canary and blue-green releases when the analysis reads the agent\'s metrics (APPSERVING_ANALYSIS_METRICS=otel-agent); `always`; or `never` (the image exports them itself).',
  }),
  loadTesterUrl: setting({
    env: 'APPSERVING_LOAD_TESTER_URL',
    schema: Type.String({ pattern: '^https?://[^\\s]+$' }),
    default: '',
    description:
      'Flagger\'s load tester (its webhook URL, e.g. http://flagger-loadtester.test/), which sends requests to the new version of a canary or blue-green release during each analysis step (`analysis.load_rps`). Empty: no load test.',
  }),
  analysisLoadRps: setting({
    env: 'APPSERVING_ANALYSIS_LOAD_RPS',
    schema: Type.Integer({ minimum: 0, maximum: 1000 }),
    default: 0,
    description:
      'Requests per second the load tester sends to a release under analysis when its spec does not say (`analysis.load_rps`); 0: none, as befits production apps with users of their own.',
  }),
  appGatewayAddress: setting({
    env: 'APPSERVING_APP_GATEWAY_ADDRESS',
    schema: Type.String({ pattern: '^https?://[^\\s/]+$' }),
    default: '',
    description:
      'Where the load tester connects to reach apps by their host names, when those names do not resolve where it runs (e.g. http://127.0.0.1:26411 on the local cluster: the host name goes in the Host header). Empty: the app\'s URL (APPSERVING_APP_URL).',
  }),
  otelAgentImage: setting({
    env: 'APPSERVING_OTEL_AGENT_IMAGE',
    schema: Type.String({ minLength: 1 }),
    default: 'ghcr.io/open-telemetry/opentelemetry-operator/autoinstrumentation-java:2.11.0',
    description: 'Image whose /javaagent.jar an init container copies into the app\'s pod.',
  }),
  volumeStorageClass: setting({
    env: 'APPSERVING_VOLUME_STORAGE_CLASS',
    schema: Type.String({ pattern: '^[a-z0-9]([-.a-z0-9]{0,251}[a-z0-9])?$' }),
    default: '',
    description: 'StorageClass of app volumes (PVCs). Empty: the cluster\'s default StorageClass.',
  }),
} as const;
