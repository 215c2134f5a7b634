import { randomUUID } from 'node:crypto';
import type { NatsConnection } from '@nats-io/nats-core';
import { connect } from '@nats-io/transport-node';
import { pino } from 'pino';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { BuildCommandV1, consumers, DeployCommandV1, streams, type ReleaseRefV1 } from '../contracts/index.ts';
import { RetryableError } from '../errors/index.ts';
import { startTestNatsServer, type TestNatsServer } from '../testing/index.ts';
import { on, type Handler } from './consumer-runner.ts';
import type { DeadLetter } from './dead-letters.ts';
import { createMessaging, type Messaging } from './messaging.ts';

const log = pino({ level: 'silent' });
const retry = { maxDeliveries: 3, baseDelayMs: 200, maxDelayMs: 2_000 };

let server: TestNatsServer;
let nc: NatsConnection;
let messaging: Messaging;

beforeEach(async () => {
  server = await startTestNatsServer();
  nc = await connect({ servers: server.url, maxReconnectAttempts: -1, reconnectTimeWait: 200 });
  messaging = await createMessaging({ nc, source: '/test', settings: { consumerConcurrency: 4, ackWaitMs: 2_000, retry }, log });
  await messaging.ensureTopology();
});

afterEach(async () => {
  await nc.close();
  await server.dispose();
});

function release(): ReleaseRefV1 {
  return { app_id: randomUUID(), app_name: 'orders', release_id: randomUUID(), version: 1, cluster_id: randomUUID() };
}

function buildCommand(ref = release()) {
  return {
    id: randomUUID(),
    appId: ref.app_id,
    data: {
      release: ref,
      spec: { app_type: 'jar' as const, artifact_url: 'https://artifacts.example/app.jar', port: 8080, resource_spec: 'small' as const, strategy: 'rolling' as const, env: {}, config: {}, secret_names: [], volumes: [], replicas: 1 },
      then_deploy: false,
    },
  };
}

async function waitFor<T>(probe: () => T | Promise<T>, what: string, timeoutMs = 10_000): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const value = await probe();
    if (value) return value;
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 50));
  }
}

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function lastDeadLetter(consumer: string): Promise<DeadLetter | undefined> {
  try {
    const m = await messaging.jsm.streams.getMessage(streams.deadLetters.name, { last_by_subj: `appserving.dlq.${consumer}` });
    return m ? m.json<DeadLetter>() : undefined;
  } catch {
    return undefined;
  }
}

function runBuilder(handlers: Handler[]) {
  const runner = messaging.consumer(consumers.builder, handlers);
  runner.start();
  return runner;
}

