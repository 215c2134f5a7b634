import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { AuthorizationV1Api, KubeConfig } from '@kubernetes/client-node';
import { inject } from 'vitest';
import type {} from '../../test/cluster/src/global-setup.ts';
import { binaryPaths, readVersions } from '../../test/cluster/src/versions.ts';
export { eventually } from '../../test/cluster/src/eventually.ts';

/** The chart under test. */
export const CHART = join(import.meta.dirname, '..', 'appserving');
export const SERVICES = ['gateway', 'builder', 'deployer', 'watcher'] as const;

/** The helm built for the local cluster (scripts/test.sh builds it first): the deployer refuses to start without one. */
export function clusterHelm(): string {
  return binaryPaths(readVersions()).helm;
}

export interface CommandResult {
  code: number;
  stdout: string;
  stderr: string;
}

async function run(binary: string, args: string[], env: NodeJS.ProcessEnv = {}, input?: string): Promise<CommandResult> {
  return new Promise((resolve) => {
    const child = execFile(binary, args, { env: { ...process.env, ...env }, maxBuffer: 64 * 1024 * 1024 }, (error, stdout, stderr) => {
      const code = error ? (typeof error.code === 'number' ? error.code : 1) : 0;
      resolve({ code, stdout, stderr });
    });
    if (input !== undefined) child.stdin?.end(input);
  });
}

/**
 * The helm and kubectl built for the local cluster, with the admin kubeconfig, and helm's cache/config/data kept
 * in a temporary home of this test file.
 */
export function clusterTools() {
  const cluster = inject('appservingCluster');
  const home = mkdtempSync(join(tmpdir(), 'appserving-chart-helm-'));
  const helmEnv = { HELM_CACHE_HOME: join(home, 'cache'), HELM_CONFIG_HOME: join(home, 'config'), HELM_DATA_HOME: join(home, 'data') };
  const kubeconfig = cluster.kubeconfigPath;
  const kc = new KubeConfig();
  kc.loadFromFile(kubeconfig);
  const authorization = kc.makeApiClient(AuthorizationV1Api);

  const helmRaw = (...args: string[]) => run(cluster.helmBinary, [...args, `--kubeconfig=${kubeconfig}`], helmEnv);
  const kubectlRaw = (args: string[], input?: string) => run(cluster.kubectlBinary, [...args, `--kubeconfig=${kubeconfig}`], {}, input);

  return {
    cluster,
    helmRaw,
    kubectlRaw,
    /** helm; throws with helm's own message when it fails. */
    async helm(...args: string[]): Promise<string> {
      const result = await helmRaw(...args);
      if (result.code !== 0) throw new Error(`helm ${args.join(' ')} failed (${result.code}): ${result.stderr}`);
      return result.stdout;
    },
    async kubectl(...args: string[]): Promise<string> {
      const result = await kubectlRaw(args);
      if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${result.code}): ${result.stderr}`);
      return result.stdout;
    },
    async kubectlJson<T>(...args: string[]): Promise<T> {
      const result = await kubectlRaw([...args, '-o', 'json']);
      if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${result.code}): ${result.stderr}`);
      return JSON.parse(result.stdout) as T;
    },
    async apply(yaml: string): Promise<void> {
      const result = await kubectlRaw(['apply', '-f', '-'], yaml);
      if (result.code !== 0) throw new Error(`kubectl apply failed: ${result.stderr}`);
    },
    /**
     * May this ServiceAccount do `verb` on `resource` (`plural[.group][/subresource]`, e.g. `pods/exec`,
     * `deployments.apps`, `canaries.flagger.app`), in `namespace` (omitted: cluster-wide)? Asked as a
     * SubjectAccessReview, so the real API server's RBAC authorizer answers, also for kinds whose
     * CRD is not installed (e.g. Gateway API HTTPRoutes).
     */
    async canI(serviceAccount: { namespace: string; name: string }, verb: string, resource: string, namespace?: string, name?: string): Promise<boolean> {
      const [kind = '', subresource = ''] = resource.split('/');
      const dot = kind.indexOf('.');
      const review = {
        apiVersion: 'authorization.k8s.io/v1',
        kind: 'SubjectAccessReview',
        spec: {
          user: `system:serviceaccount:${serviceAccount.namespace}:${serviceAccount.name}`,
          groups: ['system:serviceaccounts', `system:serviceaccounts:${serviceAccount.namespace}`, 'system:authenticated'],
          resourceAttributes: {
            verb,
            resource: dot < 0 ? kind : kind.slice(0, dot),
            group: dot < 0 ? '' : kind.slice(dot + 1),
            ...(subresource ? { subresource } : {}),
            ...(namespace === undefined ? {} : { namespace }),
            ...(name === undefined ? {} : { name }),
          },
        },
      };
      const answer = await authorization.createSubjectAccessReview({ body: review });
      return answer.status?.allowed === true;
    },
    /** The same question through `kubectl auth can-i --as=system:serviceaccount:…`. */
    async kubectlCanI(serviceAccount: { namespace: string; name: string }, verb: string, resource: string, namespace?: string): Promise<boolean> {
      const [kind = '', subresource] = resource.split('/');
      const args = ['auth', 'can-i', verb, kind, `--as=system:serviceaccount:${serviceAccount.namespace}:${serviceAccount.name}`];
      if (subresource) args.push(`--subresource=${subresource}`);
      args.push(namespace === undefined ? '--all-namespaces' : `--namespace=${namespace}`);
      const result = await kubectlRaw(args);
      const answer = result.stdout.trim();
      if (answer.startsWith('yes')) return true;
      if (answer.startsWith('no')) return false;
      throw new Error(`kubectl auth can-i ${verb} ${resource} gave no answer (${result.code}): ${result.stderr}`);
    },
    cleanup(): void {
      rmSync(home, { recursive: true, force: true });
    },
  };
}
export type ClusterTools = ReturnType<typeof clusterTools>;

