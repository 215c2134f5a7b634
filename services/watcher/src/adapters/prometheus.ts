import type { QueryOutcome } from '../reconcile/analysis.ts';

/**
 * Instant queries against a cluster's Prometheus, read the way Flagger reads them: the last sample of a
 * vector (or a scalar) is the value; an empty result or NaN is "no data"; anything that prevents an answer
 * (unreachable, HTTP error, a range result, bad JSON) is "query failed". The two are never confused.
 */
export async function queryPrometheus(baseUrl: string, query: string, timeoutMs: number): Promise<QueryOutcome> {
  let response: Response;
  try {
    const url = new URL('api/v1/query', baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
    url.searchParams.set('query', query.trim());
    response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } });
  } catch (error) {
    return { kind: 'failed', error: `Prometheus at ${baseUrl} did not answer: ${error instanceof Error ? error.message : String(error)}` };
  }
  const text = await response.text().catch(() => '');
  let body: { status?: string; error?: string; errorType?: string; data?: { resultType?: string; result?: unknown } };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    return { kind: 'failed', error: `Prometheus answered ${response.status} without JSON: ${text.slice(0, 200)}` };
  }
  if (!response.ok || body.status !== 'success') {
    return { kind: 'failed', error: `Prometheus refused the query (${response.status} ${body.errorType ?? ''}): ${body.error ?? text.slice(0, 200)}` };
  }
  const { resultType, result } = body.data ?? {};
  let raw: unknown;
  if (resultType === 'scalar' && Array.isArray(result)) {
    raw = result[1];
  } else if (resultType === 'vector' && Array.isArray(result)) {
    const last = (result as { value?: [number, string] }[]).at(-1);
    raw = last?.value?.[1];
  } else {
    return { kind: 'failed', error: `the query returned a ${resultType ?? 'unknown'} result; an analysis metric must return one number` };
  }
  if (raw === undefined) return { kind: 'no-data' };
  const value = Number(raw);
  if (Number.isNaN(value)) return { kind: 'no-data' };
  return { kind: 'value', value };
}
