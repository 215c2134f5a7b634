// vitest globalSetup: starts the local cluster once per test run (or joins the one already running: another
// project of this run listing this file, or a `pnpm cluster:up`), and hands its addresses to the tests through
// `inject('appservingCluster')` and APPSERVING_TEST_* environment variables.
import type {} from 'vitest';
import type { TestProject } from 'vitest/node';
import { startCluster } from './cluster.ts';
import type { ClusterInfo } from './cluster.ts';

declare module 'vitest' {
  export interface ProvidedContext {
    appservingCluster: ClusterInfo;
  }
}

export default async function setup(project: TestProject): Promise<() => Promise<void>> {
  const cluster = await startCluster({ log: (line) => process.stderr.write(`[cluster] ${line}\n`) });
  const { stop, ...info } = cluster;
  project.provide('appservingCluster', info);
  process.env.APPSERVING_TEST_KUBECONFIG = info.kubeconfigPath;
  process.env.APPSERVING_TEST_REGISTRY = info.registryHost;
  process.env.APPSERVING_TEST_REGISTRY_URL = info.registryUrl;
  process.env.APPSERVING_TEST_PROMETHEUS = info.prometheusUrl;
  process.env.APPSERVING_TEST_CLUSTER_DIR = info.clusterDir;
  process.env.APPSERVING_TEST_HELM = info.helmBinary;
  process.env.APPSERVING_TEST_KUBECTL = info.kubectlBinary;
  return stop;
}
