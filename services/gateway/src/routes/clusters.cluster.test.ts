import { readFile } from 'node:fs/promises';
import { freePort } from '@appserving/shared/testing';
import { CoreV1Api, KubeConfig } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parse, stringify } from 'yaml';
import { startTestGateway, type TestGateway } from '../testing/test-gateway.ts';

/**
 * Cluster registration's test call against the local cluster's real API server (the real probe of the test
 * gateway, APPSERVING_CLUSTER_HOST_ALLOWLIST 127.0.0.1): a kubeconfig that works is saved with its health; one whose
 * API server does not answer, whose token the API server refuses, or whose identity may not do what the platform
 * needs is refused with a 400 naming what failed, and is not saved (nor made the default).
 */
let gw: TestGateway;
let kubeconfigText: string;
const namespace = `probe-${Date.now().toString(36)}`;
let core: CoreV1Api;

beforeAll(async () => {
  kubeconfigText = await readFile(process.env.APPSERVING_TEST_KUBECONFIG as string, 'utf8');
  const kc = new KubeConfig();
  kc.loadFromString(kubeconfigText);
  core = kc.makeApiClient(CoreV1Api);
  await core.createNamespace({ body: { metadata: { name: namespace } } });
  await core.createNamespacedServiceAccount({ namespace, body: { metadata: { name: 'powerless' } } });
  gw = await startTestGateway();
});

afterAll(async () => {
  await gw?.close();
  await core?.deleteNamespace({ name: namespace }).catch(() => {});
});

/** The test kubeconfig with its user's token replaced (the rest, server and CA, as they are). */
function withToken(token: string): string {
  const doc = parse(kubeconfigText) as { users: { user: Record<string, unknown> }[] };
  for (const user of doc.users) user.user = { token };
  return stringify(doc);
}

async function register(body: Record<string, unknown>): Promise<{ status: number; body: Record<string, any> }> {
  const response = await fetch(`${gw.base}/clusters`, {
    method: 'POST',
    headers: { authorization: `Bearer ${gw.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, body: (await response.json()) as Record<string, any> };
}

async function clusterNames(): Promise<{ name: string; is_default: boolean }[]> {
  const response = await fetch(`${gw.base}/clusters`, { headers: { authorization: `Bearer ${gw.adminToken}` } });
  return ((await response.json()) as { clusters: { name: string; is_default: boolean }[] }).clusters;
}

describe('registering a cluster: one authenticated test call first', () => {
  it('saves a cluster whose API server answers and whose credentials may do what the platform needs, with its health', async () => {
    const saved = await register({ name: 'real', kubeconfig: kubeconfigText });
    expect(saved.status, JSON.stringify(saved.body)).toBe(201);
    expect(saved.body.health).toMatchObject({ status: 'ok', version: expect.stringMatching(/^v1\./), missing_permissions: [] });
    const checked = await fetch(`${gw.base}/clusters/${saved.body.id}/check`, { method: 'POST', headers: { authorization: `Bearer ${gw.adminToken}` } });
    expect(((await checked.json()) as { health: { status: string } }).health.status).toBe('ok');
  });

  it('refuses, without saving or making it the default: no answer, refused credentials, missing permissions', async () => {
    const deadPort = await freePort();
    const unreachable = await register({ name: 'no-answer', default: true, kubeconfig: kubeconfigText.replace(/https:\/\/127\.0\.0\.1:\d+/, `https://127.0.0.1:${deadPort}`) });
    expect(unreachable.status).toBe(400);
    expect(unreachable.body.error).toMatchObject({ code: 'cluster_unreachable', details: { field: 'kubeconfig', status: 'unreachable' } });

    const unauthorized = await register({ name: 'bad-token', default: true, kubeconfig: withToken('not-a-token-the-api-server-knows') });
    expect(unauthorized.status).toBe(400);
    expect(unauthorized.body.error).toMatchObject({ code: 'cluster_unauthorized', message: expect.stringContaining('401') });

    // A real identity with no roles: the API server answers and accepts it, but it may not do what the platform does.
    const token = await core.createNamespacedServiceAccountToken({ name: 'powerless', namespace, body: { spec: { audiences: [], expirationSeconds: 600 } } });
    const forbidden = await register({ name: 'powerless', default: true, kubeconfig: withToken(token.status?.token as string) });
    expect(forbidden.status).toBe(400);
    expect(forbidden.body.error).toMatchObject({ code: 'cluster_forbidden', details: { missing_permissions: expect.arrayContaining(['create namespaces', 'create deployments.apps']) } });

    const clusters = await clusterNames();
    expect(clusters.map((c) => c.name).sort()).toEqual(['local', 'real']);
    expect(clusters.find((c) => c.is_default)?.name).toBe('local');
  });
});
