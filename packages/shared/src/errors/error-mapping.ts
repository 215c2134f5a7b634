import { isAppServingError, TooLargeError, type AppServingError } from './errors.ts';

/** HTTP status for each error kind; anything that is not an AppServingError is a 500. */
const httpStatusByKind = {
  input: 400,
  'not-found': 404,
  conflict: 409,
  retryable: 503,
} as const satisfies Record<AppServingError['kind'], number>;

export function httpStatusOf(error: unknown): number {
  if (error instanceof TooLargeError) return 413;
  return isAppServingError(error) ? httpStatusByKind[error.kind] : 500;
}

/** The machine-readable body every 4xx/5xx answer carries. 5xx bodies never expose internal details. */
export interface ErrorBody {
  error: { code: string; message: string; details?: Record<string, unknown> };
}

export function httpErrorBodyOf(error: unknown): ErrorBody {
  if (isAppServingError(error)) {
    return {
      error: {
        code: error.code,
        message: error.message,
        ...(error.details ? { details: { ...error.details } } : {}),
      },
    };
  }
  return { error: { code: 'internal', message: 'Internal error; the details are in the service log.' } };
}

/**
 * What a JetStream consumer does with a message whose handler threw.
 *
 * - `term`: the message can never succeed (bad input, or it ran out of deliveries): record it in the
 *   dead-letter stream and stop redelivery.
 * - `nak`: try again after `delayMs`.
 * Conflicts are retried: they clear when the operation in flight ends.
 */
export type MessageDisposition =
  | { action: 'term'; reason: string; deadLetter: true }
  | { action: 'nak'; delayMs: number };

export interface RetryPolicy {
  /** Deliveries allowed before a message is dead-lettered (the consumer's max_deliver). */
  maxDeliveries: number;
  /** First retry delay; doubled on each further delivery. */
  baseDelayMs: number;
  maxDelayMs: number;
}

export function messageDispositionOf(error: unknown, deliveryCount: number, policy: RetryPolicy): MessageDisposition {
  const reason = describe(error);
  if (isAppServingError(error) && (error.kind === 'input' || error.kind === 'not-found')) {
    return { action: 'term', reason, deadLetter: true };
  }
  if (deliveryCount >= policy.maxDeliveries) {
    return { action: 'term', reason: `gave up after ${deliveryCount} deliveries: ${reason}`, deadLetter: true };
  }
  return { action: 'nak', delayMs: backoffDelay(error, deliveryCount, policy) };
}

export function backoffDelay(error: unknown, deliveryCount: number, policy: RetryPolicy): number {
  const hinted = isAppServingError(error) && 'retryAfterMs' in error ? (error.retryAfterMs as number | undefined) : undefined;
  if (hinted !== undefined) return Math.min(hinted, policy.maxDelayMs);
  const exponential = policy.baseDelayMs * 2 ** Math.max(0, deliveryCount - 1);
  return Math.min(exponential, policy.maxDelayMs);
}

function describe(error: unknown): string {
  if (isAppServingError(error)) return `${error.code}: ${error.message}`;
  if (error instanceof Error) return `${error.name}: ${error.message}`;
  return String(error);
}
