import { connect as tcpConnect } from 'node:net';
import { acceptsAnonymousClients } from '@appserving/shared';
import { startTestNatsServer } from '@appserving/shared/testing';
import { sql } from 'kysely';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { securityWarnings } from '../adapters/security-warnings.ts';
import { startTestGateway, type TestGateway } from '../testing/test-gateway.ts';

/**
 * The gateway's smaller trust boundaries (issue 17), over real HTTP against a real gateway: bodies refused from
 * their declared length, failed authentication throttled per address, security headers on HTML, token names
 * without control characters, and the warnings about an open NATS and the development key.
 */
let gw: TestGateway;
const FAILURE_LIMIT = 5;

beforeAll(async () => {
  gw = await startTestGateway({ authFailureLimit: FAILURE_LIMIT, artifactMaxBytes: 64 * 1024 });
});

afterAll(async () => {
  await gw?.close();
});

/**
 * Sends the head of a request that declares `declared` bytes and only `sent` of them, then waits for the answer
 * without sending more: an answer proves the gateway refused the body without reading it.
 */
async function declaredOnly(method: string, path: string, headers: Record<string, string>, declared: number, sent = 16): Promise<{ status: number; body: string; headers: string }> {
  const { port, hostname } = new URL(gw.base);
  return new Promise((resolve, reject) => {
    const socket = tcpConnect({ host: hostname, port: Number(port) });
    let answer = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within 5 s: the gateway waited for the body (got: ${answer.slice(0, 200)})`));
    }, 5_000);
    socket.on('connect', () => {
      const head = [`${method} ${path} HTTP/1.1`, `host: ${hostname}:${port}`, `content-length: ${declared}`, ...Object.entries(headers).map(([k, v]) => `${k}: ${v}`), '', ''].join('\r\n');
      socket.write(head);
      socket.write('x'.repeat(sent));
    });
    socket.on('data', (chunk: Buffer) => {
      answer += chunk.toString();
      const end = answer.indexOf('\r\n\r\n');
      if (end < 0) return;
      const length = Number(/content-length: (\d+)/i.exec(answer.slice(0, end))?.[1] ?? 0);
      if (answer.length - end - 4 < length) return;
      clearTimeout(timer);
      socket.destroy();
      resolve({ status: Number(answer.slice(9, 12)), headers: answer.slice(0, end).toLowerCase(), body: answer.slice(end + 4, end + 4 + length) });
    });
    socket.on('error', (error) => {
      clearTimeout(timer);
      reject(error);
    });
  });
}

describe('a body declared larger than the limit', () => {
  it('is refused with 413 payload_too_large from its Content-Length, before it is read (JSON routes and uploads)', async () => {
    const auth = { authorization: `Bearer ${gw.adminToken}` };
    const json = await declaredOnly('POST', '/apps', { ...auth, 'content-type': 'application/json' }, 50 * 1024 * 1024);
    expect(json.status).toBe(413);
    expect(JSON.parse(json.body).error).toMatchObject({ code: 'payload_too_large' });

    const upload = await declaredOnly('POST', '/artifacts?filename=app.jar', { ...auth, 'content-type': 'application/java-archive' }, 10 * 1024 * 1024);
    expect(upload.status).toBe(413);
    expect(JSON.parse(upload.body).error).toMatchObject({ code: 'payload_too_large', details: { max_bytes: 64 * 1024, declared_bytes: 10 * 1024 * 1024 } });
  });
});

describe('failed authentication', () => {
  it(`is throttled per client address: after ${FAILURE_LIMIT} failures, 429 with Retry-After; a token known to be valid still passes`, async () => {
    // The admin token authenticates first: it is then known to be valid.
    expect((await fetch(`${gw.base}/apps`, { headers: { authorization: `Bearer ${gw.adminToken}` } })).status).toBe(200);
    const signIn = (token: string) => fetch(`${gw.base}/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }) });
    // Failures of both kinds count: a bearer token on the API, and a console sign-in.
    const failures: number[] = [];
    for (let i = 0; i < FAILURE_LIMIT - 2; i += 1) {
      failures.push((await fetch(`${gw.base}/apps`, { headers: { authorization: `Bearer aps_not-a-token-${i}` } })).status);
    }
    for (let i = 0; i < 2; i += 1) failures.push((await signIn(`aps_not-a-token-either-${i}`)).status);
    expect(failures).toEqual(Array(FAILURE_LIMIT).fill(401));

    const throttled = await fetch(`${gw.base}/apps`, { headers: { authorization: 'Bearer aps_one-more' } });
    expect(throttled.status).toBe(429);
    const retryAfter = Number(throttled.headers.get('retry-after'));
    expect(retryAfter).toBeGreaterThan(0);
    expect(retryAfter).toBeLessThanOrEqual(60);
    expect(((await throttled.json()) as { error: unknown }).error).toMatchObject({ code: 'too_many_failed_authentications', details: { retry_after_seconds: retryAfter } });
    // A malformed header from the same address: throttled too. No credentials at all cost no lookup: still 401.
    expect((await fetch(`${gw.base}/apps`, { headers: { authorization: 'Basic eDp5' } })).status).toBe(429);
    expect((await fetch(`${gw.base}/apps`)).status).toBe(401);

    const throttledSignIn = await signIn('aps_guess');
    expect(throttledSignIn.status).toBe(429);
    expect(Number(throttledSignIn.headers.get('retry-after'))).toBeGreaterThanOrEqual(retryAfter - 1);

    // The valid token is not locked out by its neighbours on the same address, on the API or at sign-in.
    expect((await fetch(`${gw.base}/apps`, { headers: { authorization: `Bearer ${gw.adminToken}` } })).status).toBe(200);
    expect((await signIn(gw.adminToken)).status).toBe(200);
    // Probes and the docs need no token and are not throttled.
    expect((await fetch(`${gw.base}/healthz`)).status).toBe(200);
  });
});

