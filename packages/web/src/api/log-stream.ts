import { useCallback, useEffect, useRef, useState } from 'react';
import { ApiError, api, failureOf } from './client.ts';
import { readEvents } from './sse.ts';
import type { LogDroppedEvent, LogLineEvent, LogPodEvent } from './types.ts';

/** The most entries kept: older ones are let go as new ones come (the view and its download show what is kept). */
export const MAX_LOG_ENTRIES = 5_000;
/** Lines asked for when the stream opens (the last ones printed); a reconnection asks for none (no `tail`: from now on). */
export const LOG_TAIL = 200;
/** How often what arrived is handed to React: a burst of lines is one render, not one per line. */
const FLUSH_MS = 100;
const RECONNECT_MS = 2_000;

export type LogEntry =
  | ({ seq: number; kind: 'line' } & LogLineEvent)
  | ({ seq: number; kind: 'pod'; ts: string } & LogPodEvent)
  | ({ seq: number; kind: 'dropped'; ts: string } & LogDroppedEvent)
  | { seq: number; kind: 'error'; ts: string; code: string; message: string }
  /** A pod whose lines could not be read (the last-lines answer's `error`). */
  | { seq: number; kind: 'podError'; ts: string; pod: string; release_id: string | null; release_version: null; message: string }
  | { seq: number; kind: 'reconnected'; ts: string };

/** `snapshot`: a gateway without the follow stream answered the last lines once (GET /apps/{id}/logs?tail=). */
export type StreamState = 'connecting' | 'live' | 'reconnecting' | 'ended' | 'snapshot';

export interface LogStream {
  /** The newest entries, at most MAX_LOG_ENTRIES, oldest first. */
  entries: LogEntry[];
  /** Entries received since the stream opened (also those let go since). */
  received: number;
  state: StreamState;
  /** Why the stream could not open or ended (the API's refusal, or its `error` event). */
  error: ApiError | null;
  /** Opens the stream again after it ended. */
  restart(): void;
}

/**
 * GET /apps/{id}/logs?follow=true (Server-Sent Events), read with fetch so that a refusal's status and `{ error }`
 * are seen (EventSource hides both). The session cookie authenticates. `line`, `pod` and `dropped` events become
 * entries; `error` ends the stream with its message; a stream cut otherwise is opened again from now on, and a
 * `reconnected` entry says lines may be missing in between. At most MAX_LOG_ENTRIES are kept.
 */
export function useLogStream(appId: string): LogStream {
  const [entries, setEntries] = useState<LogEntry[]>([]);
  const [received, setReceived] = useState(0);
  const [state, setState] = useState<StreamState>('connecting');
  const [error, setError] = useState<ApiError | null>(null);
  const [generation, setGeneration] = useState(0);
  const buffer = useRef<LogEntry[]>([]);
  const restart = useCallback(() => setGeneration((g) => g + 1), []);

  useEffect(() => {
    const abort = new AbortController();
    let seq = 0;
    let count = 0;
    let flush: ReturnType<typeof setTimeout> | undefined;
    buffer.current = [];
    setEntries([]);
    setReceived(0);
    setError(null);
    setState('connecting');

    const push = (entry: LogEntry) => {
      const kept = buffer.current;
      kept.push(entry);
      if (kept.length > MAX_LOG_ENTRIES + 500) kept.splice(0, kept.length - MAX_LOG_ENTRIES);
      count += 1;
      flush ??= setTimeout(() => {
        flush = undefined;
        if (buffer.current.length > MAX_LOG_ENTRIES) buffer.current.splice(0, buffer.current.length - MAX_LOG_ENTRIES);
        setEntries(buffer.current.slice());
        setReceived(count);
      }, FLUSH_MS);
    };
    const now = () => new Date().toISOString();

    const onEvent = (event: string, data: string): 'end' | undefined => {
      let body: unknown;
      try {
        body = JSON.parse(data);
      } catch {
        return undefined;
      }
      if (event === 'line') push({ seq: ++seq, kind: 'line', ...(body as LogLineEvent), release_version: versionOf(body) });
      else if (event === 'pod') push({ seq: ++seq, kind: 'pod', ts: now(), ...(body as LogPodEvent), release_version: versionOf(body) });
      else if (event === 'dropped') push({ seq: ++seq, kind: 'dropped', ts: now(), ...(body as LogDroppedEvent) });
      else if (event === 'error') {
        const failure = body as { code?: string; message?: string; error?: { code?: string; message?: string } };
        const code = failure.code ?? failure.error?.code ?? 'logs_failed';
        const message = failure.message ?? failure.error?.message ?? code;
        push({ seq: ++seq, kind: 'error', ts: now(), code, message });
        setError(new ApiError(200, code, message));
        return 'end';
      }
      return undefined;
    };

    const lastLines = async () => {
      try {
        const answer = await api<{ pods: { name: string; release_id: string | null; container: string; lines: string[]; error?: string }[] }>('GET', `/apps/${appId}/logs?tail=${LOG_TAIL}`);
        for (const pod of answer.pods) {
          if (pod.error) push({ seq: ++seq, kind: 'podError', ts: '', pod: pod.name, release_id: pod.release_id, release_version: null, message: pod.error });
          for (const line of pod.lines) push({ seq: ++seq, kind: 'line', pod: pod.name, container: pod.container, release_id: pod.release_id, release_version: null, ts: '', line });
        }
        setState('snapshot');
      } catch (failure) {
        setError(failure instanceof ApiError ? failure : new ApiError(0, 'network', String(failure)));
        setState('ended');
      }
    };

    const run = async () => {
      for (let attempt = 0; !abort.signal.aborted; attempt += 1) {
        const path = `/apps/${appId}/logs?follow=true${attempt === 0 ? `&tail=${LOG_TAIL}` : ''}`;
        let ended: 'end' | 'cut' = 'cut';
        try {
          const response = await fetch(path, { credentials: 'same-origin', headers: { accept: 'text/event-stream' }, signal: abort.signal });
          if (response.status === 400 && attempt === 0) {
            // A gateway without the follow stream refuses `follow`: its last lines, once.
            await response.body?.cancel().catch(() => undefined);
            await lastLines();
            return;
          }
          if (!response.ok || !response.body) {
            const refusal = await failureOf(response, path);
            setError(refusal);
            // A watcher that is not there (503) may come back: ask again; anything else is the answer.
            if (response.status !== 503) {
              setState('ended');
              return;
            }
          } else {
            setError(null);
            setState('live');
            if (attempt > 0) push({ seq: ++seq, kind: 'reconnected', ts: now() });
            ended = await readEvents(response.body, onEvent, abort.signal);
          }
        } catch (failure) {
          if (abort.signal.aborted) return;
          setError(failure instanceof ApiError ? failure : new ApiError(0, 'network', String(failure)));
        }
        if (abort.signal.aborted) return;
        if (ended === 'end') {
          setState('ended');
          return;
        }
        setState('reconnecting');
        await new Promise((resolve) => setTimeout(resolve, RECONNECT_MS));
      }
    };
    void run();
    return () => {
      abort.abort();
      clearTimeout(flush);
    };
  }, [appId, generation]);

  return { entries, received, state, error, restart };
}

/** A release as the view names it: its label (`v3`), or `v` and its number when the stream sends a number. */
function versionOf(body: unknown): string | null {
  const version = (body as { release_version?: unknown }).release_version;
  if (typeof version === 'number') return `v${version}`;
  return typeof version === 'string' && version !== '' ? version : null;
}
