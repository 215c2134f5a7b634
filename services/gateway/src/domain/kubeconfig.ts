import { InputError } from '@appserving/shared';
import { parseDocument } from 'yaml';

export interface KubeconfigSummary {
  /** `server` of the current context's cluster. */
  apiServerUrl: string;
  currentContext: string;
  /** `proxy-url` of that cluster, when it has one: every connection to the API server goes through it. */
  proxyUrl?: string;
  /** `insecure-skip-tls-verify: true`: the API server's certificate is not checked. */
  insecureSkipTlsVerify?: true;
}

/**
 * Checks that a kubeconfig (YAML or JSON) can be used by the platform and returns what is shown about it.
 * Error messages name the problem and never quote the document, which holds credentials (the YAML parser's
 * own messages quote the offending line, so only its error code and position are passed on).
 *
 * Refused on purpose: credentials that make the client run a program (`exec`, `auth-provider`) and references
 * to files on the gateway's host (`tokenFile`, `client-certificate`, `client-key`, `certificate-authority`).
 * The kubeconfig is used by other processes on other machines, and registering one must not let anybody run
 * a command or read a file there. Inline data (`token`, `*-data`) works everywhere.
 */
export function inspectKubeconfig(text: string): KubeconfigSummary {
  const document = parseDocument(text, { uniqueKeys: true, prettyErrors: false });
  const syntaxError = document.errors[0];
  if (syntaxError !== undefined) {
    const { line, column } = lineAndColumn(text, syntaxError.pos[0]);
    throw invalid(`is not valid YAML (${syntaxError.code} at line ${line}, column ${column})`);
  }
  let config: unknown;
  try {
    config = document.toJS({ maxAliasCount: 100 });
  } catch {
    throw invalid('uses too many YAML aliases');
  }
  if (!isRecord(config)) throw invalid('must be a mapping (apiVersion, clusters, contexts, users, current-context)');

  const currentContext = config['current-context'];
  if (typeof currentContext !== 'string' || currentContext === '') throw invalid('has no current-context');
  const context = namedEntry(config, 'contexts', 'context', currentContext);
  if (context === undefined) throw invalid(`has no context named ${quote(currentContext)} (its current-context)`);

  const clusterName = context['cluster'];
  if (typeof clusterName !== 'string' || clusterName === '') throw invalid(`context ${quote(currentContext)} names no cluster`);
  const cluster = namedEntry(config, 'clusters', 'cluster', clusterName);
  if (cluster === undefined) throw invalid(`has no cluster named ${quote(clusterName)} (used by context ${quote(currentContext)})`);
  const server = cluster['server'];
  if (typeof server !== 'string' || !isHttpUrl(server)) throw invalid(`cluster ${quote(clusterName)} has no http(s) server URL`);
  if ('certificate-authority' in cluster) throw invalid(`cluster ${quote(clusterName)} refers to a file (certificate-authority): inline it as certificate-authority-data`);

  const userName = context['user'];
  if (typeof userName === 'string' && userName !== '') {
    const user = namedEntry(config, 'users', 'user', userName);
    if (user === undefined) throw invalid(`has no user named ${quote(userName)} (used by context ${quote(currentContext)})`);
    for (const key of ['exec', 'auth-provider']) {
      if (key in user) throw invalid(`user ${quote(userName)} uses ${key}: the platform runs no programs from a kubeconfig; use a token or a client certificate`);
    }
    for (const key of ['tokenFile', 'client-certificate', 'client-key']) {
      if (key in user) throw invalid(`user ${quote(userName)} refers to a file (${key}): inline the credential (token, client-certificate-data, client-key-data)`);
    }
  }
  const proxyUrl = cluster['proxy-url'];
  if (proxyUrl !== undefined && typeof proxyUrl !== 'string') throw invalid(`cluster ${quote(clusterName)} has a proxy-url that is not a string`);
  return {
    apiServerUrl: server,
    currentContext,
    ...(proxyUrl ? { proxyUrl } : {}),
    ...(cluster['insecure-skip-tls-verify'] === true ? { insecureSkipTlsVerify: true as const } : {}),
  };
}

function invalid(problem: string): InputError {
  return new InputError('invalid_kubeconfig', `kubeconfig ${problem}`, { details: { field: 'kubeconfig' } });
}

function namedEntry(config: Record<string, unknown>, list: string, key: string, name: string): Record<string, unknown> | undefined {
  const entries = config[list];
  if (!Array.isArray(entries)) return undefined;
  const entry: unknown = entries.find((item: unknown) => isRecord(item) && item['name'] === name);
  if (!isRecord(entry)) return undefined;
  const value = entry[key];
  return isRecord(value) ? value : {};
}

function lineAndColumn(text: string, offset: number): { line: number; column: number } {
  const before = text.slice(0, offset);
  const lineStart = before.lastIndexOf('\n') + 1;
  return { line: before.split('\n').length, column: offset - lineStart + 1 };
}

function isRecord(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function isHttpUrl(value: string): boolean {
  try {
    const url = new URL(value);
    return url.protocol === 'https:' || url.protocol === 'http:';
  } catch {
    return false;
  }
}

/** Names are not secrets, but they come from the caller: shortened and quoted. */
function quote(name: string): string {
  return JSON.stringify(name.length > 64 ? `${name.slice(0, 64)}…` : name);
}
