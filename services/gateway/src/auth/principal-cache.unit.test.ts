import { describe, expect, it } from 'vitest';
import { createPrincipalCache } from './principal-cache.ts';

const alice = { tokenId: 't-alice', isAdmin: false, projectIds: ['p1'] };
const bob = { tokenId: 't-bob', isAdmin: true, projectIds: [] };

describe('principal cache', () => {
  it('serves an entry until it expires', () => {
    let clock = 0;
    const cache = createPrincipalCache({ ttlMs: 1_000, now: () => clock })!;
    cache.set('h1', alice);
    clock = 999;
    expect(cache.get('h1')).toEqual(alice);
    clock = 1_000;
    expect(cache.get('h1')).toBeUndefined();
  });

  it('forgets every entry of a revoked token at once', () => {
    const cache = createPrincipalCache({ ttlMs: 60_000 })!;
    cache.set('h1', alice);
    cache.set('h2', bob);
    cache.forgetToken('t-alice');
    expect(cache.get('h1')).toBeUndefined();
    expect(cache.get('h2')).toEqual(bob);
  });

  it('keeps at most maxEntries, dropping the oldest', () => {
    const cache = createPrincipalCache({ ttlMs: 60_000, maxEntries: 2 })!;
    cache.set('h1', alice);
    cache.set('h2', bob);
    cache.set('h3', alice);
    expect(cache.get('h1')).toBeUndefined();
    expect(cache.get('h2')).toEqual(bob);
    expect(cache.get('h3')).toEqual(alice);
  });

  it('is off with a zero ttl', () => {
    expect(createPrincipalCache({ ttlMs: 0 })).toBeUndefined();
  });
});
