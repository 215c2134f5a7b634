import { ListWatch, Watch, type KubeConfig, type KubernetesListObject, type KubernetesObject, type ObjectCache } from '@kubernetes/client-node';
import type { Logger } from '@appserving/shared';

/**
 * One informer (list, then watch from the list's resourceVersion) over all namespaces of a cluster, built on
 * @kubernetes/client-node's ListWatch, which already relists when a watch expires (410 Gone) and reconnects a
 * watch that went quiet (its 30 s inactivity timeout). What it does not do, this adds: restart after any other
 * error (ListWatch stops for good on one) with backoff, report the first complete list ("synced"), count every
 * list (a relist is how an expired watch shows), and drop `managedFields` from cached objects (half their size).
 */
export interface KindInformer<T extends KubernetesObject> {
  readonly kind: string;
  readonly cache: ObjectCache<T>;
  /** True once a list completed (or the kind does not exist on the cluster, e.g. no Flagger). */
  synced(): boolean;
  /** False when the kind is not served by the cluster (404 on list). */
  available(): boolean;
  start(): void;
  stop(): Promise<void>;
}

export type InformerVerb = 'add' | 'update' | 'delete';

export interface InformerOptions<T extends KubernetesObject> {
  kc: KubeConfig;
  kind: string;
  /** API path of the collection, e.g. `/apis/apps/v1/deployments`. */
  path: string;
  list: () => Promise<KubernetesListObject<T>>;
  labelSelector?: string;
  fieldSelector?: string;
  onChange: (verb: InformerVerb, obj: T) => void;
  onList?: () => void;
  onError?: (error: unknown) => void;
  log: Logger;
  /** Longest wait before a failed watch is tried again. */
  maxBackoffMs?: number;
}

export function createKindInformer<T extends KubernetesObject>(options: InformerOptions<T>): KindInformer<T> {
  const { log } = options;
  let synced = false;
  let available = true;
  let stopped = true;
  let failures = 0;
  let retry: NodeJS.Timeout | undefined;

  const list = async () => {
    options.onList?.();
    try {
      const result = await options.list();
      synced = true;
      available = true;
      failures = 0;
      return result;
    } catch (error) {
      if (statusOf(error) === 404) {
        // The kind is not installed (no Flagger on this cluster): nothing to watch, and nothing to wait for.
        available = false;
        synced = true;
      }
      throw error;
    }
  };
  const informer = new ListWatch<T>(options.path, new Watch(options.kc), list, false, options.labelSelector, options.fieldSelector);

  const strip = (obj: T) => {
    if (obj.metadata) delete obj.metadata.managedFields;
    return obj;
  };
  for (const verb of ['add', 'update', 'delete'] as const) {
    informer.on(verb, (obj: T) => {
      failures = 0;
      options.onChange(verb, strip(obj));
    });
  }
  informer.on('error', (error: unknown) => {
    if (stopped) return;
    failures += 1;
    options.onError?.(error);
    const delay = available ? Math.min(500 * 2 ** Math.min(failures - 1, 6), options.maxBackoffMs ?? 10_000) : 60_000;
    (failures === 1 ? log.warn.bind(log) : log.debug.bind(log))({ kind: options.kind, err: error, retryInMs: delay }, available ? 'watch failed; will retry' : 'kind not served by this cluster; checking again later');
    clearTimeout(retry);
    retry = setTimeout(() => {
      if (!stopped) void informer.start();
    }, delay);
  });

  return {
    kind: options.kind,
    cache: informer,
    synced: () => synced,
    available: () => available,
    start() {
      if (!stopped) return;
      stopped = false;
      void informer.start();
    },
    async stop() {
      stopped = true;
      clearTimeout(retry);
      await informer.stop();
    },
  };
}

function statusOf(error: unknown): number | undefined {
  const e = error as { code?: unknown; statusCode?: unknown } | undefined;
  if (typeof e?.code === 'number') return e.code;
  if (typeof e?.statusCode === 'number') return e.statusCode;
  return undefined;
}
