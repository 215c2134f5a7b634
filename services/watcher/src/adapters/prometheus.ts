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

/** One series of a range query: its labels and its samples (Unix seconds, value; NaN and ±Inf left out). */
export interface RangeSeries {
  readonly labels: Readonly<Record<string, string>>;
  readonly points: [number, number][];
}

export type RangeOutcome = { kind: 'series'; series: RangeSeries[] } | { kind: 'failed'; unreachable: boolean; error: string };

/**
 * A range query (`/api/v1/query_range`) against a cluster's Prometheus. Every series of the matrix is returned with
 * its finite samples; anything that prevents an answer is "failed", and `unreachable` tells a Prometheus that did not
 * answer at all (down, wrong address, timeout) from one that refused the query.
 */
export async function queryPrometheusRange(
  baseUrl: string,
  query: string,
  range: { start: number; end: number; stepSeconds: number },
  timeoutMs: number,
): Promise<RangeOutcome> {
  let response: Response;
  try {
    const url = new URL('api/v1/query_range', baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
    url.searchParams.set('query', query.trim());
    url.searchParams.set('start', String(range.start));
    url.searchParams.set('end', String(range.end));
    url.searchParams.set('step', `${range.stepSeconds}s`);
    url.searchParams.set('timeout', `${Math.max(1, Math.floor(timeoutMs / 1000))}s`);
    response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } });
  } catch (error) {
    const cause = error instanceof Error && error.cause instanceof Error ? ` (${error.cause.message})` : '';
    return { kind: 'failed', unreachable: true, error: `Prometheus at ${baseUrl} did not answer: ${error instanceof Error ? error.message : String(error)}${cause}` };
  }
  const text = await response.text().catch(() => '');
  let body: { status?: string; error?: string; errorType?: string; data?: { resultType?: string; result?: unknown } };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    return { kind: 'failed', unreachable: response.status >= 500, error: `Prometheus at ${baseUrl} answered ${response.status} without JSON: ${text.slice(0, 200)}` };
  }
  if (!response.ok || body.status !== 'success') {
    return { kind: 'failed', unreachable: false, error: `Prometheus refused the query (${response.status} ${body.errorType ?? ''}): ${body.error ?? text.slice(0, 200)}` };
  }
  const { resultType, result } = body.data ?? {};
  if (resultType !== 'matrix' || !Array.isArray(result)) {
    return { kind: 'failed', unreachable: false, error: `the range query returned a ${resultType ?? 'unknown'} result, not a matrix` };
  }
  return {
    kind: 'series',
    series: (result as { metric?: Record<string, string>; values?: [number, string][] }[]).map((s) => ({
      labels: s.metric ?? {},
      points: (s.values ?? []).map(([t, v]): [number, number] => [Number(t), Number(v)]).filter(([, v]) => Number.isFinite(v)),
    })),
  };
}

/** One series of an instant query: its labels and its value (NaN kept: the caller tells "no data" from a number). */
export interface InstantSample {
  readonly labels: Readonly<Record<string, string>>;
  readonly value: number;
}

export type VectorOutcome = { kind: 'samples'; samples: InstantSample[] } | { kind: 'failed'; error: string };

/**
 * An instant query (`/api/v1/query`) whose every series is wanted, e.g. one per track: an empty vector is an empty
 * list; anything that prevents an answer (unreachable, refused, not a vector) is "failed".
 */
export async function queryPrometheusVector(baseUrl: string, query: string, timeoutMs: number): Promise<VectorOutcome> {
  let response: Response;
  try {
    const url = new URL('api/v1/query', baseUrl.endsWith('/') ? baseUrl : `${baseUrl}/`);
    url.searchParams.set('query', query.trim());
    url.searchParams.set('timeout', `${Math.max(1, Math.floor(timeoutMs / 1000))}s`);
    response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs), headers: { accept: 'application/json' } });
  } catch (error) {
    return { kind: 'failed', error: `Prometheus at ${baseUrl} did not answer: ${error instanceof Error ? error.message : String(error)}` };
  }
  const text = await response.text().catch(() => '');
  let body: { status?: string; error?: string; errorType?: string; data?: { resultType?: string; result?: unknown } };
  try {
    body = JSON.parse(text) as typeof body;
  } catch {
    return { kind: 'failed', error: `Prometheus at ${baseUrl} answered ${response.status} without JSON: ${text.slice(0, 200)}` };
  }
  if (!response.ok || body.status !== 'success') {
    return { kind: 'failed', error: `Prometheus refused the query (${response.status} ${body.errorType ?? ''}): ${body.error ?? text.slice(0, 200)}` };
  }
  const { resultType, result } = body.data ?? {};
  if (resultType !== 'vector' || !Array.isArray(result)) return { kind: 'failed', error: `the query returned a ${resultType ?? 'unknown'} result, not a vector` };
  return {
    kind: 'samples',
    samples: (result as { metric?: Record<string, string>; value?: [number, string] }[]).map((s) => ({ labels: s.metric ?? {}, value: Number(s.value?.[1]) })),
  };
}
