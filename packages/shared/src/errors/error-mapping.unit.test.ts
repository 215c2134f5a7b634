import { describe, expect, it } from 'vitest';
import { ConflictError, InputError, NotFoundError, RetryableError, TooLargeError } from './errors.ts';
import { backoffDelay, httpErrorBodyOf, httpStatusOf, messageDispositionOf } from './error-mapping.ts';

const policy = { maxDeliveries: 5, baseDelayMs: 1_000, maxDelayMs: 10_000 };

describe('error mapping', () => {
  it('maps each kind to one HTTP status', () => {
    expect(httpStatusOf(new InputError('unknown_field', 'x'))).toBe(400);
    expect(httpStatusOf(new NotFoundError('app_not_found', 'x'))).toBe(404);
    expect(httpStatusOf(new ConflictError('operation_in_flight', 'x'))).toBe(409);
    expect(httpStatusOf(new RetryableError('nats_unavailable', 'x'))).toBe(503);
    expect(httpStatusOf(new TypeError('bug'))).toBe(500);
    // Too large is input (never retried) that HTTP says with its own status.
    expect(httpStatusOf(new TooLargeError('payload_too_large', 'x'))).toBe(413);
    expect(messageDispositionOf(new TooLargeError('artifact_too_large', 'x'), 1, policy)).toMatchObject({ action: 'term' });
  });

  it('passes 4xx details through and hides internal errors', () => {
    expect(httpErrorBodyOf(new ConflictError('operation_in_flight', 'deploy v2 is running', { details: { operation: 'op-1' } }))).toEqual({
      error: { code: 'operation_in_flight', message: 'deploy v2 is running', details: { operation: 'op-1' } },
    });
    const body = httpErrorBodyOf(new Error('password=hunter2 in connection string'));
    expect(body.error.code).toBe('internal');
    expect(JSON.stringify(body)).not.toContain('hunter2');
  });

  it('terminates input errors at once and retries the rest with doubling delays', () => {
    expect(messageDispositionOf(new InputError('invalid_data', 'bad'), 1, policy)).toMatchObject({ action: 'term', deadLetter: true });
    expect(messageDispositionOf(new NotFoundError('app_not_found', 'gone'), 1, policy)).toMatchObject({ action: 'term' });
    expect(messageDispositionOf(new RetryableError('busy', 'busy'), 1, policy)).toEqual({ action: 'nak', delayMs: 1_000 });
    expect(messageDispositionOf(new ConflictError('in_flight', 'wait'), 2, policy)).toEqual({ action: 'nak', delayMs: 2_000 });
    expect(messageDispositionOf(new Error('surprise'), 3, policy)).toEqual({ action: 'nak', delayMs: 4_000 });
    expect(backoffDelay(new Error('x'), 10, policy)).toBe(10_000);
  });

  it('honours a retry-after hint, capped', () => {
    expect(backoffDelay(new RetryableError('rate', 'slow down', { retryAfterMs: 3_000 }), 1, policy)).toBe(3_000);
    expect(backoffDelay(new RetryableError('rate', 'slow down', { retryAfterMs: 60_000 }), 1, policy)).toBe(10_000);
  });

  it('gives up at the maximum deliveries with the reason', () => {
    const disposition = messageDispositionOf(new RetryableError('registry_down', 'connection refused'), 5, policy);
    expect(disposition).toEqual({ action: 'term', deadLetter: true, reason: 'gave up after 5 deliveries: registry_down: connection refused' });
  });
});
