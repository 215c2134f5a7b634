// The metrics panel's arithmetic (chart lines aligned per track, a release compared with the one before it) and
// the log view's Server-Sent Events reader, without a browser.
import { describe, expect, it } from 'vitest';
import { readEvents } from '../api/sse.ts';
import type { AppMetrics } from '../api/types.ts';
import { CHARTS, change, chartModel, compareReleases, formatValue } from '../components/metrics-model.ts';

const v1 = { id: '11111111-1111-4111-8111-111111111111', version: 'v1' };
const v2 = { id: '22222222-2222-4222-8222-222222222222', version: 'v2' };
const T0 = 1_800_000_000;
const step = 30;
/** `n` points from T0 every 30 s, of value f(i). */
const points = (n: number, f: (i: number) => number): [number, number][] => Array.from({ length: n }, (_, i) => [T0 + i * step, f(i)]);
const iso = (s: number) => new Date(s * 1000).toISOString();

function view(over: Partial<AppMetrics>): AppMetrics {
  return { app_id: 'a', start: iso(T0), end: iso(T0 + 119 * step), step_seconds: step, tracks: [], series: [], pods: [], markers: [], missing: [], ...over };
}

describe('chart lines', () => {
  it('one line per series and track on one time axis, the limit after the values, the release of each track named', () => {
    const model = chartModel(
      view({
        tracks: [
          { track: 'canary', release: v2 },
          { track: 'primary', release: v1 },
        ],
        series: [
          { metric: 'memory_limit_bytes', track: 'primary', unit: 'bytes', points: points(3, () => 512) },
          { metric: 'memory_bytes', track: 'canary', unit: 'bytes', points: points(2, () => 100).map(([t, v]) => [t + step, v] as [number, number]) },
          { metric: 'memory_bytes', track: 'primary', unit: 'bytes', points: points(3, () => 200) },
          { metric: 'cpu_cores', track: 'primary', unit: 'cores', points: points(3, () => 0.1) },
        ],
      }),
      CHARTS.find((c) => c.id === 'memory') as (typeof CHARTS)[number],
    );
    expect(model.xs).toEqual([T0, T0 + step, T0 + 2 * step]);
    expect(model.lines.map((l) => [l.metric, l.track, l.release?.version, l.limit, l.values, l.points])).toEqual([
      ['memory_bytes', 'primary', 'v1', false, [200, 200, 200], 3],
      ['memory_bytes', 'canary', 'v2', false, [null, 100, 100], 2],
      ['memory_limit_bytes', 'primary', 'v1', true, [512, 512, 512], 3],
    ]);
  });
});

