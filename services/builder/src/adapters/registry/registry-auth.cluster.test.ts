// Registries that want credentials, as production ones do: htpasswd (basic) and bearer tokens from a token
// service (the Docker Hub / Harbor flow). Each test runs a registry of its own (Debian's docker-registry, the
// same program as the local cluster's registry, which is why this file runs with the cluster tests).
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import { Agent, request } from 'undici';
import { afterEach, describe, expect, it } from 'vitest';
import { failure } from '@appserving/shared/testing';
import { startPrivateRegistry, type PrivateRegistry } from '../../testing/private-registry.ts';
import { fakeJar, seedBaseImage } from '../../testing/registry-fixtures.ts';
import { resolveBaseImage } from './base-image.ts';
import { pushDirectImage } from './direct-push.ts';
import { parseChallenge } from './auth-challenge.ts';
import { parseImageRef } from './image-ref.ts';
import { RegistryAuthorization } from './registry-auth.ts';
import { RegistryClient } from './registry-client.ts';

let registry: PrivateRegistry | undefined;
const clients: RegistryClient[] = [];
afterEach(async () => {
  for (const c of clients.splice(0)) await c.close();
  await registry?.stop();
  registry = undefined;
});

function clientFor(r: PrivateRegistry, credentials?: { username: string; password: string }): RegistryClient {
  const client = new RegistryClient({ plainHttpHosts: [r.host], credentials: (host) => (host === r.host ? credentials : undefined) });
  clients.push(client);
  return client;
}

async function pushApp(client: RegistryClient, r: PrivateRegistry) {
  const run = randomBytes(3).toString('hex');
  const base = await seedBaseImage(client, { host: r.host, repository: `bases/jre-${run}` }, { tag: '21' });
  const resolved = await resolveBaseImage(client, parseImageRef(base.reference), { os: 'linux', architecture: 'amd64' });
  const jar = fakeJar(100_000);
  return pushDirectImage(client, {
    base: resolved,
    target: { host: r.host, repository: `apps/orders-${run}` },
    tags: ['v1'],
    file: { path: 'app/app.jar', size: jar.length, open: () => Readable.from([jar]) },
    directories: ['app'],
    image: { env: {}, port: 8080, labels: {} },
    mirrorRepository: 'mirror',
    createdBy: 'test',
  });
}

describe('registry authentication', () => {
  it('basic auth (htpasswd): pushes with the credentials; says what is wrong without them or with wrong ones', async () => {
    registry = await startPrivateRegistry('htpasswd');
    const result = await pushApp(clientFor(registry, { username: registry.username, password: registry.password }), registry);
    expect(result.baseLayers.mounted).toBe(2);

    const anonymous = await failure(clientFor(registry).hasBlob({ host: registry.host, repository: 'apps/x' }, `sha256:${'0'.repeat(64)}`));
    expect(anonymous.code).toBe('registry_denied');
    expect(anonymous.message).toMatch(/asks for credentials and none are configured/);
    const wrong = await failure(clientFor(registry, { username: registry.username, password: 'nope' }).hasBlob({ host: registry.host, repository: 'apps/x' }, `sha256:${'0'.repeat(64)}`));
    expect(wrong.code).toBe('registry_denied');
    expect(wrong.message).toMatch(/credentials refused/);
    expect(wrong.message).not.toContain('nope');
  });

  it('bearer tokens: trades the credentials for a token per scope (a mount asks for both repositories) and pushes', async () => {
    registry = await startPrivateRegistry('token');
    const result = await pushApp(clientFor(registry, { username: registry.username, password: registry.password }), registry);
    expect(result.baseLayers.mounted).toBe(2);
    expect(registry.tokenRequests.every((t) => t.user === registry?.username)).toBe(true);
    expect(registry.tokenRequests.some((t) => t.scopes.length === 2 && t.scopes[1]?.startsWith('repository:bases/jre-') && t.scopes[1].endsWith(':pull'))).toBe(true);
    // One token per scope, cached (requests for a scope that start together share one): about twenty registry
    // requests above needed at most five tokens (base push, base pull, target pull, target push, the mount).
    expect(registry.tokenRequests.length).toBeLessThanOrEqual(5);

    const anonymous = await failure(pushApp(clientFor(registry), registry));
    expect(anonymous.code).toBe('registry_denied');
  });

  it('a request challenged after another one got the token for its scope uses that token; a refused token is replaced', async () => {
    registry = await startPrivateRegistry('token');
    const r = registry;
    const agent = new Agent();
    try {
      const scope = 'repository:apps/race:pull';
      const probe = await request(`http://${r.host}/v2/apps/race/tags/list`, { dispatcher: agent });
      await probe.body.dump();
      expect(probe.statusCode).toBe(401);
      const challenge = parseChallenge(probe.headers['www-authenticate'] as string | undefined);
      expect(challenge?.scheme).toBe('bearer');

      const auth = new RegistryAuthorization(agent, () => ({ username: r.username, password: r.password }));
      const first = await auth.authorize(r.host, scope, challenge!, undefined, undefined);
      // A second request for the scope that was sent without a header before the first token arrived, and was
      // challenged after: it takes the token now held instead of asking the token service again.
      const second = await auth.authorize(r.host, scope, challenge!, undefined, undefined);
      expect(second).toBe(first);
      expect(r.tokenRequests).toHaveLength(1);
      // A request that carried that very token and was still challenged gets a new one.
      const third = await auth.authorize(r.host, scope, challenge!, first, undefined);
      expect(third).not.toBe(first);
      expect(r.tokenRequests).toHaveLength(2);
    } finally {
      await agent.close();
    }
  });
});
