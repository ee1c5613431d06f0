// The regulator's arithmetic (issue 19), pure.
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { baseDateEnd, filingDeadline, latestBaseDate, prepaidSecurityDeposit } from './regulatory.ts';

describe('prepaid security deposit (Art. 14)', () => {
  it('is nothing up to ¥10M of unused balance and at least half of all of it above', () => {
    expect(prepaidSecurityDeposit(0n)).toBe(0n);
    expect(prepaidSecurityDeposit(10_000_000n)).toBe(0n);
    expect(prepaidSecurityDeposit(10_000_001n)).toBe(5_000_001n);
    expect(prepaidSecurityDeposit(25_000_000n)).toBe(12_500_000n);
    fc.assert(fc.property(fc.bigInt({ min: 10_000_001n, max: 10n ** 15n }), (unused) => {
      const deposit = prepaidSecurityDeposit(unused);
      expect(deposit * 2n >= unused && (deposit - 1n) * 2n < unused).toBe(true);
    }));
  });
});

describe('base dates', () => {
  it('end at midnight JST on 31 March and 30 September; filing is due two months later', () => {
    expect(baseDateEnd('2026-03-31').toISOString()).toBe('2026-03-31T14:59:59.999Z');
    expect(baseDateEnd('2026-09-30').toISOString()).toBe('2026-09-30T14:59:59.999Z');
    expect(latestBaseDate(new Date('2026-03-31T14:59:59.999Z'))).toBe('2026-03-31');
    expect(latestBaseDate(new Date('2026-03-31T14:59:59.998Z'))).toBe('2025-09-30');
    expect(latestBaseDate(new Date('2026-12-03T12:00:00Z'))).toBe('2026-09-30');
    expect(latestBaseDate(new Date('2027-01-01T00:00:00Z'))).toBe('2026-09-30');
    expect(filingDeadline('2026-03-31')).toBe('2026-05-31');
    expect(filingDeadline('2026-09-30')).toBe('2026-11-30');
    expect(() => baseDateEnd('2026-06-30')).toThrow();
  });
});
