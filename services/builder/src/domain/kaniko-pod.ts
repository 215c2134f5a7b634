import type { V1ConfigMap, V1Pod, V1Secret } from '@kubernetes/client-node';
import { buildPodName, LABELS, labelValue, MANAGED_BY, type AppType, type KubePlacement, type ReleaseRefV1 } from '@appserving/shared';
import { ARTIFACT_FILE, PYTHON_LAUNCHER_FILE } from './dockerfile.ts';

/**
 * The objects of one Kaniko build on the target cluster, all named `build-<release id>` so a redelivered command
 * finds them: the Pod, a ConfigMap with the Dockerfile (and the Python launcher), and a Secret with the token the
 * Pod's init container uses to download the artifact from the builder (and, when the builder holds the registry
 * credentials, the Docker config Kaniko pushes with). ConfigMap and Secret are made first and then owned by the
 * Pod, so Kubernetes deletes them with it.
 *
 * The Pod: an init container (curl) downloads the verified artifact into an emptyDir; Kaniko builds from it and
 * writes the pushed digest to its termination log (`--digest-file=/dev/termination-log`), which the builder reads
 * from the Pod's status. No service account token, no service links, a deadline, fixed resources.
 */

export const BUILD_ANNOTATIONS = {
  image: 'appserving.dev/image',
  cacheKey: 'appserving.dev/cache-key',
  method: 'appserving.dev/build-method',
} as const;

export const KANIKO_CONTAINER = 'kaniko';
export const FETCH_CONTAINER = 'fetch-artifact';

export interface KanikoBuildInput {
  readonly ref: ReleaseRefV1;
  readonly namespace: string;
  readonly appType: AppType;
  /** Image references Kaniko pushes to (`…:v3`, `…:cache-<key>`). */
  readonly destinations: readonly string[];
  readonly cacheKey: string;
  readonly dockerfile: string;
  /** The Python launcher's text (python only). */
  readonly launcher?: string;
  /** Where the init container downloads the artifact (the builder's URL for this build). */
  readonly artifactUrl: string;
  /** Bearer token for `artifactUrl`; goes into the Secret only. */
  readonly fetchToken: string;
  readonly maxArtifactBytes: number;
  readonly kanikoImage: string;
  readonly fetchImage: string;
  /** Registries Kaniko speaks plain HTTP to. */
  readonly insecureRegistries: readonly string[];
  /**
   * The image registry under another name for the Pod (APPSERVING_BUILD_POD_REGISTRY): Kaniko pulls the base images
   * named `from` through `to`. The destinations already use `to`.
   */
  readonly registryMap?: { readonly from: string; readonly to: string } | undefined;
  /** The target cluster's placement of pods; the build Pod runs where its apps run. */
  readonly placement?: KubePlacement | undefined;
  /** A Docker config.json with push credentials, when the builder holds them. */
  readonly dockerConfigJson?: string | undefined;
  /** An existing kubernetes.io/dockerconfigjson Secret to push with instead. */
  readonly registrySecretName?: string | undefined;
  readonly timeoutMs: number;
  readonly cpu: string;
  readonly memory: string;
  readonly extraLabels: Readonly<Record<string, string>>;
  readonly extraAnnotations: Readonly<Record<string, string>>;
}

export function buildLabels(ref: ReleaseRefV1): Record<string, string> {
  return {
    [LABELS.managedBy]: MANAGED_BY,
    [LABELS.name]: labelValue(ref.app_name),
    [LABELS.component]: 'build',
    [LABELS.appId]: ref.app_id,
    [LABELS.releaseId]: ref.release_id,
    [LABELS.releaseVersion]: String(ref.version),
  };
}

