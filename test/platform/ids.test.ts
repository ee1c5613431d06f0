/**
 * UUIDv7 (RFC 9562) as Koban makes them: the millisecond timestamp in the first 48 bits (so ids sort by
 * time and B-tree inserts stay local), version 7, the RFC variant, and random bits that never repeat.
 */
import { describe, expect, it } from 'vitest';
import { isUuid, uuidv7 } from '../../src/platform/ids.ts';

describe('uuidv7', () => {
  it('carries the given millisecond in its first 48 bits, version 7 and the RFC 9562 variant', () => {
    for (const ms of [0, 1, 1_764_790_000_123, 2 ** 48 - 1]) {
      const id = uuidv7(ms);
      expect(isUuid(id)).toBe(true);
      expect(Number.parseInt(id.replaceAll('-', '').slice(0, 12), 16)).toBe(ms);
      expect(id[14]).toBe('7');
      expect(['8', '9', 'a', 'b']).toContain(id[19]);
    }
  });

  it('sorts by time and never repeats within a millisecond', () => {
    const earlier = Array.from({ length: 10_000 }, () => uuidv7(1_764_790_000_000));
    const later = uuidv7(1_764_790_000_001);
    expect(new Set(earlier).size).toBe(earlier.length);
    for (const id of earlier) expect(id < later).toBe(true);
  });

  it('refuses a timestamp that does not fit 48 bits', () => {
    expect(() => uuidv7(2 ** 48)).toThrow();
    expect(() => uuidv7(-1)).toThrow();
  });
});
