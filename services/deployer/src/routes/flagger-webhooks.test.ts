// The promotion gates as Flagger sees them, over HTTP, with the gates in a real NATS KV bucket and the deploy
// steps published on a real JetStream: authentication, the answers to each webhook, promote and abort, and two
// deployer replicas answering the same.
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { AbortCommandV1, createCloudEvent, createMessaging, PromoteCommandV1, type CloudEvent, type HandlerContext, type Messaging, type ReleaseRefV1 } from '@appserving/shared';
import { startTestNatsServer, type TestNatsServer } from '@appserving/shared/testing';
import { connect, type NatsConnection } from '@nats-io/transport-node';
import Fastify, { type FastifyInstance } from 'fastify';
import { pino } from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openGateStore, type GateStore } from '../adapters/gate-store.ts';
import { createGateTokens } from '../domain/gate-token.ts';
import { abortHandler, promoteHandler } from '../handlers/gate.handler.ts';
import { flaggerWebhookRoutes } from './flagger-webhooks.routes.ts';

const log = pino({ level: 'silent' });
const tokens = createGateTokens([Buffer.alloc(32, 7)]);
let nats: TestNatsServer;
let nc: NatsConnection;
let messaging: Messaging;
let gates: GateStore;
/** Two deployer replicas: their own HTTP servers and gate stores on the same bucket. */
let replicas: FastifyInstance[];
const steps: { id: string; step: string; reason?: string }[] = [];

beforeAll(async () => {
  nats = await startTestNatsServer();
  nc = await connect({ servers: nats.url });
  messaging = await createMessaging({ nc, source: '/test', settings: { consumerConcurrency: 1, ackWaitMs: 5_000, retry: { maxDeliveries: 3, baseDelayMs: 100, maxDelayMs: 1_000 } }, log });
  await messaging.ensureTopology();
  gates = await openGateStore(messaging.js);
  replicas = [];
  for (let i = 0; i < 2; i++) {
    const app = Fastify({ logger: false });
    await flaggerWebhookRoutes(app, { gates: await openGateStore(messaging.js), tokens, publisher: messaging.publisher, log });
    replicas.push(app);
  }
  nc.subscribe('appserving.evt.deploy.step.>', {
    callback: (_error, msg) => {
      const event = msg.json<CloudEvent<{ step: string; reason?: string }>>();
      steps.push({ id: event.id, step: event.data.step, ...(event.data.reason ? { reason: event.data.reason } : {}) });
    },
  });
});
afterAll(async () => {
  for (const app of replicas ?? []) await app.close();
  await nc?.close();
  await nats?.dispose();
});

const newRelease = (): ReleaseRefV1 => ({ app_id: randomUUID(), app_name: 'shop', release_id: randomUUID(), version: 2, cluster_id: randomUUID() });
const url = (r: ReleaseRefV1, hook: string, token = tokens.tokenFor(r.app_id, r.release_id)) => `/flagger/v1/apps/${r.app_id}/releases/${r.release_id}/${token}/${hook}`;
const payload = (metadata?: Record<string, string>) => ({ name: 'shop', namespace: 'shop-ns', phase: 'Progressing', checksum: 'abc', ...(metadata ? { metadata } : {}) });
const ask = (replica: number, r: ReleaseRefV1, hook: string, body = payload(), token?: string) =>
  (replicas[replica] as FastifyInstance).inject({ method: 'POST', url: url(r, hook, token), payload: body });
const ctx = (): HandlerContext => ({ log, deliveryCount: 1, signal: new AbortController().signal, working: () => {} });
const promote = (r: ReleaseRefV1) => promoteHandler({ gates, publisher: messaging.publisher }).handle(createCloudEvent(PromoteCommandV1, { id: randomUUID(), source: '/test', data: { release: r } }), ctx());
const abort = (r: ReleaseRefV1) => abortHandler({ gates, publisher: messaging.publisher }).handle(createCloudEvent(AbortCommandV1, { id: randomUUID(), source: '/test', data: { release: r } }), ctx());
const stepsOf = async (r: ReleaseRefV1) => {
  await sleep(200);
  return steps.filter((s) => s.id.startsWith(r.release_id)).map((s) => s.step);
};

describe('Flagger webhooks: authentication', () => {
  it('refuses a wrong token, a token of another release, and a malformed path, without touching the gate', async () => {
    const r = newRelease();
    await gates.ensure(r);
    await promote(r);
    const other = newRelease();
    for (const token of ['x'.repeat(43), tokens.tokenFor(other.app_id, other.release_id), tokens.tokenFor(r.app_id, other.release_id)]) {
      const answer = await ask(0, r, 'confirm-promotion', payload(), token);
      expect(answer.statusCode).toBe(401);
      expect(answer.body).not.toContain('promoted');
    }
    expect((await replicas[0]!.inject({ method: 'POST', url: `/flagger/v1/apps/not-a-uuid/releases/${r.release_id}/t/rollback`, payload: payload() })).statusCode).toBe(400);
    expect((await ask(0, r, 'open-sesame')).statusCode).toBe(400);
    expect((await ask(0, r, 'confirm-promotion')).statusCode).toBe(200);
  });

  it('answers no for a release that has no gate', async () => {
    const r = newRelease();
    expect((await ask(0, r, 'confirm-promotion')).statusCode).toBe(409);
    expect((await ask(0, r, 'rollback')).statusCode).toBe(409);
    expect((await ask(0, r, 'event', payload({ eventMessage: 'x', eventType: 'Normal' }))).statusCode).toBe(202);
  });
});

