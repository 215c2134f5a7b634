import { describe, expect, it } from 'vitest';
import { createAuthFailureThrottle } from './failure-throttle.ts';

describe('failed-authentication throttle', () => {
  it('throttles an address past the limit until its window ends, and no other address', () => {
    let now = 1_000_000;
    const throttle = createAuthFailureThrottle({ limit: 3, windowMs: 60_000, now: () => now });
    for (let i = 0; i < 3; i += 1) {
      expect(throttle.blockedFor('10.0.0.1')).toBe(0);
      throttle.failed('10.0.0.1');
      now += 1_000;
    }
    // Three failures in 3 s of a 60 s window: blocked for the 57 s left.
    expect(throttle.blockedFor('10.0.0.1')).toBe(57_000);
    expect(throttle.blockedFor('10.0.0.2')).toBe(0);
    now += 56_999;
    expect(throttle.blockedFor('10.0.0.1')).toBe(1);
    now += 1;
    // A new window: the count starts again.
    expect(throttle.blockedFor('10.0.0.1')).toBe(0);
    throttle.failed('10.0.0.1');
    expect(throttle.blockedFor('10.0.0.1')).toBe(0);
  });

  it('remembers credentials that authenticated (for an hour), so a throttled address lets them through', () => {
    let now = 0;
    const throttle = createAuthFailureThrottle({ limit: 1, windowMs: 60_000, now: () => now });
    throttle.succeeded('hash-a');
    expect(throttle.proven('hash-a')).toBe(true);
    expect(throttle.proven('hash-b')).toBe(false);
    now += 60 * 60_000;
    expect(throttle.proven('hash-a')).toBe(false);
  });

  it('keeps at most maxAddresses addresses and proven credentials, forgetting the oldest', () => {
    const throttle = createAuthFailureThrottle({ limit: 1, windowMs: 60_000, maxAddresses: 2, now: () => 0 });
    throttle.failed('a');
    throttle.failed('b');
    throttle.failed('c');
    expect(['a', 'b', 'c'].map((x) => throttle.blockedFor(x) > 0)).toEqual([false, true, true]);
    throttle.succeeded('h1');
    throttle.succeeded('h2');
    throttle.succeeded('h3');
    expect(['h1', 'h2', 'h3'].map((h) => throttle.proven(h))).toEqual([false, true, true]);
  });
});
