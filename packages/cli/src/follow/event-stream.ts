import { createParser } from 'eventsource-parser';
import type { ApiClient } from '../api/api-client.ts';
import type { AppView, CloudEvent } from '../api/views.ts';
import { CliError, ExitCode } from '../errors.ts';

/**
 * `GET /apps/{id}/events` (Server-Sent Events): a `snapshot` of the app, then every event about it. Reconnects
 * after a dropped connection with `Last-Event-ID`, so nothing is missed or repeated; gives up only on an answer
 * that will not change (401, 403, 404) or when `signal` aborts.
 */
export interface EventStreamHandlers {
  onSnapshot?(app: AppView): void;
  onEvent(event: CloudEvent, sequence: string | undefined): void;
  /** The connection dropped and will be retried. */
  onDisconnect?(error: CliError): void;
  onReconnect?(): void;
}

export async function streamAppEvents(client: ApiClient, appId: string, handlers: EventStreamHandlers, signal: AbortSignal): Promise<void> {
  let lastEventId: string | undefined;
  let retryMs = 1_000;
  let failures = 0;
  while (!signal.aborted) {
    try {
      const response = await client.openStream(`/apps/${encodeURIComponent(appId)}/events`, {
        ...(lastEventId ? { headers: { 'last-event-id': lastEventId } } : {}),
        signal,
      });
      if (failures > 0) handlers.onReconnect?.();
      failures = 0;
      const parser = createParser({
        onEvent(message) {
          if (message.id) lastEventId = message.id;
          let parsed: unknown;
          try {
            parsed = JSON.parse(message.data);
          } catch {
            return;
          }
          if (message.event === 'snapshot') handlers.onSnapshot?.(parsed as AppView);
          else handlers.onEvent(parsed as CloudEvent, message.id);
        },
        onRetry(ms) {
          retryMs = Math.min(Math.max(ms, 250), 10_000);
        },
      });
      const decoder = new TextDecoder();
      for await (const chunk of response.body ?? []) parser.feed(decoder.decode(chunk as Uint8Array, { stream: true }));
      if (signal.aborted) return;
      throw new CliError(ExitCode.unreachable, 'unreachable', 'the event stream ended');
    } catch (error) {
      if (signal.aborted) return;
      const failure = error instanceof CliError ? error : new CliError(ExitCode.unreachable, 'unreachable', `the event stream broke: ${(error as Error).message}`, { cause: error });
      if (failure.exitCode === ExitCode.auth || failure.exitCode === ExitCode.usage) throw failure;
      failures += 1;
      handlers.onDisconnect?.(failure);
      await sleep(Math.min(retryMs * failures, 10_000), signal);
    }
  }
}

export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve) => {
    if (signal?.aborted) return resolve();
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      signal?.removeEventListener('abort', done);
      resolve();
    }
    signal?.addEventListener('abort', done, { once: true });
  });
}
