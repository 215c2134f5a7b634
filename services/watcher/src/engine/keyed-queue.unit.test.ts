import { describe, expect, it } from 'vitest';
import { createKeyedQueue } from './keyed-queue.ts';
import { countersOf } from './status-engine.ts';

describe('keyed queue', () => {
  it('runs tasks of one key one at a time, in order, and other keys alongside; a failure does not block the key', async () => {
    const queue = createKeyedQueue();
    const log: string[] = [];
    const task = (name: string, ms: number, fail = false) => async () => {
      log.push(`start ${name}`);
      await new Promise((r) => setTimeout(r, ms));
      log.push(`end ${name}`);
      if (fail) throw new Error(name);
      return name;
    };
    const results = await Promise.allSettled([queue.run('a', task('a1', 30, true)), queue.run('a', task('a2', 1)), queue.run('b', task('b1', 5))]);
    expect(results.map((r) => r.status)).toEqual(['rejected', 'fulfilled', 'fulfilled']);
    expect(log.indexOf('end a1')).toBeLessThan(log.indexOf('start a2'));
    expect(log.indexOf('start b1')).toBeLessThan(log.indexOf('end a1'));
    await new Promise((r) => setTimeout(r, 0));
    expect(queue.size).toBe(0);
  });
});

describe('analysis step ids', () => {
  it('reads back the counters a step id was made of', () => {
    expect(countersOf('6a1c.analysis.w20.i0.f1')).toEqual({ weight: 20, iterations: 0, failedChecks: 1 });
    expect(countersOf('6a1c.status.succeeded')).toBeNull();
  });
});
