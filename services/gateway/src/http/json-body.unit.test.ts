import Fastify from 'fastify';
import Type from 'typebox';
import { describe, expect, it } from 'vitest';
import { errorHandler } from '../app.ts';
import { acceptEmptyJsonBodies } from './json-body.ts';
import { typeboxValidatorCompiler } from './validation.ts';

async function app() {
  const app = Fastify();
  app.setValidatorCompiler(typeboxValidatorCompiler);
  app.setErrorHandler(errorHandler);
  acceptEmptyJsonBodies(app);
  app.delete('/apps/:id', async (request) => ({ deleted: true, body: request.body ?? null }));
  app.post('/apps', { schema: { body: Type.Object({ name: Type.String() }, { additionalProperties: false }) } }, async (request) => request.body);
  await app.ready();
  return app;
}

const json = { 'content-type': 'application/json' };

describe('JSON bodies', () => {
  it('takes an empty JSON body as no body: a DELETE sent with Content-Type: application/json and nothing else succeeds', async () => {
    const server = await app();
    for (const payload of ['', '  \n']) {
      const answer = await server.inject({ method: 'DELETE', url: '/apps/a', headers: json, payload });
      expect([answer.statusCode, answer.json()]).toEqual([200, { deleted: true, body: null }]);
    }
    await server.close();
  });

  it('refuses an empty body where one is required through the schema, with a listed code', async () => {
    const server = await app();
    const answer = await server.inject({ method: 'POST', url: '/apps', headers: json, payload: '' });
    expect(answer.statusCode).toBe(400);
    expect(answer.json().error.code).toBe('invalid_request');
    await server.close();
  });

  it('answers malformed JSON with invalid_json, refuses prototype poisoning, and still parses a good body', async () => {
    const server = await app();
    const bad = await server.inject({ method: 'POST', url: '/apps', headers: json, payload: '{"name": ' });
    expect([bad.statusCode, bad.json().error.code]).toEqual([400, 'invalid_json']);
    const poisoned = await server.inject({ method: 'POST', url: '/apps', headers: json, payload: '{"name":"a","__proto__":{"x":1}}' });
    expect(poisoned.statusCode).toBe(400);
    const good = await server.inject({ method: 'POST', url: '/apps', headers: json, payload: '{"name":"a"}' });
    expect([good.statusCode, good.json()]).toEqual([200, { name: 'a' }]);
    const other = await server.inject({ method: 'POST', url: '/apps', headers: { 'content-type': 'text/csv' }, payload: 'a,b' });
    expect([other.statusCode, other.json().error.code]).toEqual([415, 'unsupported_media_type']);
    await server.close();
  });
});
