import { keepPreviousData, useMutation, useQuery, useQueryClient, type QueryClient } from '@tanstack/react-query';
import { api } from './client.ts';
import type { AppMetrics, AppView, ClusterView, ProjectView, ReleaseView, SessionView, TimelineEntry, TokenView } from './types.ts';

export const keys = {
  session: ['session'] as const,
  apps: ['apps'] as const,
  app: (id: string) => ['apps', id] as const,
  releases: (id: string) => ['apps', id, 'releases'] as const,
  timeline: (id: string) => ['apps', id, 'timeline'] as const,
  metrics: (id: string, range: string) => ['apps', id, 'metrics', range] as const,
  clusters: ['clusters'] as const,
  projects: ['projects'] as const,
  tokens: ['tokens'] as const,
};

/** How often lists look again: the apps list has no event stream of its own. */
const LIST_REFRESH_MS = 5_000;

export function useSession() {
  return useQuery({ queryKey: keys.session, queryFn: () => api<SessionView>('GET', '/session'), retry: false, staleTime: 60_000 });
}

export function useProjects() {
  return useQuery({ queryKey: keys.projects, queryFn: async () => (await api<{ projects: ProjectView[] }>('GET', '/projects')).projects });
}

export function useClusters() {
  return useQuery({ queryKey: keys.clusters, queryFn: async () => (await api<{ clusters: ClusterView[] }>('GET', '/clusters')).clusters });
}

export function useTokens(enabled: boolean) {
  return useQuery({ queryKey: keys.tokens, queryFn: async () => (await api<{ tokens: TokenView[] }>('GET', '/tokens')).tokens, enabled });
}

/** Every app the session reaches, newest first: GET /apps page after page (1000 a page, `next` to the last). */
export function useApps() {
  return useQuery({
    queryKey: keys.apps,
    refetchInterval: LIST_REFRESH_MS,
    queryFn: async () => {
      const apps: AppView[] = [];
      for (let after: string | null = null, first = true; first || after; first = false) {
        const page: { items: AppView[]; next: string | null } = await api('GET', `/apps?limit=1000${after ? `&after=${after}` : ''}`);
        apps.push(...page.items);
        after = page.next;
      }
      return apps;
    },
  });
}

const appQuery = (id: string) => ({ queryKey: keys.app(id), queryFn: () => api<AppView>('GET', `/apps/${id}`) });

export function useApp(id: string) {
  return useQuery({ ...appQuery(id), refetchInterval: LIST_REFRESH_MS });
}

/** An app page opened directly asks for its app at once, beside the session check instead of after it. */
export function prefetchLanding(client: QueryClient, path: string): void {
  const id = /^\/console\/apps\/([0-9a-f-]{36})$/.exec(path)?.[1];
  if (id) void client.prefetchQuery(appQuery(id));
}

export function useReleases(id: string) {
  return useQuery({ queryKey: keys.releases(id), queryFn: async () => (await api<{ items: ReleaseView[] }>('GET', `/apps/${id}/releases`)).items });
}

export function useTimeline(id: string) {
  return useQuery({ queryKey: keys.timeline(id), queryFn: async () => (await api<{ items: TimelineEntry[] }>('GET', `/apps/${id}/timeline?limit=1000`)).items });
}

/** How often the metrics are read again while the page is open (TanStack Query pauses it while the tab is hidden). */
export const METRICS_REFRESH_MS = 15_000;

/**
 * GET /apps/{id}/metrics over `range` at `step`, read again every 15 s while the tab is visible; the charts keep
 * the last answer while a new range loads. A 503 (no Prometheus, no watcher) is not retried: the panel says why.
 */
export function useAppMetrics(id: string, range: string, step: string) {
  return useQuery({
    queryKey: keys.metrics(id, range),
    queryFn: () => api<AppMetrics>('GET', `/apps/${id}/metrics?range=${range}&step=${step}`),
    refetchInterval: METRICS_REFRESH_MS,
    refetchIntervalInBackground: false,
    placeholderData: keepPreviousData,
    retry: false,
  });
}

/** A change to an app: afterwards everything about it is read again. */
export function useAppChange<B>(id: string, method: string, path: string) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: B | undefined) => api<unknown>(method, path, body, { 'idempotency-key': crypto.randomUUID() }),
    onSettled: () => client.invalidateQueries({ queryKey: keys.app(id) }).then(() => client.invalidateQueries({ queryKey: keys.apps, exact: false })),
  });
}

export function useAdminChange<B, R = unknown>(method: string, path: string | ((body: B) => string), invalidate: readonly unknown[]) {
  const client = useQueryClient();
  return useMutation({
    mutationFn: (body: B) => api<R>(method, typeof path === 'string' ? path : path(body), method === 'DELETE' ? undefined : body),
    onSettled: () => client.invalidateQueries({ queryKey: invalidate }),
  });
}
