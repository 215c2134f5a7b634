import { InputError, RetryableError, TooLargeError } from '@appserving/shared';
import Fastify from 'fastify';
import { describe, expect, it } from 'vitest';
import { errorHandler } from './app.ts';

describe('the error handler', () => {
  it('answers each kind with its status, a 503 with Retry-After when the error knows it, and hides 500 details', async () => {
    const app = Fastify();
    app.setErrorHandler(errorHandler);
    app.get('/busy', async () => {
      throw new RetryableError('transaction_conflict', 'try again', { retryAfterMs: 1_500 });
    });
    app.get('/down', async () => {
      throw new RetryableError('logs_unavailable', 'no watcher');
    });
    app.get('/big', async () => {
      throw new TooLargeError('payload_too_large', 'too big');
    });
    app.get('/bad', async () => {
      throw new InputError('bad', 'bad');
    });
    app.get('/bug', async () => {
      throw new Error('secret internals');
    });
    const busy = await app.inject({ url: '/busy' });
    expect([busy.statusCode, busy.headers['retry-after'], busy.json().error.code]).toEqual([503, '2', 'transaction_conflict']);
    const down = await app.inject({ url: '/down' });
    expect([down.statusCode, down.headers['retry-after']]).toEqual([503, undefined]);
    expect((await app.inject({ url: '/big' })).statusCode).toBe(413);
    expect((await app.inject({ url: '/bad' })).statusCode).toBe(400);
    const bug = await app.inject({ url: '/bug' });
    expect(bug.statusCode).toBe(500);
    expect(bug.body).not.toContain('secret internals');
    await app.close();
  });
});
