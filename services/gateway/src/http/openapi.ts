import type { FastifyInstance, RouteOptions } from 'fastify';

/**
 * The name of every operation in the OpenAPI document, so generated clients (openapi-generator for the Java teams,
 * openapi-typescript for the console) get stable method names instead of made-up ones. One table, checked by
 * `openapi.test.ts`: a route without an entry fails the suite. Probes get a summary here too (they are registered
 * by the shared ops routes, which know nothing of the document).
 */
const operations: Record<string, { id: string; summary?: string }> = {
  'GET /healthz': { id: 'getHealth', summary: 'Liveness: 200 while the process runs.' },
  'GET /readyz': { id: 'getReadiness', summary: 'Readiness: 200 when Postgres and NATS answer, 503 naming what does not (and security warnings).' },
  'GET /metrics': { id: 'getServiceMetrics', summary: 'The gateway\'s own Prometheus metrics (text exposition format).' },
  'GET /apps': { id: 'listApps' },
  'POST /apps': { id: 'createApp' },
  'GET /apps/:id': { id: 'getApp' },
  'PATCH /apps/:id': { id: 'updateApp' },
  'DELETE /apps/:id': { id: 'deleteApp' },
  'POST /apps/:id/rollback': { id: 'rollbackApp' },
  'POST /apps/:id/promote': { id: 'promoteRelease' },
  'POST /apps/:id/abort': { id: 'abortRelease' },
  'GET /apps/:id/releases': { id: 'listReleases' },
  'GET /apps/:id/releases/:version': { id: 'getRelease' },
  'GET /apps/:id/timeline': { id: 'getTimeline' },
  'GET /apps/:id/wait': { id: 'waitForApp' },
  'GET /apps/:id/events': { id: 'streamAppEvents' },
  'GET /apps/:id/logs': { id: 'getAppLogs' },
  'GET /apps/:id/metrics': { id: 'getAppMetrics' },
  'POST /artifacts': { id: 'uploadArtifact' },
  'GET /clusters': { id: 'listClusters' },
  'POST /clusters': { id: 'registerCluster' },
  'GET /clusters/:id': { id: 'getCluster' },
  'PATCH /clusters/:id': { id: 'updateCluster' },
  'DELETE /clusters/:id': { id: 'deleteCluster' },
  'POST /clusters/:id/check': { id: 'checkCluster' },
  'GET /projects': { id: 'listProjects' },
  'POST /projects': { id: 'createProject' },
  'GET /projects/:id': { id: 'getProject' },
  'DELETE /projects/:id': { id: 'deleteProject' },
  'GET /session': { id: 'getSession' },
  'POST /session': { id: 'signIn' },
  'DELETE /session': { id: 'signOut' },
  'GET /tokens': { id: 'listTokens' },
  'POST /tokens': { id: 'createToken' },
  'DELETE /tokens/:id': { id: 'revokeToken' },
};

/** Names each route's operation from the table (routes registered after this call). */
export function nameOperations(app: FastifyInstance): void {
  app.addHook('onRoute', (route: RouteOptions) => {
    const methods = [route.method].flat().filter((m) => m !== 'HEAD');
    const entry = methods.length === 1 ? operations[`${methods[0] ?? ''} ${route.url}`] : undefined;
    if (!entry || route.schema?.hide) return;
    route.schema ??= {};
    const schema = route.schema as { operationId?: string; summary?: string };
    schema.operationId ??= entry.id;
    if (entry.summary) schema.summary ??= entry.summary;
  });
}

/**
 * The document as published: the validator's own `errorMessage` keyword (which words a 400 uses) is not an
 * OpenAPI keyword and is left out; the server is this gateway, wherever it is reached.
 */
export function publishedDocument<T extends object>(document: T): T {
  const strip = (value: unknown): unknown => {
    if (Array.isArray(value)) return value.map(strip);
    if (value === null || typeof value !== 'object') return value;
    return Object.fromEntries(Object.entries(value).filter(([key]) => key !== 'errorMessage').map(([key, item]) => [key, strip(item)]));
  };
  return { ...(strip(document) as T), servers: [{ url: '/', description: 'this gateway' }] };
}
