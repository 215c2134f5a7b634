import { createPublisher, type CloudEvent, type MessageType, type Publisher, type ReleaseRefV1 } from '@appserving/shared';
import { jetstream } from '@nats-io/jetstream';
import type { NatsConnection } from '@nats-io/nats-core';
import type { TSchema } from 'typebox';
import type Type from 'typebox';

/** Test helpers over a gateway (HTTP) and a NATS connection: calls, waits, event publishing and capture. */
export interface Harness {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any -- response bodies are checked by the tests' expectations
  call(method: string, path: string, body?: unknown): Promise<{ status: number; body: any }>;
  /** Publishes an event as the builder or deployer would (id derived from what happened). */
  publish<S extends TSchema>(type: MessageType<S>, id: string, appId: string, data: Type.Static<S>): Promise<void>;
  /** Every release.status event seen on NATS since the harness started. */
  statusEvents: CloudEvent<{ release: ReleaseRefV1; status: string; previous_status?: string; diagnosis?: { code: string; summary: string; evidence: Record<string, unknown> }; canary_weight?: number }>[];
  statusesOf(releaseId: string): string[];
  /**
   * The release's statuses once its `status` event has been seen: the event leaves through the outbox after the
   * commit (at once, or with the relay's next sweep), so it can arrive after the row shows the status.
   */
  statusesOnceSeen(releaseId: string, status: string, timeoutMs?: number): Promise<string[]>;
  close(): void;
}

export function createHarness(options: { base: string; token: string; nc: NatsConnection; source?: string }): Harness {
  const publisher: Publisher = createPublisher({ js: jetstream(options.nc), source: options.source ?? '/test/simulated-services' });
  const statusEvents: Harness['statusEvents'] = [];
  // A core NATS subscriber may see an event twice (republished after a crash between publish and mark, or by
  // another replica's sweep); as docs/messaging.md tells subscribers, the CloudEvent id says it is the same one.
  const seen = new Set<string>();
  const subscription = options.nc.subscribe('appserving.evt.release.status.>', {
    callback: (error, msg) => {
      if (error) return;
      const event = msg.json<Harness['statusEvents'][number]>();
      if (seen.has(event.id)) return;
      seen.add(event.id);
      statusEvents.push(event);
    },
  });
  const statusesOf = (releaseId: string) => statusEvents.filter((e) => e.data.release.release_id === releaseId).map((e) => e.data.status);
  return {
    async call(method, path, body) {
      const response = await fetch(`${options.base}${path}`, {
        method,
        headers: { authorization: `Bearer ${options.token}`, ...(body === undefined ? {} : { 'content-type': 'application/json' }) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      const text = await response.text();
      let parsed: unknown = text;
      try {
        parsed = text ? JSON.parse(text) : undefined;
      } catch {
        // not JSON (SSE, plain text)
      }
      return { status: response.status, body: parsed };
    },
    async publish(type, id, appId, data) {
      await publisher.publish(type, { id, appId, data });
    },
    statusEvents,
    statusesOf,
    async statusesOnceSeen(releaseId, status, timeoutMs = 15_000) {
      await waitFor(`the ${status} event of release ${releaseId}`, () => statusesOf(releaseId).includes(status), timeoutMs, 50);
      return statusesOf(releaseId);
    },
    close: () => subscription.unsubscribe(),
  };
}

/** Polls until `probe` gives a truthy value; on timeout fails with the last value seen. */
export async function waitFor<T>(what: string, probe: () => Promise<T> | T, timeoutMs = 15_000, everyMs = 100): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let lastError: unknown;
  for (;;) {
    try {
      last = await probe();
      if (last) return last;
    } catch (error) {
      lastError = error;
    }
    if (Date.now() > deadline) {
      const seen = lastError ? `error: ${lastError instanceof Error ? lastError.message : JSON.stringify(lastError)}` : JSON.stringify(last)?.slice(0, 2000);
      throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last seen: ${seen}`);
    }
    await new Promise((r) => setTimeout(r, everyMs));
  }
}
