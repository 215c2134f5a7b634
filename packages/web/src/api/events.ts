import { useQueryClient } from '@tanstack/react-query';
import { useEffect, useState } from 'react';
import { keys } from './hooks.ts';
import type { StatusEvent } from './types.ts';

export const EVENT_TYPES = [
  'dev.appserving.build.started.v1',
  'dev.appserving.build.progress.v1',
  'dev.appserving.build.succeeded.v1',
  'dev.appserving.build.failed.v1',
  'dev.appserving.deploy.step.v1',
  'dev.appserving.release.status.v1',
  'dev.appserving.canary.analysis.v1',
  'dev.appserving.app.health.v1',
] as const;

const MAX_EVENTS = 500;

/**
 * The live rollout of an app: GET /apps/{id}/events (Server-Sent Events, the session cookie authenticates;
 * EventSource reconnects by itself with Last-Event-ID). Each event also refreshes what the page shows.
 */
export function useAppEvents(appId: string): { events: StatusEvent[]; connected: boolean } {
  const client = useQueryClient();
  const [events, setEvents] = useState<StatusEvent[]>([]);
  const [connected, setConnected] = useState(false);
  useEffect(() => {
    setEvents([]);
    const source = new EventSource(`/apps/${appId}/events`, { withCredentials: true });
    const seen = new Set<string>();
    let refresh: ReturnType<typeof setTimeout> | undefined;
    const onEvent = (message: MessageEvent<string>) => {
      let event: StatusEvent;
      try {
        event = JSON.parse(message.data) as StatusEvent;
      } catch {
        return;
      }
      // A reconnect replays the current release's events: keep each once.
      if (seen.has(event.id)) return;
      seen.add(event.id);
      setEvents((previous) => [...previous, event].slice(-MAX_EVENTS));
      clearTimeout(refresh);
      refresh = setTimeout(() => {
        void client.invalidateQueries({ queryKey: keys.app(appId) });
      }, 300);
    };
    for (const type of EVENT_TYPES) source.addEventListener(type, onEvent);
    source.addEventListener('snapshot', () => setConnected(true));
    source.onerror = () => setConnected(false);
    return () => {
      clearTimeout(refresh);
      source.close();
    };
  }, [appId, client]);
  return { events, connected };
}