export function uniqueName(prefix: string): string {
  return `${prefix}-${randomBytes(3).toString('hex')}`;
}

/** A values file for helm -f: values go to helm as a file, never as --set strings. */
export function valuesFile(values: unknown): string {
  const dir = mkdtempSync(join(tmpdir(), 'appserving-values-'));
  const path = join(dir, 'values.json');
  writeFileSync(path, JSON.stringify(values));
  return path;
}


export interface DeploymentStatus {
  metadata: { name: string; generation: number };
  spec: { replicas: number; template: { metadata: { annotations?: Record<string, string> }; spec: { containers: { image: string }[] } } };
  status?: { observedGeneration?: number; replicas?: number; updatedReplicas?: number; availableReplicas?: number; conditions?: { type: string; status: string }[] };
}

/** Available, fully rolled out to the current generation. */
export function rolledOut(d: DeploymentStatus): boolean {
  const s = d.status;
  return (
    s !== undefined &&
    s.observedGeneration === d.metadata.generation &&
    s.updatedReplicas === d.spec.replicas &&
    s.availableReplicas === d.spec.replicas &&
    (s.replicas ?? 0) === d.spec.replicas &&
    (s.conditions ?? []).some((c) => c.type === 'Available' && c.status === 'True')
  );
}

/** Minimal values for an install on the local cluster: external NATS and Postgres addresses (never dialled:
 * kwok simulates the pods, nothing runs). */
export function externalValues(overrides: Record<string, unknown> = {}): Record<string, unknown> {
  return {
    externalDatabase: { existingSecret: 'appserving-database' },
    externalNats: { url: 'nats://nats.invalid:4222' },
    ...overrides,
  };
}

export function databaseSecret(namespace: string): string {
  return JSON.stringify({
    apiVersion: 'v1',
    kind: 'Secret',
    metadata: { name: 'appserving-database', namespace },
    stringData: { url: 'postgres://appserving:not-a-real-password@postgres.invalid:5432/appserving' },
  });
}
