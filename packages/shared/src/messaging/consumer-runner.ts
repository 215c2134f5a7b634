import { setTimeout as sleep } from 'node:timers/promises';
import type { Consumer, JetStreamClient, JsMsg } from '@nats-io/jetstream';
import type { TSchema } from 'typebox';
import type Type from 'typebox';
import type { CloudEvent, ConsumerDefinition, MessageType } from '../contracts/index.ts';
import { InputError, messageDispositionOf, type RetryPolicy } from '../errors/index.ts';
import type { Logger } from '../logging/index.ts';
import { extractTraceContext, inSpan, SpanKind, type Metrics } from '../telemetry/index.ts';
import { decodeCloudEvent } from './codec.ts';
import { deadLetterOf, recordDeadLetter } from './dead-letters.ts';

export interface HandlerContext {
  log: Logger;
  /** 1 on first delivery. */
  deliveryCount: number;
  /** Aborted when the service shuts down and the grace period ran out: stop and leave the message to a replica. */
  signal: AbortSignal;
  /** Tells JetStream the handler is still busy (called automatically every ack_wait/2 as well). */
  working(): void;
}

export interface Handler {
  messageType: MessageType;
  handle(event: CloudEvent, ctx: HandlerContext): Promise<void>;
}

/** Binds a handler to one message type; `event.data` is typed by that type's schema. */
export function on<S extends TSchema>(
  messageType: MessageType<S>,
  handle: (event: CloudEvent<Type.Static<S>>, ctx: HandlerContext) => Promise<void>,
): Handler {
  return { messageType, handle };
}

export interface ConsumerRunnerOptions {
  js: JetStreamClient;
  definition: ConsumerDefinition;
  handlers: readonly Handler[];
  concurrency: number;
  retry: RetryPolicy;
  ackWaitMs: number;
  log: Logger;
  metrics?: Metrics;
  /** Re-creates streams and consumers; called when the consumer cannot be found (e.g. NATS lost its state). */
  ensureTopology: () => Promise<void>;
  /** How long one pull waits for messages before asking again. */
  fetchExpiresMs?: number;
}

export interface ConsumerRunner {
  readonly name: string;
  start(): void;
  /** Stops pulling, lets in-flight messages finish for `graceMs`, then returns the rest to the stream. */
  stop(graceMs: number): Promise<void>;
  /** True while the pull loop is connected to its consumer. */
  isHealthy(): boolean;
}

interface InFlight {
  msg: JsMsg;
  abort: AbortController;
  /** Set when shutdown returned the message to the stream: the handler's outcome is then ignored. */
  returned: boolean;
  done: Promise<void>;
}

/**
 * Pulls from one durable consumer and runs handlers with bounded concurrency. Each message ends in exactly
 * one of: ack (handled), nak with backoff (retryable failure), or term after being recorded in the
 * dead-letter stream (bad input, or out of deliveries).
 */
