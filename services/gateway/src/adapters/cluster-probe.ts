import { AuthorizationV1Api, KubeConfig, Observable, VersionApi, type ConfigurationOptions, type RequestContext, type ResponseContext } from '@kubernetes/client-node';

/**
 * The test call the gateway makes to a cluster before it is registered, and again to show its health: the API
 * server's version (it answers, and the credentials are accepted), then what the platform needs to do there, asked
 * with SelfSubjectAccessReviews (every authenticated identity may ask about itself). It uses the same client, TLS
 * settings and proxy as the watcher, so a cluster that passes here is one the platform can use.
 *
 * The result names what failed in words; it never carries the kubeconfig or anything from it but the server's host.
 */
export type ClusterHealthStatus = 'ok' | 'unreachable' | 'unauthorized' | 'forbidden' | 'error';

export interface ClusterHealth {
  status: ClusterHealthStatus;
  /** What was found, for a person: the version, or what failed. */
  message: string;
  /** `gitVersion` of the API server, when it answered. */
  version: string | null;
  /** What the credentials may not do, when the permission check failed. */
  missing_permissions: string[];
  checked_at: string;
}

export type ClusterProbe = (kubeconfig: string) => Promise<ClusterHealth>;

/** What the platform does on a cluster (helm, the watcher's informers, build Pods), checked cluster-wide. */
export const requiredPermissions = [
  { verb: 'create', group: '', resource: 'namespaces' },
  { verb: 'create', group: 'apps', resource: 'deployments' },
  { verb: 'create', group: '', resource: 'secrets' },
  { verb: 'delete', group: '', resource: 'persistentvolumeclaims' },
  { verb: 'watch', group: '', resource: 'pods' },
] as const;

export function createClusterProbe(options: { timeoutMs: number; now?: () => Date }): ClusterProbe {
  const now = options.now ?? (() => new Date());
  return async (kubeconfig) => {
    const at = () => now().toISOString();
    let kc: KubeConfig;
    try {
      kc = new KubeConfig();
      kc.loadFromString(kubeconfig);
    } catch (error) {
      return { status: 'error', message: `the kubeconfig cannot be loaded: ${describe(error)}`, version: null, missing_permissions: [], checked_at: at() };
    }
    const signal = AbortSignal.timeout(options.timeoutMs);
    // The generated client has no timeout of its own: every request of the probe carries the deadline.
    const withDeadline: ConfigurationOptions = {
      middleware: [
        {
          pre: (context: RequestContext) => {
            context.setSignal(signal);
            return new Observable(Promise.resolve(context));
          },
          post: (context: ResponseContext) => new Observable(Promise.resolve(context)),
        },
      ],
      middlewareMergeStrategy: 'append',
    };
    const server = serverHost(kc);
    let version: string;
    try {
      version = (await kc.makeApiClient(VersionApi).getCode(undefined, withDeadline)).gitVersion;
    } catch (error) {
      return { ...failure(error, server, signal.aborted, options.timeoutMs), version: null, missing_permissions: [], checked_at: at() };
    }
    try {
      const authorization = kc.makeApiClient(AuthorizationV1Api);
      const answers = await Promise.all(
        requiredPermissions.map(async (p) => {
          const review = await authorization.createSelfSubjectAccessReview(
            { body: { apiVersion: 'authorization.k8s.io/v1', kind: 'SelfSubjectAccessReview', spec: { resourceAttributes: { verb: p.verb, group: p.group, resource: p.resource } } } },
            withDeadline,
          );
          return { permission: `${p.verb} ${p.group ? `${p.resource}.${p.group}` : p.resource}`, allowed: review.status?.allowed === true };
        }),
      );
      const missing = answers.filter((a) => !a.allowed).map((a) => a.permission);
      if (missing.length > 0) {
        return {
          status: 'forbidden',
          message: `the API server at ${server} (${version}) accepts the credentials, but they may not ${missing.join(', ')} in every namespace, which the platform needs`,
          version,
          missing_permissions: missing,
          checked_at: at(),
        };
      }
      return { status: 'ok', message: `the API server at ${server} answers (${version}) and the credentials may do what the platform needs`, version, missing_permissions: [], checked_at: at() };
    } catch (error) {
      return { ...failure(error, server, signal.aborted, options.timeoutMs), version, missing_permissions: [], checked_at: at() };
    }
  };
}

function failure(error: unknown, server: string, timedOut: boolean, timeoutMs: number): { status: ClusterHealthStatus; message: string } {
  const code = (error as { code?: unknown }).code;
  if (code === 401) return { status: 'unauthorized', message: `the API server at ${server} does not accept the kubeconfig's credentials (401 Unauthorized)` };
  if (code === 403) return { status: 'forbidden', message: `the API server at ${server} refuses the kubeconfig's credentials the permission check (403 Forbidden)` };
  if (timedOut) return { status: 'unreachable', message: `the API server at ${server} did not answer within ${timeoutMs} ms` };
  if (typeof code === 'number') return { status: 'error', message: `the API server at ${server} answered ${code}` };
  return { status: 'unreachable', message: `the API server at ${server} cannot be reached: ${describe(error)}` };
}

/** The host of the current cluster's server: the only part of a kubeconfig that messages show. */
function serverHost(kc: KubeConfig): string {
  try {
    return new URL(kc.getCurrentCluster()?.server ?? '').host;
  } catch {
    return 'the kubeconfig\'s server';
  }
}

/** An error's message without what a TLS or fetch library may append (never the kubeconfig: it is not in them). */
function describe(error: unknown): string {
  const cause = (error as { cause?: { code?: string; message?: string } }).cause;
  const text = cause?.code ?? cause?.message ?? (error instanceof Error ? error.message : String(error));
  return text.split('\n')[0]?.slice(0, 300) ?? 'unknown error';
}
