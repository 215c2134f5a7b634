import { commonSettings, portSchema, setting } from '@appserving/shared';
import { artifactSettings, platformRegistrySetting } from '@appserving/shared/artifacts';
import Type from 'typebox';

const labelMap = () => Type.Record(Type.String({ pattern: '^([a-z0-9]([-a-z0-9.]*[a-z0-9])?/)?[A-Za-z0-9]([-A-Za-z0-9_.]{0,61}[A-Za-z0-9])?$' }), Type.String({ maxLength: 4096 }));
const imageSchema = () => Type.String({ minLength: 1, maxLength: 512, pattern: '^[^\\s]+$' });

export const builderSettings = {
  ...commonSettings,
  ...artifactSettings,
  httpPort: setting({
    env: 'APPSERVING_BUILDER_PORT',
    schema: portSchema(),
    default: 9113,
    description: 'Port of the builder\'s health, readiness and metrics server, which also hands build Pods their artifact.',
  }),
  builderPublicUrl: setting({
    env: 'APPSERVING_BUILDER_PUBLIC_URL',
    schema: Type.String({ pattern: '^https?://[^\\s]+$' }),
    default: '',
    description:
      'URL at which Kaniko build Pods reach the builder to download their artifact (e.g. http://appserving-builder.appserving.svc:9113). Empty: http://APPSERVING_HTTP_HOST:APPSERVING_BUILDER_PORT, only right when the cluster can reach that address.',
  }),
  builderPodListen: setting({
    env: 'APPSERVING_BUILDER_POD_LISTEN',
    schema: Type.String({ pattern: '^(\\[[0-9a-fA-F:.]+\\]|[0-9.]+|[A-Za-z0-9.-]+):[0-9]{1,5}$' }),
    default: '',
    description:
      'A second address (host:port) the builder listens on, serving only the build artifact download, for build Pods that cannot reach APPSERVING_HTTP_HOST: e.g. the local cluster\'s node address (`scripts/start.sh` sets it). APPSERVING_BUILDER_PUBLIC_URL then names it. Empty: none.',
  }),
  registry: platformRegistrySetting,
  registryPlainHttp: setting({
    env: 'APPSERVING_REGISTRY_PLAIN_HTTP',
    schema: Type.Boolean(),
    default: false,
    description: 'Speak plain HTTP (no TLS) to APPSERVING_REGISTRY, for a local registry. Base images on the same host are pulled the same way.',
  }),
  buildPodRegistry: setting({
    env: 'APPSERVING_BUILD_POD_REGISTRY',
    schema: Type.String({ pattern: '^[A-Za-z0-9.\\-\\[\\]:]+$' }),
    default: '',
    description:
      'The registry of APPSERVING_REGISTRY as build Pods reach it (host[:port]), when they cannot use its own name: Kaniko pushes there and pulls base images of APPSERVING_REGISTRY\'s host through it; images are recorded under APPSERVING_REGISTRY\'s name. E.g. the local cluster, whose registry listens on 127.0.0.1 of the machine, reached by pods at the node\'s address. Empty: the same name.',
  }),
  registryUsername: setting({
    env: 'APPSERVING_REGISTRY_USERNAME',
    schema: Type.String({ maxLength: 512 }),
    default: '',
    description: 'User name for APPSERVING_REGISTRY (e.g. a robot account that may push). Empty: anonymous.',
  }),
  registryPassword: setting({
    env: 'APPSERVING_REGISTRY_PASSWORD',
    schema: Type.String({ maxLength: 4096 }),
    default: '',
    description: 'Password or token for APPSERVING_REGISTRY_USERNAME. Given to Kaniko Pods through a per-build Secret.',
    secret: true,
  }),
  buildRegistrySecret: setting({
    env: 'APPSERVING_BUILD_REGISTRY_SECRET',
    schema: Type.String({ pattern: '^[a-z0-9]([-a-z0-9.]*[a-z0-9])?$', maxLength: 253 }),
    default: '',
    description:
      'Name of a kubernetes.io/dockerconfigjson Secret in the build namespace that Kaniko Pods push with, instead of APPSERVING_REGISTRY_USERNAME/PASSWORD (for clusters where the operator manages it).',
  }),
  buildNamespace: setting({
    env: 'APPSERVING_BUILD_NAMESPACE',
    schema: Type.String({ pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$', maxLength: 63 }),
    default: 'appserving-builds',
    description: 'Namespace of the target cluster where Kaniko build Pods run (created when missing).',
  }),
  buildDefaultMethod: setting({
    env: 'APPSERVING_BUILD_DEFAULT_METHOD',
    schema: Type.Enum(['direct', 'kaniko']),
    default: 'direct',
    description: 'How jar and war apps are built when their release does not say (build_method): `direct` (layer push, no Pod) or `kaniko`. Python apps always use Kaniko.',
  }),
  buildTimeoutMs: setting({
    env: 'APPSERVING_BUILD_TIMEOUT_MS',
    schema: Type.Integer({ minimum: 10_000 }),
    default: 30 * 60_000,
    description: 'Longest a build may take, from its start (a Kaniko Pod\'s creation) to its image; then the Pod is removed and the release fails.',
  }),
  buildPlatform: setting({
    env: 'APPSERVING_BUILD_PLATFORM',
    schema: Type.String({ pattern: '^[a-z0-9]+/[a-z0-9_]+(/[a-z0-9]+)?$' }),
    default: 'linux/amd64',
    description: 'Platform (os/architecture) of the images built; picks the entry of a multi-platform base image.',
  }),
  baseImageJar: setting({
    env: 'APPSERVING_BASE_IMAGE_JAR',
    schema: imageSchema(),
    default: 'docker.io/library/eclipse-temurin:21-jre',
    description: 'Base image of jar apps (Spring Boot and other executable jars): a Java 21 runtime. Pin with @sha256:… for reproducible builds.',
  }),
  baseImageWar: setting({
    env: 'APPSERVING_BASE_IMAGE_WAR',
    schema: imageSchema(),
    default: 'docker.io/library/tomcat:10.1-jre21',
    description: 'Base image of war apps: Tomcat 10.1 on Java 21 (the war becomes webapps/ROOT.war under the image\'s CATALINA_HOME).',
  }),
  baseImagePython: setting({
    env: 'APPSERVING_BASE_IMAGE_PYTHON',
    schema: imageSchema(),
    default: 'docker.io/library/python:3.12-slim',
    description: 'Base image of Python apps.',
  }),
  kanikoImage: setting({
    env: 'APPSERVING_KANIKO_IMAGE',
    schema: imageSchema(),
    default: 'ghcr.io/osscontainertools/kaniko:v1.27.0',
    description: 'Kaniko executor image of build Pods (the maintained osscontainertools fork; Google\'s kaniko was archived in 2025, ADR 0006).',
  }),
  buildFetchImage: setting({
    env: 'APPSERVING_BUILD_FETCH_IMAGE',
    schema: imageSchema(),
    default: 'docker.io/curlimages/curl:8.16.0',
    description: 'Image of the build Pod\'s init container that downloads the artifact from the builder (runs curl).',
  }),
  buildPodCpu: setting({
    env: 'APPSERVING_BUILD_POD_CPU',
    schema: Type.String({ pattern: '^[0-9]+(\\.[0-9]+)?m?$' }),
    default: '1',
    description: 'CPU of a Kaniko build Pod (request and limit).',
  }),
  buildPodMemory: setting({
    env: 'APPSERVING_BUILD_POD_MEMORY',
    schema: Type.String({ pattern: '^[0-9]+(Ki|Mi|Gi)?$' }),
    default: '2Gi',
    description: 'Memory of a Kaniko build Pod (request and limit).',
  }),
  buildPodLabels: setting({
    env: 'APPSERVING_BUILD_POD_LABELS',
    schema: labelMap(),
    default: {},
    description: 'Extra labels of build Pods, as a JSON object (e.g. {"team":"platform"}). The platform\'s own labels win on a clash.',
  }),
  buildPodAnnotations: setting({
    env: 'APPSERVING_BUILD_POD_ANNOTATIONS',
    schema: labelMap(),
    default: {},
    description: 'Extra annotations of build Pods, as a JSON object (e.g. {"sidecar.istio.io/inject":"false"}).',
  }),
  buildPollIntervalMs: setting({
    env: 'APPSERVING_BUILD_POLL_INTERVAL_MS',
    schema: Type.Integer({ minimum: 100 }),
    default: 2_000,
    description: 'How often a running Kaniko build Pod is looked at.',
  }),
  buildLogTailLines: setting({
    env: 'APPSERVING_BUILD_LOG_TAIL_LINES',
    schema: Type.Integer({ minimum: 1, maximum: 1000 }),
    default: 50,
    description: 'Lines of a failed build\'s log kept with the release (build.failed log_tail).',
  }),
} as const;
