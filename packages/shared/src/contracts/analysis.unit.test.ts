import { describe, expect, it } from 'vitest';
import { analysisDefaults, analysisMetrics, durationOf, renderAnalysisQuery, resolveAnalysis } from './analysis.ts';

describe('canary analysis settings', () => {
  it('fills what the spec leaves out with the defaults; blue/green waits for a promote, canary does not', () => {
    expect(resolveAnalysis(undefined, 'canary')).toEqual({ ...analysisDefaults, manual_promotion: false });
    expect(resolveAnalysis(undefined, 'blue-green').manual_promotion).toBe(true);
    const custom = resolveAnalysis({ interval_seconds: 10, threshold: 2, manual_promotion: true, max_weight: undefined }, 'canary');
    expect(custom).toMatchObject({ interval_seconds: 10, threshold: 2, manual_promotion: true, max_weight: analysisDefaults.max_weight });
  });

  it('renders a query the way Flagger does', () => {
    const query = renderAnalysisQuery(analysisMetrics.requestSuccessRate.query, { namespace: 'shop', target: 'orders', interval: '1m' });
    expect(query).toBe(
      'sum(rate(http_server_request_duration_seconds_count{namespace="shop",pod=~"orders-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)",http_response_status_code!~"5.."}[1m]))' +
        ' / sum(rate(http_server_request_duration_seconds_count{namespace="shop",pod=~"orders-[0-9a-zA-Z]+(-[0-9a-zA-Z]+)"}[1m])) * 100',
    );
    expect(renderAnalysisQuery(analysisMetrics.requestDuration.query, { namespace: 'a', target: 'b', interval: '30s' })).not.toContain('{{');
  });

  it('writes durations as Prometheus does', () => {
    expect(durationOf(60)).toBe('1m');
    expect(durationOf(120)).toBe('2m');
    expect(durationOf(90)).toBe('90s');
    expect(durationOf(10)).toBe('10s');
  });
});
