import { randomUUID } from 'node:crypto';
import { trace } from '@opentelemetry/api';
import { InMemorySpanExporter, SimpleSpanProcessor } from '@opentelemetry/sdk-trace';
import { connect } from '@nats-io/transport-node';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { consumers, DeleteCommandV1 } from '../contracts/index.ts';
import { createMessaging, on } from '../messaging/index.ts';
import { startTestNatsServer, type TestNatsServer } from '../testing/index.ts';
import { inSpan, startTelemetry, type Telemetry } from './tracing.ts';

const exporter = new InMemorySpanExporter();
let telemetry: Telemetry;
let server: TestNatsServer;

beforeAll(async () => {
  telemetry = startTelemetry({ serviceName: 'test', otlpEndpoint: '', spanProcessors: [new SimpleSpanProcessor({ exporter })] });
  server = await startTestNatsServer();
});

afterAll(async () => {
  await telemetry.shutdown();
  await server.dispose();
});

describe('trace context over NATS', () => {
  it('carries one trace from the publisher through the consumer handler', async () => {
    const nc = await connect({ servers: server.url });
    const messaging = await createMessaging({
      nc,
      source: '/test',
      settings: { consumerConcurrency: 2, ackWaitMs: 5_000, retry: { maxDeliveries: 3, baseDelayMs: 100, maxDelayMs: 1_000 } },
      log: pino({ level: 'silent' }),
    });
    await messaging.ensureTopology();

    let handlerTraceId: string | undefined;
    const runner = messaging.consumer(consumers.deployer, [
      on(DeleteCommandV1, async () => {
        handlerTraceId = trace.getActiveSpan()?.spanContext().traceId;
      }),
    ]);
    runner.start();

    const appId = randomUUID();
    const release = { app_id: appId, app_name: 'orders', release_id: randomUUID(), version: 1, cluster_id: randomUUID() };
    const producerTraceId = await inSpan('DELETE /apps/{id}', {}, async (span) => {
      await messaging.publisher.publish(DeleteCommandV1, { id: randomUUID(), appId, data: { release } });
      return span.spanContext().traceId;
    });

    const deadline = Date.now() + 10_000;
    while (!handlerTraceId && Date.now() < deadline) await new Promise((r) => setTimeout(r, 50));
    await runner.stop(1_000);
    await nc.close();

    expect(handlerTraceId).toBe(producerTraceId);
    const spans = exporter.getFinishedSpans();
    const producer = spans.find((s) => s.name === 'DELETE /apps/{id}');
    const consumer = spans.find((s) => s.name === `deployer process ${DeleteCommandV1.type}`);
    expect(consumer?.spanContext().traceId).toBe(producerTraceId);
    expect(consumer?.parentSpanContext?.spanId).toBe(producer?.spanContext().spanId);
  });
});
