import { mkdtemp, mkdir, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import Fastify from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../testing/test-gateway.ts';
import { NONCE_PLACEHOLDER, webRoutes } from '../routes/web.routes.ts';
import { createApiToken } from './api-tokens.ts';

let gateway: TestGateway;
beforeAll(async () => {
  gateway = await startTestGateway({ tokenCacheMs: 0 });
});
afterAll(async () => gateway?.close());

const same = () => ({ origin: new URL(gateway.base).origin });

async function signIn(token: string, headers: Record<string, string> = same()) {
  return fetch(`${gateway.base}/session`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ token }) });
}

function cookieOf(response: Response): string {
  const header = response.headers.get('set-cookie') ?? '';
  return header.split(';')[0] ?? '';
}

describe('console session', () => {
  it('trades a token for an httpOnly, SameSite=Strict cookie that does not contain the token', async () => {
    const response = await signIn(gateway.adminToken);
    expect(response.status).toBe(200);
    const setCookie = response.headers.get('set-cookie') ?? '';
    expect(setCookie).toMatch(/^appserving_session=[A-Za-z0-9_-]+; Path=\/; Max-Age=43200; HttpOnly; SameSite=Strict$/);
    expect(setCookie).not.toContain(gateway.adminToken);
    expect(setCookie).not.toContain(gateway.adminToken.slice(4, 20));
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ is_admin: true, project_ids: [] });
    expect(JSON.stringify(body)).not.toContain(gateway.adminToken);
    expect(typeof body.csrf_token).toBe('string');
  });

  it('the cookie authenticates reads; changes need its CSRF value from the same origin', async () => {
    const signedIn = await signIn(gateway.adminToken);
    const cookie = cookieOf(signedIn);
    const { csrf_token: csrf } = (await signedIn.json()) as { csrf_token: string };
    expect((await fetch(`${gateway.base}/apps`, { headers: { cookie } })).status).toBe(200);
    const session = (await (await fetch(`${gateway.base}/session`, { headers: { cookie } })).json()) as { csrf_token: string };
    expect(session.csrf_token).toBe(csrf);

    const create = (headers: Record<string, string>) =>
      fetch(`${gateway.base}/projects`, { method: 'POST', headers: { cookie, 'content-type': 'application/json', ...headers }, body: JSON.stringify({ name: `p-${Date.now()}`, cluster_id: gateway.clusterId }) });
    const missing = await create({});
    expect(missing.status).toBe(403);
    expect(((await missing.json()) as { error: { code: string } }).error.code).toBe('csrf_check_failed');
    expect((await create({ 'x-csrf-token': 'wrong' })).status).toBe(403);
    expect((await create({ 'x-csrf-token': csrf, origin: 'https://evil.example' })).status).toBe(403);
    expect((await create({ 'x-csrf-token': csrf, ...same() })).status).toBe(201);
  });

  it('refuses a sign-in from another origin, an unknown token, and a form post', async () => {
    expect((await signIn(gateway.adminToken, { origin: 'https://evil.example' })).status).toBe(403);
    expect((await signIn('aps_unknown')).status).toBe(401);
    const form = await fetch(`${gateway.base}/session`, { method: 'POST', headers: { 'content-type': 'application/x-www-form-urlencoded' }, body: `token=${gateway.adminToken}` });
    expect(form.status).toBe(415);
  });

  it('revoking the token ends its sessions; a tampered cookie is refused and cleared', async () => {
    const scoped = await createApiToken(gateway.database.db, { name: 'to revoke', admin: true, projectIds: [] });
    const cookie = cookieOf(await signIn(scoped.token));
    expect((await fetch(`${gateway.base}/apps`, { headers: { cookie } })).status).toBe(200);
    const revoked = await fetch(`${gateway.base}/tokens/${scoped.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${gateway.adminToken}` } });
    expect(revoked.status).toBe(204);
    const after = await fetch(`${gateway.base}/apps`, { headers: { cookie } });
    expect(after.status).toBe(401);
    expect(((await after.json()) as { error: { code: string } }).error.code).toBe('session_expired');
    expect(after.headers.get('set-cookie')).toContain('Max-Age=0');

    const tampered = await fetch(`${gateway.base}/apps`, { headers: { cookie: `${cookie.slice(0, -4)}AAAA` } });
    expect(tampered.status).toBe(401);
  });

  it('signs out by clearing the cookie', async () => {
    const signedIn = await signIn(gateway.adminToken);
    const cookie = cookieOf(signedIn);
    const { csrf_token: csrf } = (await signedIn.json()) as { csrf_token: string };
    const out = await fetch(`${gateway.base}/session`, { method: 'DELETE', headers: { cookie, 'x-csrf-token': csrf, ...same() } });
    expect(out.status).toBe(204);
    expect(out.headers.get('set-cookie')).toMatch(/^appserving_session=; Path=\/; Max-Age=0/);
  });

  it('a bearer token has no console session', async () => {
    const response = await fetch(`${gateway.base}/session`, { headers: { authorization: `Bearer ${gateway.adminToken}` } });
    expect(response.status).toBe(404);
  });
});

describe('console files', () => {
  it('serves the page with a fresh CSP nonce, assets compressed and cached, and nothing without a build', async () => {
    const dir = await mkdtemp(join(tmpdir(), 'web-dist-'));
    await mkdir(join(dir, 'assets'));
    await writeFile(join(dir, 'index.html'), `<html><head><meta name="csp-nonce" content="${NONCE_PLACEHOLDER}"></head><body><script type="module" src="/console/assets/app.js"></script></body></html>`);
    await writeFile(join(dir, 'assets', 'app.js'), 'console.log("hello");'.repeat(50));
    const app = Fastify();
    await app.register(webRoutes, { dir });
    const page = await app.inject({ url: '/console/apps/123' });
    expect(page.statusCode).toBe(200);
    const csp = page.headers['content-security-policy'] as string;
    expect(csp).toContain("script-src 'self'");
    expect(csp).not.toContain('unsafe-inline');
    const nonce = /'nonce-([^']+)'/.exec(csp)?.[1];
    expect(page.body).toContain(`content="${nonce}"`);
    expect(page.headers['x-frame-options']).toBe('DENY');
    expect((await app.inject({ url: '/console/' })).headers['content-security-policy']).not.toBe(csp);

    const asset = await app.inject({ url: '/console/assets/app.js', headers: { 'accept-encoding': 'gzip' } });
    expect(asset.headers['content-encoding']).toBe('gzip');
    expect(asset.headers['cache-control']).toContain('immutable');
    expect(gunzipSync(asset.rawPayload).toString()).toContain('hello');
    expect((await app.inject({ url: '/console/assets/missing.js' })).statusCode).toBe(404);
    expect((await app.inject({ url: '/' })).headers.location).toBe('/console/');
    await app.close();

    const empty = Fastify();
    await empty.register(webRoutes, { dir: join(dir, 'nothing-here') });
    expect((await empty.inject({ url: '/console/' })).statusCode).toBe(503);
    await empty.close();
  });
});
