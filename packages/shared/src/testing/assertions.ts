import { isAppServingError, type AppServingError } from '../errors/index.ts';

/** Awaits a promise that must reject with one of the platform's errors, and returns that error. */
export async function failure(promise: Promise<unknown>): Promise<AppServingError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  if (!isAppServingError(error)) throw new Error(`expected an AppServingError, got ${String(error)}`, { cause: error });
  return error;
}
