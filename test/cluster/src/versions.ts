import { readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';

/** Root of the `@appserving/test-cluster` package. */
export const packageDir = join(import.meta.dirname, '..');

/** The pinned versions, read from `versions.env` (the one place where they are written). */
export interface Versions {
  readonly K8S_VERSION: string;
  readonly ETCD_VERSION: string;
  readonly KWOK_VERSION: string;
  readonly FLAGGER_VERSION: string;
  readonly HELM_VERSION: string;
  readonly GATEWAY_API_VERSION: string;
  readonly TRAEFIK_VERSION: string;
  readonly HEY_VERSION: string;
  readonly CONTAINERD_VERSION: string;
  readonly RUNC_VERSION: string;
  readonly KANIKO_VERSION: string;
  readonly GO_MIN_VERSION: string;
  readonly DEBIAN_PROMETHEUS_PACKAGE: string;
  readonly DEBIAN_REGISTRY_PACKAGE: string;
  /** Space-separated Debian packages of the real node. */
  readonly DEBIAN_NODE_PACKAGES: string;
  /** Space-separated Debian packages the tests build their real apps with. */
  readonly DEBIAN_TEST_APP_PACKAGES: string;
}

const required: readonly (keyof Versions)[] = [
  'K8S_VERSION', 'ETCD_VERSION', 'KWOK_VERSION', 'FLAGGER_VERSION', 'HELM_VERSION', 'GATEWAY_API_VERSION', 'TRAEFIK_VERSION', 'HEY_VERSION', 'CONTAINERD_VERSION',
  'RUNC_VERSION', 'KANIKO_VERSION', 'GO_MIN_VERSION', 'DEBIAN_PROMETHEUS_PACKAGE', 'DEBIAN_REGISTRY_PACKAGE', 'DEBIAN_NODE_PACKAGES', 'DEBIAN_TEST_APP_PACKAGES',
];

export function readVersions(file = join(packageDir, 'versions.env')): Versions {
  const values = new Map<string, string>();
  for (const raw of readFileSync(file, 'utf8').split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#')) continue;
    const eq = line.indexOf('=');
    // The file is also sourced by bash, so a value with spaces is double-quoted there.
    if (eq > 0) values.set(line.slice(0, eq), line.slice(eq + 1).replace(/^"(.*)"$/, '$1'));
  }
  const missing = required.filter((key) => !values.get(key));
  if (missing.length > 0) throw new Error(`${file}: missing ${missing.join(', ')}`);
  return Object.fromEntries(required.map((key) => [key, values.get(key)])) as unknown as Versions;
}

/** `${APPSERVING_CACHE:-$HOME/.cache/appserving}`, shared with the workspace toolchain. */
export function cacheRoot(env: NodeJS.ProcessEnv = process.env): string {
  return env.APPSERVING_CACHE || join(homedir(), '.cache', 'appserving');
}

/** Where scripts/build.sh puts each component's binaries (one directory per component and version). */
export interface BinaryPaths {
  readonly etcd: string;
  readonly kubeApiserver: string;
  readonly kubeControllerManager: string;
  readonly kubeScheduler: string;
  readonly kubectl: string;
  readonly kwok: string;
  readonly flagger: string;
  readonly helm: string;
  readonly kubelet: string;
  readonly containerd: string;
  /** containerd-shim-runc-v2, found by containerd on its PATH (the directory of `containerd`). */
  readonly containerdShim: string;
  readonly ctr: string;
  readonly runc: string;
  /** Kaniko's executor, made into the build image of the real node. */
  readonly kanikoExecutor: string;
  /** The static sandbox ("pause") binary, made into the real node's sandbox image. */
  readonly pause: string;
  /** The local traffic gateway (Gateway API implementation). */
  readonly traefik: string;
  /** Flagger's load tester (runs `hey` against a canary during analysis). */
  readonly loadtester: string;
  readonly hey: string;
}

export function flaggerCacheKey(v: Versions): string {
  // The flagger build carries one build-time change (its HTTP listener bound to 127.0.0.1), see scripts/build.sh.
  return `flagger-${v.FLAGGER_VERSION}-loopback`;
}

export function binaryPaths(v: Versions, cache = cacheRoot()): BinaryPaths {
  const dir = (key: string) => join(cache, 'cluster', key, 'bin');
  const k8s = dir(`k8s-${v.K8S_VERSION}`);
  return {
    etcd: join(dir(`etcd-${v.ETCD_VERSION}`), 'etcd'),
    kubeApiserver: join(k8s, 'kube-apiserver'),
    kubeControllerManager: join(k8s, 'kube-controller-manager'),
    kubeScheduler: join(k8s, 'kube-scheduler'),
    kubectl: join(k8s, 'kubectl'),
    kwok: join(dir(`kwok-${v.KWOK_VERSION}`), 'kwok'),
    flagger: join(dir(flaggerCacheKey(v)), 'flagger'),
    helm: join(dir(`helm-${v.HELM_VERSION}`), 'helm'),
    kubelet: join(dir(`kubelet-${v.K8S_VERSION}`), 'kubelet'),
    containerd: join(dir(`containerd-${v.CONTAINERD_VERSION}`), 'containerd'),
    containerdShim: join(dir(`containerd-${v.CONTAINERD_VERSION}`), 'containerd-shim-runc-v2'),
    ctr: join(dir(`containerd-${v.CONTAINERD_VERSION}`), 'ctr'),
    runc: join(dir(`runc-${v.RUNC_VERSION}`), 'runc'),
    kanikoExecutor: join(dir(`kaniko-${v.KANIKO_VERSION}`), 'executor'),
    pause: join(dir(`pause-${v.K8S_VERSION}`), 'pause'),
    traefik: join(dir(`traefik-${v.TRAEFIK_VERSION}`), 'traefik'),
    loadtester: join(dir(`loadtester-${v.FLAGGER_VERSION}-loopback`), 'loadtester'),
    hey: join(dir(`hey-${v.HEY_VERSION}`), 'hey'),
  };
}