describe('Flagger webhooks: the gate', () => {
  it('closed: confirm-promotion says no and announces waiting-promotion once; a promote opens it on every replica', async () => {
    const r = newRelease();
    await gates.ensure(r);
    for (const replica of [0, 1, 0]) {
      const answer = await ask(replica, r, 'confirm-promotion');
      expect(answer.statusCode).toBe(409);
      expect(answer.json()).toEqual({ answer: 'no', reason: 'waiting for promote' });
    }
    expect((await ask(1, r, 'rollback')).statusCode).toBe(409);
    expect(await stepsOf(r)).toEqual(['waiting-promotion']);

    await promote(r);
    expect((await ask(0, r, 'confirm-promotion')).statusCode).toBe(200);
    expect((await ask(1, r, 'confirm-promotion')).statusCode).toBe(200);
    expect((await ask(1, r, 'rollback')).statusCode).toBe(409);
    expect(await stepsOf(r)).toEqual(['waiting-promotion', 'promoted']);
  });

  it('an abort closes it for good: rollback says yes, confirm-promotion no, a later promote changes nothing', async () => {
    const r = newRelease();
    await gates.ensure(r);
    await abort(r);
    await promote(r);
    expect((await ask(0, r, 'rollback')).statusCode).toBe(200);
    expect((await ask(1, r, 'confirm-promotion')).json()).toEqual({ answer: 'no', reason: 'aborted' });
    expect(await stepsOf(r)).toEqual(['aborted']);
    // Flagger's own rollback after an abort is not a failed analysis.
    await ask(0, r, 'event', payload({ eventMessage: 'Canary failed! Scaling down shop.shop-ns', eventType: 'Warning' }));
    expect(await stepsOf(r)).toEqual(['aborted']);
  });

  it('a promote that comes before the deploy step made the gate still opens it', async () => {
    const r = newRelease();
    await promote(r);
    await gates.ensure(r);
    expect((await ask(0, r, 'confirm-promotion')).statusCode).toBe(200);
  });
});

describe('Flagger webhooks: events', () => {
  it('a rollback after a failed analysis is announced once, naming the metric Flagger complained about', async () => {
    const r = newRelease();
    await gates.ensure(r);
    const event = (eventMessage: string, eventType = 'Warning') => ask(1, r, 'event', payload({ eventMessage, eventType, timestamp: String(Date.now()) }));
    await event('Starting canary analysis for shop.shop-ns', 'Normal');
    await event('Halt shop.shop-ns advancement success-rate 42.00 < 99');
    await event('Halt shop.shop-ns advancement waiting for promotion approval appserving-confirm-promotion');
    await event('Rolling back shop.shop-ns failed checks threshold reached 2');
    await event('Canary failed! Scaling down shop.shop-ns');
    await sleep(200);
    expect(steps.filter((s) => s.id === `${r.release_id}.deploy.rolled-back`)).toEqual([
      { id: `${r.release_id}.deploy.rolled-back`, step: 'rolled-back', reason: 'canary analysis failed: Halt shop.shop-ns advancement success-rate 42.00 < 99' },
    ]);
  });
});

describe('gate store', () => {
  it('two replicas writing at once lose no update (compare-and-set)', async () => {
    const r = newRelease();
    const other = await openGateStore(messaging.js);
    await gates.ensure(r);
    await Promise.all([
      ...Array.from({ length: 5 }, (_, i) => gates.update(r, (g) => ({ ...g, lastWarning: `${g.lastWarning ?? ''}a${i}` }))),
      ...Array.from({ length: 5 }, (_, i) => other.update(r, (g) => ({ ...g, lastWarning: `${g.lastWarning ?? ''}b${i}` }))),
    ]);
    const warning = (await gates.get(r.app_id, r.release_id))?.lastWarning ?? '';
    expect(warning.length).toBe(20);
    for (let i = 0; i < 5; i++) {
      expect(warning).toContain(`a${i}`);
      expect(warning).toContain(`b${i}`);
    }
  });

  it('removes every gate of an app', async () => {
    const r1 = newRelease();
    const r2 = { ...newRelease(), app_id: r1.app_id };
    const r3 = newRelease();
    for (const r of [r1, r2, r3]) await gates.ensure(r);
    expect(await gates.removeApp(r1.app_id)).toBe(2);
    expect(await gates.get(r1.app_id, r1.release_id)).toBeUndefined();
    expect(await gates.get(r3.app_id, r3.release_id)).toBeDefined();
  });
});
