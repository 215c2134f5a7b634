import { describe, expect, it } from 'vitest';
import { ProgressThrottle } from './progress.ts';

describe('progress throttle', () => {
  it('lets through each phase, about every 10% of bytes, every 5 s while bytes move, and the end', () => {
    let now = 0;
    const throttle = new ProgressThrottle(() => now);
    const seen: string[] = [];
    const offer = (phase: 'fetching-artifact' | 'pushing', done?: number, total?: number) => {
      if (throttle.admit(phase, done, total)) seen.push(`${phase}:${done ?? '-'}`);
    };
    offer('fetching-artifact');
    for (let done = 1; done <= 100; done += 1) offer('fetching-artifact', done, 100);
    expect(seen).toEqual(['fetching-artifact:-', ...Array.from({ length: 10 }, (_, i) => `fetching-artifact:${(i + 1) * 10}`)]);
    seen.length = 0;
    offer('pushing', 0, 1000);
    offer('pushing', 1, 1000);
    now += 5_000;
    offer('pushing', 2, 1000);
    offer('pushing', 2, 1000);
    now += 10_000;
    offer('pushing', 2, 1000);
    expect(seen).toEqual(['pushing:0', 'pushing:2']);
  });

  it('without a total: only the time rule applies', () => {
    let now = 0;
    const throttle = new ProgressThrottle(() => now);
    expect(throttle.admit('fetching-artifact', 0, undefined)).toBe(true);
    expect(throttle.admit('fetching-artifact', 10_000_000, undefined)).toBe(false);
    now = 5_000;
    expect(throttle.admit('fetching-artifact', 20_000_000, undefined)).toBe(true);
  });
});
