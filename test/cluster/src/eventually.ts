import { setTimeout as sleep } from 'node:timers/promises';

/**
 * Polls `read` until `done` accepts its value; on timeout fails with the last value seen, so a failing test says
 * what the cluster actually showed.
 */
export async function eventually<T>(what: string, read: () => Promise<T>, done: (value: T) => boolean, timeoutMs = 60_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  let last: T | undefined;
  let lastError: unknown;
  while (Date.now() < deadline) {
    try {
      last = await read();
      if (done(last)) return last;
    } catch (error) {
      lastError = error;
    }
    await sleep(250);
  }
  const seen = last === undefined ? `error: ${String(lastError)}` : JSON.stringify(last, null, 1).slice(0, 3000);
  throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}; last seen: ${seen}`);
}