export function createConsumerRunner(options: ConsumerRunnerOptions): ConsumerRunner {
  const { definition, js, retry, metrics } = options;
  const log = options.log.child({ consumer: definition.name });
  const handlers = new Map(options.handlers.map((h) => [h.messageType.type, h]));
  const accepted = options.handlers.map((h) => h.messageType);
  const inFlight = new Set<InFlight>();
  let slotFreed: (() => void) | undefined;
  let stopping = false;
  let healthy = false;
  let loop: Promise<void> | undefined;

  const release = () => {
    slotFreed?.();
    slotFreed = undefined;
  };

  async function handle(msg: JsMsg, entry: InFlight): Promise<void> {
    const deliveryCount = msg.info.deliveryCount;
    const msgLog = log.child({ subject: msg.subject, seq: msg.seq, deliveryCount });
    const started = performance.now();
    const heartbeat = setInterval(() => msg.working(), Math.max(500, Math.floor(options.ackWaitMs / 2)));
    metrics?.messagesInFlight.inc({ consumer: definition.name });
    let outcome: 'ack' | 'nak' | 'term' = 'ack';
    try {
      if (deliveryCount > retry.maxDeliveries) {
        // Earlier deliveries never finished (the process died or ack_wait ran out each time).
        throw new InputError('max_deliveries_exceeded', `delivered ${deliveryCount} times without completing`);
      }
      const decoded = decodeCloudEvent(msg.data, accepted);
      if ('skipped' in decoded) {
        msgLog.trace({ type: decoded.skipped }, 'not handled by this consumer; skipped');
        msg.ack();
        return;
      }
      const { event, messageType } = decoded;
      const handler = handlers.get(messageType.type);
      if (!handler) throw new InputError('unknown_type', `no handler for ${messageType.type}`);
      const eventLog = msgLog.child({ eventId: event.id, type: event.type });
      await inSpan(
        `${definition.name} process ${event.type}`,
        {
          kind: SpanKind.CONSUMER,
          parent: extractTraceContext(msg.headers),
          attributes: { 'messaging.system': 'nats', 'messaging.destination.name': msg.subject, 'cloudevents.event_id': event.id },
        },
        () => handler.handle(event, { log: eventLog, deliveryCount, signal: entry.abort.signal, working: () => msg.working() }),
      );
      if (!entry.returned) msg.ack();
    } catch (error) {
      if (entry.returned) return;
      const disposition = messageDispositionOf(error, deliveryCount, retry);
      if (disposition.action === 'nak') {
        outcome = 'nak';
        msgLog.warn({ err: error, retryInMs: disposition.delayMs }, 'handler failed; will retry');
        msg.nak(disposition.delayMs);
      } else {
        outcome = 'term';
        try {
          await recordDeadLetter(js, deadLetterOf(definition.name, msg, disposition.reason, error));
          // No reason with the TERM: servers before 2.10.4 (Debian 12's is 2.9) do not read `+TERM <reason>` as a
          // termination and redeliver the message after ack_wait, for ever. The reason is in the dead letter.
          msg.term();
          metrics?.deadLetters.inc({ consumer: definition.name });
          msgLog.error({ err: error, reason: disposition.reason }, 'message moved to the dead-letter stream');
        } catch (dlqError) {
          // Not recorded, so not terminated: it comes back and is dead-lettered on a later delivery.
          outcome = 'nak';
          msgLog.error({ err: dlqError }, 'could not record dead letter; message will be redelivered');
          msg.nak(retry.baseDelayMs);
        }
      }
    } finally {
      clearInterval(heartbeat);
      metrics?.messagesInFlight.dec({ consumer: definition.name });
      metrics?.messagesHandled.inc({ consumer: definition.name, outcome: entry.returned ? 'returned' : outcome });
      metrics?.messageHandlingSeconds.observe({ consumer: definition.name }, (performance.now() - started) / 1000);
    }
  }

  function dispatch(msg: JsMsg): void {
    const entry: InFlight = { msg, abort: new AbortController(), returned: false, done: Promise.resolve() };
    inFlight.add(entry);
    entry.done = handle(msg, entry).finally(() => {
      inFlight.delete(entry);
      release();
    });
  }

  async function pullLoop(): Promise<void> {
    let consumer: Consumer | undefined;
    let failures = 0;
    while (!stopping) {
      try {
        consumer ??= await js.consumers.get(definition.stream.name, definition.name);
        const free = options.concurrency - inFlight.size;
        if (free <= 0) {
          await new Promise<void>((resolve) => (slotFreed = resolve));
          continue;
        }
        const batch = await consumer.fetch({ max_messages: free, expires: options.fetchExpiresMs ?? 2_000 });
        healthy = true;
        failures = 0;
        // Messages that arrive while stopping are handled like any other: they are ours already, and handing
        // them back now would only bounce them into this same open pull, raising their delivery count.
        for await (const msg of batch) dispatch(msg);
      } catch (error) {
        if (stopping) break;
        healthy = false;
        failures += 1;
        consumer = undefined;
        log.warn({ err: error, failures }, 'pulling failed; re-ensuring the consumer and retrying');
        await sleep(Math.min(250 * 2 ** Math.min(failures, 5), 5_000));
        try {
          await options.ensureTopology();
        } catch (ensureError) {
          log.warn({ err: ensureError }, 'could not ensure streams and consumers yet');
        }
      }
    }
    healthy = false;
  }

  return {
    name: definition.name,
    start() {
      if (loop) return;
      log.info({ stream: definition.stream.name, concurrency: options.concurrency }, 'consumer started');
      loop = pullLoop();
    },
    async stop(graceMs) {
      stopping = true;
      release();
      const started = Date.now();
      // The open pull ends on its own within fetchExpiresMs; until it has, a message handed back could be
      // redelivered straight into it. So wait for the pull loop first, then for handlers, then hand back.
      const fetchExpiresMs = options.fetchExpiresMs ?? 2_000;
      await Promise.race([loop ?? Promise.resolve(), sleep(Math.max(graceMs, fetchExpiresMs + 1_000))]);
      const remaining = Math.max(0, graceMs - (Date.now() - started));
      const allDone = Promise.all([...inFlight].map((e) => e.done)).then(() => 'done' as const);
      const finished = await Promise.race([allDone, sleep(remaining).then(() => 'timeout' as const)]);
      if (finished === 'timeout' && inFlight.size > 0) {
        log.warn({ returned: inFlight.size }, 'grace period over; returning unfinished messages to the stream');
        for (const entry of inFlight) {
          entry.returned = true;
          entry.abort.abort(new Error('service shutting down'));
          entry.msg.nak();
        }
      }
      log.info({ tookMs: Date.now() - started }, 'consumer stopped');
    },
    isHealthy: () => healthy && !stopping,
  };
}
