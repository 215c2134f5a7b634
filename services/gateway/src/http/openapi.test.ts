import { createConfig, lintFromString } from '@redocly/openapi-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestGateway, type TestGateway } from '../testing/test-gateway.ts';

let gateway: TestGateway;

beforeAll(async () => {
  gateway = await startTestGateway();
});

afterAll(async () => {
  await gateway?.close();
});

type Operation = { operationId?: string; summary?: string };

describe('the OpenAPI document', () => {
  it('passes an independent linter (Redocly, recommended rules) with no error, every operation named once', async () => {
    const doc = (await (await fetch(`${gateway.base}/openapi.json`)).json()) as { paths: Record<string, Record<string, Operation>> };
    const config = await createConfig({ extends: ['recommended'] });
    const problems = await lintFromString({ source: JSON.stringify(doc), absoluteRef: 'openapi.json', config });
    const errors = problems.filter((p) => p.severity === 'error').map((p) => `${p.ruleId}: ${p.message} at ${p.location[0]?.pointer ?? ''}`);
    console.log(problems.filter((p) => p.severity !== 'error').map((p) => `${p.ruleId}: ${p.message} at ${p.location[0]?.pointer ?? ''}`).join('\n'));
    expect(errors).toEqual([]);
    const operations = Object.entries(doc.paths).flatMap(([path, methods]) => Object.entries(methods).map(([method, op]) => ({ at: `${method.toUpperCase()} ${path}`, ...op })));
    expect(operations.length).toBeGreaterThan(30);
    expect(operations.filter((op) => !op.operationId || !op.summary).map((op) => op.at)).toEqual([]);
    const ids = operations.map((op) => op.operationId);
    expect(new Set(ids).size).toBe(ids.length);
  });
});
