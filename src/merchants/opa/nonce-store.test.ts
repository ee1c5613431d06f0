import { describe, expect, it } from 'vitest';
import { MemoryNonceStore, NonceStoreFullError } from './nonce-store.ts';

function storeAt(clock: { nowSec: number }, maxEntries = 10): MemoryNonceStore {
  return new MemoryNonceStore({ maxEntries, nowSec: () => clock.nowSec });
}

describe('MemoryNonceStore', () => {
  it('grants the first claim of a nonce and refuses the second (replay)', async () => {
    const store = storeAt({ nowSec: 1000 });
    expect(await store.claim('key-a', 'n0nce001', 1120)).toBe(true);
    expect(await store.claim('key-a', 'n0nce001', 1120)).toBe(false);
  });

  it('keeps nonces of different apiKeys apart', async () => {
    const store = storeAt({ nowSec: 1000 });
    expect(await store.claim('key-a', 'n0nce001', 1120)).toBe(true);
    expect(await store.claim('key-b', 'n0nce001', 1120)).toBe(true);
  });

  it('cannot be confused by pairs that concatenate to the same text', async () => {
    const store = storeAt({ nowSec: 1000 });
    expect(await store.claim('a', 'bc-nonce', 1120)).toBe(true);
    expect(await store.claim('ab', 'c-nonce', 1120)).toBe(true);
  });

  it('lets a nonce be claimed again once it has expired', async () => {
    const clock = { nowSec: 1000 };
    const store = storeAt(clock);
    await store.claim('key-a', 'n0nce001', 1120);
    clock.nowSec = 1120;
    expect(await store.claim('key-a', 'n0nce001', 1240)).toBe(true);
  });

  it('sweeps expired entries instead of growing without bound', async () => {
    const clock = { nowSec: 1000 };
    const store = storeAt(clock, 4);
    for (let i = 0; i < 4; i += 1) await store.claim('key-a', `nonce-00${i}`, 1010);
    clock.nowSec = 1011;
    expect(await store.claim('key-a', 'nonce-new', 1131)).toBe(true);
    expect(store.size).toBe(1);
  });

  it('refuses new nonces when full of live ones rather than forgetting one (replay window)', async () => {
    const store = storeAt({ nowSec: 1000 }, 3);
    for (let i = 0; i < 3; i += 1) await store.claim('key-a', `nonce-00${i}`, 1120);
    await expect(store.claim('key-a', 'nonce-004', 1120)).rejects.toBeInstanceOf(NonceStoreFullError);
    expect(await store.claim('key-a', 'nonce-000', 1120)).toBe(false);
  });

  it('rejects a non-positive capacity', () => {
    expect(() => new MemoryNonceStore({ maxEntries: 0 })).toThrow(RangeError);
  });
});