describe('security headers', () => {
  it('are on every HTML answer, the API docs included, and nosniff on every answer', async () => {
    const docs = await fetch(`${gw.base}/docs`, { redirect: 'follow' });
    expect(docs.status).toBe(200);
    expect(docs.headers.get('content-type')).toMatch(/^text\/html/);
    const pages = [docs, await fetch(`${gw.base}/docs/static/index.html`)];
    for (const page of pages) {
      expect(page.headers.get('content-type')).toMatch(/^text\/html/);
      const csp = page.headers.get('content-security-policy') ?? '';
      expect(csp).toContain("frame-ancestors 'none'");
      expect(csp).toContain('default-src');
      expect(csp).not.toContain('validator.swagger.io');
      expect(page.headers.get('x-frame-options')).toBe('DENY');
      expect(page.headers.get('x-content-type-options')).toBe('nosniff');
      expect(page.headers.get('referrer-policy')).toBe('no-referrer');
      await page.text();
    }
    const json = await fetch(`${gw.base}/apps`, { headers: { authorization: `Bearer ${gw.adminToken}` } });
    expect(json.headers.get('x-content-type-options')).toBe('nosniff');
    await json.text();
  });
});

describe('token names', () => {
  it('are refused with a 400 naming the field when they hold control characters, line breaks or bidirectional overrides', async () => {
    for (const name of ['ci\u0007bell', 'two\nlines', 'carriage\rreturn', 'tab\there', 'nul\u0000', 'esc\u001b[31m', 'del\u007f', 'rtl\u202eoverride', 'ls\u2028sep']) {
      const response = await fetch(`${gw.base}/tokens`, {
        method: 'POST',
        headers: { authorization: `Bearer ${gw.adminToken}`, 'content-type': 'application/json' },
        body: JSON.stringify({ name, admin: true }),
      });
      const body = (await response.json()) as { error: { code: string; details?: { problems?: { path: string }[] } } };
      expect(response.status, JSON.stringify(name)).toBe(400);
      expect(body.error.details?.problems?.map((p) => p.path), JSON.stringify(name)).toContain('/name');
    }
    const fine = await fetch(`${gw.base}/tokens`, {
      method: 'POST',
      headers: { authorization: `Bearer ${gw.adminToken}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'CI déploiement 🚀', admin: true }),
    });
    expect(fine.status).toBe(201);
  });
});

describe('security warnings', () => {
  it('/readyz names an open NATS and the development key', async () => {
    const ready = await fetch(`${gw.base}/readyz`);
    expect(ready.status).toBe(200);
    const body = (await ready.json()) as { status: string; warnings?: string[] };
    expect(body.status).toBe('ready');
    expect(body.warnings).toEqual([expect.stringContaining('development key'), expect.stringContaining(`NATS at ${gw.nats.url} accepts clients without credentials`)]);
  });

  it('finds whether NATS takes anonymous clients by trying once: an open server yes, one with users, or none, no', async () => {
    const locked = await startTestNatsServer({ args: ['--user', 'gateway', '--pass', 'a-long-password'] });
    try {
      expect(await acceptsAnonymousClients(gw.nats.url)).toBe(true);
      expect(await acceptsAnonymousClients(locked.url)).toBe(false);
      const url = `nats://gateway:a-long-password@127.0.0.1:${locked.port}`;
      expect(await securityWarnings({ developmentKey: false, natsUrl: url })).toEqual([]);
      expect(await securityWarnings({ developmentKey: false, natsUrl: `nats://someone:pw@127.0.0.1:${gw.nats.port}` })).toEqual([
        expect.stringMatching(new RegExp(`^NATS at nats://127\\.0\\.0\\.1:${gw.nats.port} accepts`)),
      ]);
      await locked.stop();
      expect(await acceptsAnonymousClients(locked.url, 500)).toBe(false);
    } finally {
      await locked.dispose();
    }
  });
});

describe('a change that meets a concurrent status write', () => {
  it('is run again when Postgres picks it as a deadlock victim, instead of answering 500', { timeout: 20_000 }, async () => {
    const auth = { authorization: `Bearer ${gw.adminToken}`, 'content-type': 'application/json' };
    const created = await fetch(`${gw.base}/apps`, {
      method: 'POST',
      headers: auth,
      body: JSON.stringify({ name: 'deadlocked', task_type: 'deploy', image_url: `registry.example/d/app@sha256:${'e'.repeat(64)}`, resource_spec: 'small' }),
    });
    expect(created.status).toBe(202);
    const appId = ((await created.json()) as { app: { id: string } }).app.id;
    const db = gw.database.db;
    const waitingOnLocks = async () =>
      Number((await sql<{ n: string }>`select count(*) as n from pg_stat_activity where datname = current_database() and wait_event_type = 'Lock'`.execute(db)).rows[0]?.n ?? 0);

    // What the watcher does when it records a status: the operation first, then the app. Here it holds the
    // operation while the delete (app first, then operations) waits for it, then reaches for the app: a deadlock
    // that Postgres breaks by rolling back the delete's transaction, the first one to wait.
    let deleted: Promise<Response> | undefined;
    await db.transaction().execute(async (trx) => {
      await trx.updateTable('operations').set({ status: 'running' }).where('app_id', '=', appId).where('status', '=', 'pending').execute();
      deleted = fetch(`${gw.base}/apps/${appId}`, { method: 'DELETE', headers: { authorization: auth.authorization } });
      const deadline = Date.now() + 5_000;
      while ((await waitingOnLocks()) === 0) {
        if (Date.now() > deadline) throw new Error('the delete never waited for the operation');
        await new Promise((resolve) => setTimeout(resolve, 20));
      }
      await trx.updateTable('apps').set({ status: 'deploying' }).where('id', '=', appId).execute();
    });
    const answer = (await deleted) as Response;
    const body = (await answer.json()) as { operation?: { kind: string }; error?: unknown };
    expect(answer.status, JSON.stringify(body)).toBe(202);
    expect(body.operation?.kind).toBe('delete');
    expect(gw.logs.some((line) => JSON.stringify(line).includes('deadlock detected'))).toBe(false);
  });
});