describe('consumer runner against a real NATS server', () => {
  it('handles a command published twice with the same id once', async () => {
    const command = buildCommand();
    const first = await messaging.publisher.publish(BuildCommandV1, command);
    const second = await messaging.publisher.publish(BuildCommandV1, command);
    expect(first.duplicate).toBe(false);
    expect(second.duplicate).toBe(true);
    expect(second.seq).toBe(first.seq);

    const seen: string[] = [];
    const runner = runBuilder([on(BuildCommandV1, async (event) => void seen.push(event.id))]);
    await waitFor(() => seen.length === 1, 'the command to be handled');
    await sleep(1_000);
    await runner.stop(1_000);
    expect(seen).toEqual([command.id]);
    const info = await messaging.jsm.streams.info(streams.commands.name);
    expect(info.state.messages).toBe(1);
  });

  it('redelivers a retryable failure with growing backoff, then acks', async () => {
    const deliveries: number[] = [];
    const runner = runBuilder([
      on(BuildCommandV1, async () => {
        deliveries.push(Date.now());
        if (deliveries.length < 3) throw new RetryableError('registry_busy', 'registry answered 503');
      }),
    ]);
    await messaging.publisher.publish(BuildCommandV1, buildCommand());
    await waitFor(() => deliveries.length === 3, 'three deliveries');
    await sleep(1_500);
    await runner.stop(1_000);
    expect(deliveries).toHaveLength(3);
    const [d1, d2, d3] = deliveries as [number, number, number];
    // nak delays are 200 ms then 400 ms (base 200, doubled per delivery).
    expect(d2 - d1).toBeGreaterThanOrEqual(180);
    expect(d3 - d2).toBeGreaterThanOrEqual(380);
    expect(d3 - d2).toBeGreaterThan(d2 - d1);
    const consumerInfo = await messaging.jsm.consumers.info(streams.commands.name, consumers.builder.name);
    expect(consumerInfo.num_ack_pending).toBe(0);
    expect(await lastDeadLetter('builder')).toBeUndefined();
  });

  it('dead-letters a message that always fails after the maximum deliveries, with the reason, and keeps going', async () => {
    const calls = new Map<string, number>();
    const runner = runBuilder([
      on(BuildCommandV1, async (event) => {
        calls.set(event.id, (calls.get(event.id) ?? 0) + 1);
        if (event.data.release.app_name === 'orders') throw new RetryableError('registry_down', 'registry 127.0.0.1:5000 refused the connection');
      }),
    ]);
    const poison = buildCommand();
    await messaging.publisher.publish(BuildCommandV1, poison);
    const letter = await waitFor(() => lastDeadLetter('builder'), 'the dead letter');
    expect(calls.get(poison.id)).toBe(3);
    expect(letter.deliveries).toBe(3);
    expect(letter.reason).toContain('gave up after 3 deliveries');
    expect(letter.reason).toContain('registry 127.0.0.1:5000 refused the connection');
    expect(letter.error_code).toBe('registry_down');
    expect(JSON.parse(letter.data).id).toBe(poison.id);

    const healthy = buildCommand({ ...release(), app_name: 'billing' });
    await messaging.publisher.publish(BuildCommandV1, healthy);
    await waitFor(() => calls.get(healthy.id) === 1, 'the next message to be handled');
    await sleep(800);
    expect(calls.get(poison.id)).toBe(3);
    await runner.stop(1_000);
  });

  it('terminates malformed and invalid messages at once and records why', async () => {
    let handled = 0;
    const runner = runBuilder([on(BuildCommandV1, async () => void (handled += 1))]);
    await messaging.js.publish('appserving.cmd.build.x', 'not json at all');
    const malformed = await waitFor(() => lastDeadLetter('builder'), 'a dead letter for malformed JSON');
    expect(malformed.error_code).toBe('malformed_message');
    expect(malformed.deliveries).toBe(1);
    expect(malformed.data).toBe('not json at all');

    const command = buildCommand();
    const event = { specversion: '1.0', id: randomUUID(), source: '/other-system', type: BuildCommandV1.type, data: { ...command.data, colour: 'blue' } };
    await messaging.js.publish(BuildCommandV1.subject(command.appId), JSON.stringify(event));
    const invalid = await waitFor(async () => {
      const l = await lastDeadLetter('builder');
      return l?.error_code === 'invalid_data' ? l : undefined;
    }, 'a dead letter for invalid data');
    expect(invalid.reason).toContain('does not match its schema');
    expect(handled).toBe(0);
    // Terminated, not left to come back after ack_wait (a server before 2.10.4 ignores `+TERM <reason>`).
    const info = await waitFor(async () => {
      const i = await messaging.jsm.consumers.info(streams.commands.name, 'builder');
      return i.num_ack_pending === 0 && i.num_pending === 0 ? i : undefined;
    }, 'the consumer to have nothing pending', 3_000);
    expect(info.num_redelivered).toBe(0);
    await runner.stop(1_000);
  });

  it('acknowledges and skips catalog messages meant for another consumer', async () => {
    let handled = 0;
    const runner = runBuilder([on(BuildCommandV1, async () => void (handled += 1))]);
    const ref = release();
    await messaging.publisher.publish(DeployCommandV1, {
      id: randomUUID(),
      appId: ref.app_id,
      data: { release: ref, spec: buildCommand(ref).data.spec, image: '127.0.0.1:5000/orders@sha256:' + 'a'.repeat(64), skip_analysis: false },
    });
    await waitFor(async () => (await messaging.jsm.consumers.info(streams.commands.name, consumers.builder.name)).num_pending === 0, 'the skip');
    await waitFor(async () => (await messaging.jsm.consumers.info(streams.commands.name, consumers.builder.name)).num_ack_pending === 0, 'the ack');
    expect(handled).toBe(0);
    expect(await lastDeadLetter('builder')).toBeUndefined();
    await runner.stop(1_000);
  });

  it('recovers after the NATS server restarts, with its store and with an empty one', async () => {
    const seen = new Set<string>();
    const runner = runBuilder([on(BuildCommandV1, async (event) => void seen.add(event.id))]);
    const publishEventually = async (command: ReturnType<typeof buildCommand>) =>
      waitFor(async () => messaging.publisher.publish(BuildCommandV1, command).then(() => true, () => false), 'a publish to succeed', 20_000);

    const before = buildCommand();
    await publishEventually(before);
    await waitFor(() => seen.has(before.id), 'the first command');

    await server.stop();
    await sleep(500);
    await server.start();
    const afterRestart = buildCommand();
    await publishEventually(afterRestart);
    await waitFor(() => seen.has(afterRestart.id), 'a command after a restart', 20_000);

    await server.stop();
    await server.start({ wipe: true });
    // The runner notices its consumer is gone and re-creates streams and consumers from the catalog.
    await waitFor(async () => {
      try {
        await messaging.jsm.consumers.info(streams.commands.name, consumers.builder.name);
        return true;
      } catch {
        return false;
      }
    }, 'the consumer to be re-created', 20_000);
    const afterWipe = buildCommand();
    await publishEventually(afterWipe);
    await waitFor(() => seen.has(afterWipe.id), 'a command after the store was wiped', 20_000);
    expect(runner.isHealthy()).toBe(true);
    await runner.stop(1_000);
  });

  it('keeps a handler that runs longer than ack_wait from being redelivered, by heartbeating', async () => {
    let calls = 0;
    const runner = runBuilder([
      on(BuildCommandV1, async () => {
        calls += 1;
        await sleep(5_000); // ack_wait is 2 s in these tests
      }),
    ]);
    await messaging.publisher.publish(BuildCommandV1, buildCommand());
    await waitFor(() => calls === 1, 'the handler to start');
    await sleep(5_500);
    await runner.stop(1_000);
    expect(calls).toBe(1);
    const info = await messaging.jsm.consumers.info(streams.commands.name, consumers.builder.name);
    expect(info.num_redelivered).toBe(0);
    expect(info.num_ack_pending).toBe(0);
  });

  it('on stop, lets an in-flight message finish within the grace period and acks it', async () => {
    let started = 0;
    let finished = 0;
    const runner = runBuilder([
      on(BuildCommandV1, async () => {
        started += 1;
        await sleep(1_500);
        finished += 1;
      }),
    ]);
    await messaging.publisher.publish(BuildCommandV1, buildCommand());
    await waitFor(() => started === 1, 'the handler to start');
    await runner.stop(5_000);
    expect(finished).toBe(1);
    await sleep(200);
    const info = await messaging.jsm.consumers.info(streams.commands.name, consumers.builder.name);
    expect(info.num_ack_pending).toBe(0);
    expect(info.num_pending).toBe(0);
    expect(info.num_redelivered).toBe(0);
  });

  it('on stop, returns a message still in flight after the grace period, and another replica handles it', async () => {
    let aborted = false;
    const slow = runBuilder([
      on(BuildCommandV1, async (_event, ctx) => {
        await new Promise<void>((resolve) => {
          const timer = setTimeout(resolve, 30_000);
          ctx.signal.addEventListener('abort', () => {
            aborted = true;
            clearTimeout(timer);
            resolve();
          });
        });
      }),
    ]);
    const command = buildCommand();
    await messaging.publisher.publish(BuildCommandV1, command);
    await waitFor(async () => (await messaging.jsm.consumers.info(streams.commands.name, consumers.builder.name)).num_ack_pending === 1, 'delivery');
    const stoppedAt = Date.now();
    await slow.stop(300);
    expect(Date.now() - stoppedAt).toBeLessThan(3_000);
    expect(aborted).toBe(true);

    const handledBy: number[] = [];
    const replica = runBuilder([on(BuildCommandV1, async (_event, ctx) => void handledBy.push(ctx.deliveryCount))]);
    await waitFor(() => handledBy.length === 1, 'the returned message to be redelivered', 5_000);
    expect(handledBy).toEqual([2]);
    await replica.stop(1_000);
  });
});
