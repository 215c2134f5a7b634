import { InputError, isAppServingError, LABELS, NotFoundError, rpcs, type Database, type Logger, type PodLogsRequestV1, type PodLogsResponseV1 } from '@appserving/shared';
import type { ClusterAccessProvider } from '@appserving/shared/kube';
import type { Msg, NatsConnection, Subscription } from '@nats-io/nats-core';
import type { Kysely } from 'kysely';
import Value from 'typebox/value';
import { createClusterReader } from '../adapters/cluster-api.ts';

const MAX_PODS = 20;

/**
 * Answers `rpcs.podLogs` (queue group `watcher`, so one replica answers each request): the last lines of
 * an app's pods, read from the cluster with its registered kubeconfig. The gateway never talks to Kubernetes.
 */
export function serveLogs(deps: { nc: NatsConnection; db: Kysely<Database>; access: ClusterAccessProvider; log: Logger }): Subscription {
  const log = deps.log.child({ rpc: rpcs.podLogs.subject });
  return deps.nc.subscribe(rpcs.podLogs.subject, {
    queue: 'watcher',
    callback: (error, msg) => {
      if (error) {
        log.warn({ err: error }, 'logs subscription error');
        return;
      }
      void answer(msg).catch((failure: unknown) => log.warn({ err: failure }, 'could not answer a logs request'));
    },
  });

  async function answer(msg: Msg): Promise<void> {
    try {
      const data = await podLogs(parse(msg));
      msg.respond(JSON.stringify({ ok: true, data }));
    } catch (error) {
      const known = isAppServingError(error);
      if (!known) log.error({ err: error }, 'logs request failed');
      const body = known ? { code: error.code, message: error.message } : { code: 'logs_failed', message: 'the watcher could not read the logs; see its log' };
      msg.respond(JSON.stringify({ ok: false, error: body }));
    }
  }

  function parse(msg: Msg): PodLogsRequestV1 {
    let request: unknown;
    try {
      request = msg.json();
    } catch {
      throw new InputError('invalid_request', 'the request is not JSON');
    }
    if (!Value.Check(rpcs.podLogs.request, request)) {
      const first = [...Value.Errors(rpcs.podLogs.request, request)][0];
      throw new InputError('invalid_request', `invalid logs request${first ? `: ${first.instancePath} ${first.message}` : ''}`);
    }
    return request;
  }

  async function podLogs(request: PodLogsRequestV1): Promise<PodLogsResponseV1> {
    const app = await deps.db
      .selectFrom('apps')
      .leftJoin('projects', 'projects.id', 'apps.project_id')
      .select(['apps.id', 'apps.cluster_id', 'projects.namespace'])
      .where('apps.id', '=', request.app_id)
      .where('apps.deleted_at', 'is', null)
      .executeTakeFirst();
    if (!app) throw new NotFoundError('app_not_found', `no app with id ${request.app_id}`);
    const reader = createClusterReader((await deps.access.get(app.cluster_id)).kubeConfig);
    const namespace = app.namespace ?? 'default';
    const selector = [`${LABELS.appId}=${app.id}`, `${LABELS.component}!=build`, ...(request.release_id ? [`${LABELS.releaseId}=${request.release_id}`] : [])].join(',');
    const pods = (await reader.listPods(namespace, selector))
      .sort((a, b) => (b.metadata?.creationTimestamp?.getTime?.() ?? 0) - (a.metadata?.creationTimestamp?.getTime?.() ?? 0))
      .slice(0, MAX_PODS);
    return {
      pods: await Promise.all(
        pods.map(async (pod) => {
          const name = pod.metadata?.name ?? '';
          const container = pod.spec?.containers[0]?.name ?? 'app';
          const base = { name, release_id: pod.metadata?.labels?.[LABELS.releaseId] ?? null, phase: pod.status?.phase ?? 'Unknown', container };
          try {
            return { ...base, lines: await reader.podLogs(namespace, name, { container, previous: request.previous, tailLines: request.tail_lines }) };
          } catch (error) {
            return { ...base, lines: [], error: logError(error, request.previous) };
          }
        }),
      ),
    };
  }
}

/** The API server's reason (e.g. "previous terminated container not found"), without the request details. */
function logError(error: unknown, previous: boolean): string {
  const body = (error as { body?: unknown }).body;
  let message: string | undefined;
  if (typeof body === 'string') {
    try {
      message = (JSON.parse(body) as { message?: string }).message;
    } catch {
      message = body.slice(0, 300);
    }
  } else if (body && typeof body === 'object') {
    message = (body as { message?: string }).message;
  }
  message ??= error instanceof Error ? error.message : String(error);
  return previous ? `no logs of a previous container: ${message}` : message;
}
