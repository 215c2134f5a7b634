import { InputError } from '@appserving/shared';
import { checkHostAddresses, classifyAddress, isAllowlisted, type AllowlistEntry, type HostResolver } from '@appserving/shared/artifacts';
import type { KubeconfigSummary } from './kubeconfig.ts';

/**
 * The addresses a registered cluster makes the platform connect to, under the rules artifact URLs follow
 * (docs/auth.md, "Clusters"): the watcher, the deployer's helm and the gateway's test call all connect to the API
 * server (with the cluster's credentials), through its proxy when it names one, and the watcher queries its
 * Prometheus. Without rules an admin token could aim those connections, credentials and all, at cloud metadata
 * endpoints or internal services.
 *
 * - API server: https; resolving to public addresses only. A host on APPSERVING_CLUSTER_HOST_ALLOWLIST may resolve
 *   to any address, may be plain http and may skip TLS verification (a cluster on the platform's own network).
 * - proxy-url: refused unless its host is on the allowlist.
 * - prometheus_url: http(s), public addresses only unless allowlisted.
 * - `allowLoopback` (set only by the `local` cluster's path: the operator named its kubeconfig in
 *   APPSERVING_LOCAL_CLUSTER_KUBECONFIG, e.g. the one `pnpm cluster:up` writes): an API server or Prometheus on this
 *   machine's loopback addresses passes, and such an API server may be plain http or skip TLS verification (its
 *   credentials never leave the machine). Every other rule holds for it too.
 */
export const CLUSTER_HOST_ALLOWLIST_SETTING = 'APPSERVING_CLUSTER_HOST_ALLOWLIST';

export interface ClusterAddressPolicy {
  readonly allowlist: readonly AllowlistEntry[];
  readonly resolve?: HostResolver;
  /** Loopback addresses allowed (only the `local` cluster's path sets it). */
  readonly allowLoopback?: boolean;
}

const hint = `add it to ${CLUSTER_HOST_ALLOWLIST_SETTING} to allow it`;

export async function checkClusterAddresses(kubeconfig: KubeconfigSummary, prometheusUrl: string | undefined, policy: ClusterAddressPolicy): Promise<void> {
  const server = parsed(kubeconfig.apiServerUrl, 'kubeconfig', 'the kubeconfig\'s server');
  const serverListed = listed(server, policy);
  const addresses = await checkHostAddresses(server.hostname, {
    allowlisted: serverListed,
    allowLoopback: policy.allowLoopback === true,
    ...resolver(policy),
    wording: { what: 'the kubeconfig\'s server', code: 'cluster_server', field: 'kubeconfig', hint },
  });
  // The local cluster's API server on this machine: its credentials never leave it, over http or not.
  const onLoopback = policy.allowLoopback === true && addresses.every((a) => classifyAddress(a)?.category === 'loopback');
  const trusted = serverListed || onLoopback;
  if (server.protocol !== 'https:' && !trusted) {
    throw new InputError(
      'cluster_server_insecure',
      `the kubeconfig's server ${server.host} is plain http: the cluster's credentials would travel in clear; use https, or ${hint} (a cluster on the platform's own network)`,
      { details: { field: 'kubeconfig', host: server.host } },
    );
  }
  if (kubeconfig.insecureSkipTlsVerify && !trusted) {
    throw new InputError(
      'cluster_tls_unverified',
      `the kubeconfig skips TLS verification (insecure-skip-tls-verify) for ${server.host}: anyone on the way could take the cluster's credentials; give its certificate-authority-data instead, or ${hint}`,
      { details: { field: 'kubeconfig', host: server.host } },
    );
  }
  if (kubeconfig.proxyUrl !== undefined) {
    const proxy = parsed(kubeconfig.proxyUrl, 'kubeconfig', 'the kubeconfig\'s proxy-url');
    if (!listed(proxy, policy)) {
      throw new InputError(
        'cluster_proxy_not_allowed',
        `the kubeconfig sends its connections through the proxy ${proxy.host} (proxy-url), which is not on ${CLUSTER_HOST_ALLOWLIST_SETTING}: the platform connects only through proxies an operator allowed`,
        { details: { field: 'kubeconfig', host: proxy.host } },
      );
    }
  }
  if (prometheusUrl !== undefined) {
    const prometheus = parsed(prometheusUrl, 'prometheus_url', 'prometheus_url');
    if (prometheus.protocol !== 'https:' && prometheus.protocol !== 'http:') {
      throw new InputError('prometheus_url_scheme', `prometheus_url must be an http or https URL, not ${prometheus.protocol}`, { details: { field: 'prometheus_url' } });
    }
    await checkHostAddresses(prometheus.hostname, {
      allowlisted: listed(prometheus, policy),
      allowLoopback: policy.allowLoopback === true,
      ...resolver(policy),
      wording: { what: 'prometheus_url', code: 'prometheus_url', field: 'prometheus_url', hint },
    });
  }
}

function parsed(value: string, field: string, what: string): URL {
  let url: URL;
  try {
    url = new URL(value);
  } catch {
    throw new InputError(`${field === 'kubeconfig' ? 'invalid_kubeconfig' : 'prometheus_url_invalid'}`, `${what} is not a valid URL`, { details: { field } });
  }
  if (url.username || url.password) {
    throw new InputError('cluster_url_credentials', `${what} (${url.host}) must not contain credentials (user:password@)`, { details: { field, host: url.host } });
  }
  return url;
}

function listed(url: URL, policy: ClusterAddressPolicy): boolean {
  const port = url.port ? Number(url.port) : url.protocol === 'https:' ? 443 : url.protocol === 'http:' ? 80 : url.protocol.startsWith('socks') ? 1080 : 0;
  return isAllowlisted(url, port, policy.allowlist);
}

function resolver(policy: ClusterAddressPolicy): { resolve?: HostResolver } {
  return policy.resolve ? { resolve: policy.resolve } : {};
}