export function kanikoPod(input: KanikoBuildInput): V1Pod {
  const name = buildPodName(input.ref.release_id);
  const artifactPath = `/workspace/${ARTIFACT_FILE[input.appType]}`;
  const resources = { requests: { cpu: input.cpu, memory: input.memory }, limits: { cpu: input.cpu, memory: input.memory } };
  const pushSecret = input.registrySecretName ?? (input.dockerConfigJson ? name : undefined);
  const pushSecretKey = input.registrySecretName ? '.dockerconfigjson' : 'config.json';
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name,
      namespace: input.namespace,
      labels: { ...input.extraLabels, ...buildLabels(input.ref) },
      annotations: {
        ...input.extraAnnotations,
        [BUILD_ANNOTATIONS.image]: input.destinations[0] ?? '',
        [BUILD_ANNOTATIONS.cacheKey]: input.cacheKey,
        [BUILD_ANNOTATIONS.method]: 'kaniko',
      },
    },
    spec: {
      restartPolicy: 'Never',
      activeDeadlineSeconds: Math.ceil(input.timeoutMs / 1000),
      automountServiceAccountToken: false,
      enableServiceLinks: false,
      terminationGracePeriodSeconds: 10,
      ...(input.placement && Object.keys(input.placement.nodeSelector).length > 0 ? { nodeSelector: input.placement.nodeSelector } : {}),
      ...(input.placement && input.placement.tolerations.length > 0 ? { tolerations: input.placement.tolerations } : {}),
      initContainers: [
        {
          name: FETCH_CONTAINER,
          image: input.fetchImage,
          command: ['curl'],
          args: [
            '--fail',
            '--silent',
            '--show-error',
            '--retry',
            '5',
            '--retry-all-errors',
            '--retry-delay',
            '2',
            '--connect-timeout',
            '30',
            '--max-filesize',
            String(input.maxArtifactBytes),
            '--header',
            '@/var/run/appserving/fetch/fetch-header',
            '--output',
            artifactPath,
            input.artifactUrl,
          ],
          resources: { requests: { cpu: '100m', memory: '64Mi' }, limits: { cpu: '500m', memory: '128Mi' } },
          securityContext: { runAsNonRoot: true, runAsUser: 100, allowPrivilegeEscalation: false, readOnlyRootFilesystem: true, capabilities: { drop: ['ALL'] } },
          volumeMounts: [
            { name: 'workspace', mountPath: '/workspace' },
            { name: 'fetch', mountPath: '/var/run/appserving/fetch', readOnly: true },
          ],
        },
      ],
      containers: [
        {
          name: KANIKO_CONTAINER,
          image: input.kanikoImage,
          args: [
            '--dockerfile=/build/Dockerfile',
            '--context=dir:///workspace',
            ...input.destinations.map((d) => `--destination=${d}`),
            '--digest-file=/dev/termination-log',
            '--snapshot-mode=redo',
            // A registry that drops a connection (a restart, a full accept queue) costs a retry, not the build.
            '--push-retry=3',
            '--image-download-retry=3',
            ...input.insecureRegistries.map((r) => `--insecure-registry=${r}`),
            ...(input.registryMap ? [`--registry-map=${input.registryMap.from}=${input.registryMap.to}`] : []),
          ],
          env: [{ name: 'DOCKER_CONFIG', value: '/kaniko/.docker' }],
          terminationMessagePolicy: 'FallbackToLogsOnError',
          resources,
          volumeMounts: [
            { name: 'workspace', mountPath: '/workspace' },
            { name: 'build-files', mountPath: '/build', readOnly: true },
            ...(input.launcher ? [{ name: 'build-files', mountPath: `/workspace/${PYTHON_LAUNCHER_FILE}`, subPath: PYTHON_LAUNCHER_FILE, readOnly: true }] : []),
            ...(pushSecret ? [{ name: 'docker-config', mountPath: '/kaniko/.docker', readOnly: true }] : []),
          ],
        },
      ],
      volumes: [
        { name: 'workspace', emptyDir: { sizeLimit: String(input.maxArtifactBytes * 2) } },
        { name: 'build-files', configMap: { name } },
        { name: 'fetch', secret: { secretName: name, items: [{ key: 'fetch-header', path: 'fetch-header' }] } },
        ...(pushSecret ? [{ name: 'docker-config', secret: { secretName: pushSecret, items: [{ key: pushSecretKey, path: 'config.json' }] } }] : []),
      ],
    },
  };
}

/** The Dockerfile (and launcher) of a build, owned by its Pod. */
export function buildFiles(input: KanikoBuildInput): V1ConfigMap {
  return {
    apiVersion: 'v1',
    kind: 'ConfigMap',
    metadata: { name: buildPodName(input.ref.release_id), namespace: input.namespace, labels: buildLabels(input.ref) },
    data: { Dockerfile: input.dockerfile, ...(input.launcher ? { [PYTHON_LAUNCHER_FILE]: input.launcher } : {}) },
  };
}

/** The download token (and push credentials, when the builder holds them), owned by the Pod. */
export function buildSecret(input: KanikoBuildInput): V1Secret {
  return {
    apiVersion: 'v1',
    kind: 'Secret',
    type: 'Opaque',
    metadata: { name: buildPodName(input.ref.release_id), namespace: input.namespace, labels: buildLabels(input.ref) },
    stringData: {
      'fetch-header': `Authorization: Bearer ${input.fetchToken}`,
      ...(input.dockerConfigJson && !input.registrySecretName ? { 'config.json': input.dockerConfigJson } : {}),
    },
  };
}

/** Docker's config.json for one registry: what Kaniko reads to push. */
export function dockerConfigJson(registryHost: string, username: string, password: string): string {
  return JSON.stringify({ auths: { [registryHost]: { auth: Buffer.from(`${username}:${password}`).toString('base64') } } });
}
