/**
 * The closed set of errors the platform knows how to handle. Anything else is a bug (`internal`).
 *
 * Each kind is mapped exactly once to an HTTP status (for the gateway) and once to a JetStream disposition
 * (for consumers), in `error-mapping.ts`. Code throws one of these; nothing else decides status codes or
 * whether a message is retried.
 */
export type ErrorKind = 'input' | 'not-found' | 'conflict' | 'retryable';

export interface ErrorDetails {
  readonly [key: string]: unknown;
}

export abstract class AppServingError extends Error {
  abstract readonly kind: ErrorKind;
  /** Machine-readable code, stable across releases (e.g. `unknown_field`, `operation_in_flight`). */
  readonly code: string;
  readonly details: ErrorDetails | undefined;

  constructor(code: string, message: string, options?: { cause?: unknown; details?: ErrorDetails }) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.code = code;
    this.details = options?.details;
  }
}

/** The request or message is wrong and will stay wrong: never retried. */
export class InputError extends AppServingError {
  readonly kind = 'input';
  override readonly name: string = 'InputError';
}

/** Input that is too large to take (an upload past the size limit, a body declared larger than allowed): 413. */
export class TooLargeError extends InputError {
  override readonly name: string = 'TooLargeError';
}

export class NotFoundError extends AppServingError {
  readonly kind = 'not-found';
  override readonly name = 'NotFoundError';
}

/** The request is valid but clashes with current state (an operation in flight, a name taken). */
export class ConflictError extends AppServingError {
  readonly kind = 'conflict';
  override readonly name = 'ConflictError';
}

/** A dependency is unavailable or busy; the same work may succeed later. */
export class RetryableError extends AppServingError {
  readonly kind = 'retryable';
  override readonly name = 'RetryableError';
  /** A hint for how long to wait before retrying, when the cause knows (e.g. Retry-After). */
  readonly retryAfterMs: number | undefined;

  constructor(code: string, message: string, options?: { cause?: unknown; details?: ErrorDetails; retryAfterMs?: number }) {
    super(code, message, options);
    this.retryAfterMs = options?.retryAfterMs;
  }
}

export function isAppServingError(error: unknown): error is AppServingError {
  return error instanceof AppServingError;
}
