import { setTimeout as sleep } from 'node:timers/promises';
import type { Logger } from 'pino';
import { ConfigError } from '../config/config.ts';
import { isAppServingError } from '../errors/index.ts';

export interface StartupRetryOptions {
  log: Logger;
  /** How long to keep trying, from the first attempt. */
  timeoutMs: number;
  /** Longest pause between attempts (they start at 500 ms and grow). */
  maxDelayMs?: number;
}

/**
 * Runs one start-up step (reach NATS, migrate the database, ensure streams and buckets), trying again while a
 * dependency is briefly away (restarting, failing over) until `timeoutMs` after the first attempt; then the last
 * error is thrown with what was being done. Configuration and input errors are not retried: waiting fixes neither.
 */
export async function retryDuringStartup<T>(what: string, step: () => Promise<T>, options: StartupRetryOptions): Promise<T> {
  const deadline = Date.now() + options.timeoutMs;
  for (let attempt = 1; ; attempt++) {
    try {
      return await step();
    } catch (error) {
      if (error instanceof ConfigError || (isAppServingError(error) && error.kind === 'input')) throw error;
      if (Date.now() >= deadline) throw new Error(`${what}: still failing after ${attempt} attempts`, { cause: error });
      options.log.warn({ attempt, err: error }, `${what}: failed; retrying`);
      await sleep(Math.min(500 * attempt, options.maxDelayMs ?? 3_000));
    }
  }
}
