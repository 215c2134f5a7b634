import { fieldCases } from '@appserving/shared/testing';
import { KubeConfig, KubernetesObjectApi } from '@kubernetes/client-node';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { caseObjects, caseRequest } from '../testing/field-cases.ts';
import { startTestGateway, type TestGateway } from '../testing/test-gateway.ts';

/**
 * The shared table of names and values (contracts/field-rules.cases.ts), put where the platform would put each one
 * — in the objects the app chart renders — and sent to the local cluster's real API server with a server-side dry
 * run (nothing is stored). The API server must still answer as the table says, and every value it refuses is fed
 * to the platform's API, which must refuse it with a 400 naming the field: a request the API accepts cannot fail
 * later in the API server for its shape. Where the platform refuses more, the table says why.
 */
let gw: TestGateway;
let objects: KubernetesObjectApi;

beforeAll(async () => {
  const kc = new KubeConfig();
  kc.loadFromFile(process.env.APPSERVING_TEST_KUBECONFIG as string);
  objects = KubernetesObjectApi.makeApiClient(kc);
  gw = await startTestGateway({ registry: '127.0.0.1:5000' });
});

afterAll(async () => {
  await gw?.close();
});

/** The API server's verdict on every object of a case: refused if it refuses one (422 Invalid). */
async function apiServer(objectsOfCase: Record<string, unknown>[]): Promise<{ verdict: 'accept' | 'refuse'; messages: string[] }> {
  const messages: string[] = [];
  for (const object of objectsOfCase) {
    try {
      await objects.create(object, undefined, 'All');
    } catch (error) {
      const code = (error as { code?: number }).code;
      if (code !== 422 && code !== 400) throw error;
      messages.push(String((error as { body?: unknown }).body ?? error).slice(0, 300));
    }
  }
  return { verdict: messages.length > 0 ? 'refuse' : 'accept', messages };
}

async function platform(body: Record<string, unknown>, index: number): Promise<{ status: number; paths: string[] }> {
  const response = await fetch(`${gw.base}/apps`, {
    method: 'POST',
    headers: { authorization: `Bearer ${gw.adminToken}`, 'content-type': 'application/json' },
    body: JSON.stringify({ name: `case-${index}`, ...body }),
  });
  const answer = (await response.json()) as { error?: { details?: { problems?: { path: string }[]; field?: string } } };
  const problems = answer.error?.details?.problems?.map((p) => p.path) ?? (answer.error?.details?.field ? [`/${answer.error.details.field}`] : []);
  return { status: response.status, paths: problems };
}

describe('the API server and the platform on the shared cases', () => {
  const sent = fieldCases.map((c, index) => ({ c, index, objects: caseObjects(c, 'default'), request: caseRequest(c) })).filter((x) => x.objects.length > 0 && x.c.kubernetes);

  it(`the API server answers ${sent.length} cases as the table says, and the platform refuses everything it refuses`, { timeout: 120_000 }, async () => {
    const disagreements: string[] = [];
    let refusedByApiServer = 0;
    for (const { c, index, objects: objectsOfCase, request } of sent) {
      const kube = await apiServer(objectsOfCase);
      const label = `${c.rule} ${JSON.stringify(c.value).slice(0, 60)}`;
      if (kube.verdict !== c.kubernetes) disagreements.push(`${label}: the API server ${kube.verdict}s it (${kube.messages.join(' | ')})`);
      if (!request) continue;
      const answer = await platform(request.body, index);
      const platformVerdict = answer.status === 202 ? 'accept' : 'refuse';
      if (platformVerdict !== c.platform) disagreements.push(`${label}: the platform answers ${answer.status}`);
      if (kube.verdict === 'refuse') {
        refusedByApiServer += 1;
        expect(answer.status, label).toBe(400);
        expect(answer.paths.some((p) => p.startsWith(request.field)), `${label}: the 400 names ${request.field} (${answer.paths.join(', ')})`).toBe(true);
      }
    }
    expect(disagreements).toEqual([]);
    expect(refusedByApiServer).toBeGreaterThan(20);
  });
});