describe('a release against the one before it', () => {
  it('before and after the current release\'s marker, the first rate window after each marker left out, the error ratio weighted by requests', () => {
    const wentLive = T0 + 60 * step;
    const comparison = compareReleases(
      view({
        tracks: [{ track: 'stable', release: v2 }],
        series: [
          // 10 req/s before, 20 after; the two points right after the marker still read the old release's window.
          { metric: 'requests_per_second', track: 'stable', unit: 'requests/s', points: points(120, (i) => (i < 60 ? 10 : i < 62 ? 99 : 20)) },
          { metric: 'error_ratio', track: 'stable', unit: 'ratio', points: points(120, (i) => (i < 60 ? 0.25 : i < 62 ? 0.9 : 0)) },
          { metric: 'latency_p95_ms', track: 'stable', unit: 'ms', points: points(120, (i) => (i < 60 ? 40 : 20)) },
        ],
        markers: [{ release: v2, at: iso(wentLive), kind: 'deployed' }],
      }),
      v1,
    );
    expect(comparison.mode).toBe('before-after');
    if (comparison.mode !== 'before-after') return;
    expect(comparison.previous).toMatchObject({ release: v1, track: 'stable', from: T0, to: wentLive });
    expect(comparison.current).toMatchObject({ release: v2, track: 'stable', from: wentLive });
    expect(comparison.previous.figures).toEqual({ requests_per_second: 10, error_ratio: 0.25, latency_p95_ms: 40, cpu_cores: null, memory_bytes: null });
    expect(comparison.current.figures).toEqual({ requests_per_second: 20, error_ratio: 0, latency_p95_ms: 20, cpu_cores: null, memory_bytes: null });
    expect(change(10, 20)).toBe(1);
  });

  it('the release before is the one of the previous marker when the range holds it', () => {
    const comparison = compareReleases(
      view({
        tracks: [{ track: 'stable', release: v2 }],
        series: [{ metric: 'requests_per_second', track: 'stable', unit: 'requests/s', points: points(120, (i) => (i < 70 ? 5 : 8)) }],
        markers: [
          { release: v1, at: iso(T0 + 10 * step), kind: 'deployed' },
          { release: v2, at: iso(T0 + 70 * step), kind: 'failed' },
          { release: v2, at: iso(T0 + 70 * step), kind: 'deployed' },
        ],
      }),
      null,
    );
    expect(comparison).toMatchObject({ mode: 'before-after', previous: { release: v1, from: T0 + 10 * step }, current: { release: v2 } });
  });

  it('a canary under analysis is compared with the primary over the same time', () => {
    const comparison = compareReleases(
      view({
        tracks: [
          { track: 'canary', release: v2 },
          { track: 'primary', release: v1 },
        ],
        series: [
          { metric: 'requests_per_second', track: 'primary', unit: 'requests/s', points: points(120, () => 6) },
          { metric: 'requests_per_second', track: 'canary', unit: 'requests/s', points: points(120, () => 4).slice(100) },
          { metric: 'error_ratio', track: 'primary', unit: 'ratio', points: points(120, (i) => (i < 100 ? 0 : 0.25)) },
          { metric: 'error_ratio', track: 'canary', unit: 'ratio', points: points(120, () => 0).slice(100) },
        ],
      }),
    );
    expect(comparison.mode).toBe('canary');
    if (comparison.mode !== 'canary') return;
    expect(comparison.current).toMatchObject({ release: v2, track: 'canary', from: T0 + 100 * step, figures: { requests_per_second: 4, error_ratio: 0 } });
    expect(comparison.previous).toMatchObject({ release: v1, track: 'primary', from: T0 + 100 * step, figures: { requests_per_second: 6, error_ratio: 0.25 } });
  });

  it('says why there is nothing to compare', () => {
    expect(compareReleases(view({}))).toMatchObject({ mode: 'none', reason: 'no-release' });
    const stable = { tracks: [{ track: 'stable' as const, release: v2 }], series: [{ metric: 'requests_per_second' as const, track: 'stable' as const, unit: 'requests/s', points: points(120, () => 1) }] };
    expect(compareReleases(view(stable))).toMatchObject({ mode: 'none', reason: 'live-before-range', current: v2 });
    expect(compareReleases(view({ ...stable, markers: [{ release: v2, at: iso(T0 - 10), kind: 'deployed' }] }))).toMatchObject({ mode: 'none', reason: 'no-data-before' });
  });
});

it('formats values in their unit and the language', () => {
  expect(formatValue('bytes', 384 * 1024 * 1024, 'en')).toBe('384 MiB');
  expect(formatValue('cores', 0.25, 'en')).toBe('250m');
  expect(formatValue('ratio', 0.25, 'en')).toBe('25%');
  expect(formatValue('ms', 12.5, 'en')).toBe('13 ms');
  expect(formatValue('rate', 9.876, 'ko')).toBe('9.88/s');
  expect(formatValue('rate', null, 'en')).toBe('—');
});

describe('Server-Sent Events', () => {
  const body = (...chunks: string[]) =>
    new ReadableStream<Uint8Array>({
      start(controller) {
        for (const chunk of chunks) controller.enqueue(new TextEncoder().encode(chunk));
        controller.close();
      },
    });

  it('events split across chunks, keep-alive comments skipped, CRLF line ends, until the stream is cut', async () => {
    const seen: [string, string][] = [];
    const ended = await readEvents(
      body(': keepalive\n\n', 'event: line\ndata: {"line":"he', 'llo"}\n\nevent: pod\r\ndata: {"state":"added"}\r\n\r\n', 'data: plain\n\n'),
      (event, data) => void seen.push([event, data]),
      new AbortController().signal,
    );
    expect(ended).toBe('cut');
    expect(seen).toEqual([
      ['line', '{"line":"hello"}'],
      ['pod', '{"state":"added"}'],
      ['message', 'plain'],
    ]);
  });

  it('stops where the handler says the stream ended', async () => {
    const seen: string[] = [];
    const ended = await readEvents(body('event: error\ndata: {"code":"x"}\n\nevent: line\ndata: {}\n\n'), (event) => (seen.push(event), event === 'error' ? 'end' : undefined), new AbortController().signal);
    expect(ended).toBe('end');
    expect(seen).toEqual(['error']);
  });
});
