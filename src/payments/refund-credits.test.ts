import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { planRefundCredits } from './refund-credits.ts';

const PREPAID = 'prepaid';
const FT = 'funds-transfer';
const FIRST = '00000000-0000-7000-8000-000000000001';

describe('planRefundCredits', () => {
  it('returns the funds-transfer part first, whatever order the payment spent in', () => {
    const debits = [{ accountId: PREPAID, amountMinor: 300n }, { accountId: FT, amountMinor: 200n }];
    const credits = planRefundCredits(debits, new Map(), 250n, [PREPAID], FIRST);
    expect(credits.map((c) => [c.accountId, c.amountMinor])).toEqual([[FT, 200n], [PREPAID, 50n]]);
    expect(credits[0]?.transferId).toBe(FIRST);
    expect(credits[1]?.transferId).not.toBe(FIRST);
  });

  it('returns money before points: funds-transfer, then prepaid, then points', () => {
    const debits = [{ accountId: 'points', amountMinor: 50n }, { accountId: PREPAID, amountMinor: 100n }, { accountId: FT, amountMinor: 100n }];
    const credits = planRefundCredits(debits, new Map(), 220n, [PREPAID, 'points'], FIRST);
    expect(credits.map((c) => [c.accountId, c.amountMinor])).toEqual([[FT, 100n], [PREPAID, 100n], ['points', 20n]]);
  });

  it('refuses (asserts) a refund larger than what is still open, so no balance is credited more than it paid', () => {
    const debits = [{ accountId: PREPAID, amountMinor: 300n }, { accountId: FT, amountMinor: 200n }];
    expect(() => planRefundCredits(debits, new Map([[FT, 200n]]), 301n, [PREPAID], FIRST)).toThrow();
  });

  it('property: successive refunds never credit an account more than it paid and add up to each refund', () => {
    fc.assert(fc.property(fc.bigInt({ min: 0n, max: 1_000n }), fc.bigInt({ min: 0n, max: 1_000n }), fc.array(fc.bigInt({ min: 1n, max: 500n }), { maxLength: 8 }),
      (prepaid, ft, refunds) => {
        const debits = [{ accountId: PREPAID, amountMinor: prepaid }, { accountId: FT, amountMinor: ft }];
        const credited = new Map<string, bigint>();
        let open = prepaid + ft;
        for (const amount of refunds) {
          if (amount > open) continue;
          const credits = planRefundCredits(debits, credited, amount, [PREPAID], FIRST);
          expect(credits.reduce((s, c) => s + c.amountMinor, 0n)).toBe(amount);
          for (const c of credits) credited.set(c.accountId, (credited.get(c.accountId) ?? 0n) + c.amountMinor);
          open -= amount;
        }
        expect(credited.get(PREPAID) ?? 0n).toBeLessThanOrEqual(prepaid);
        expect(credited.get(FT) ?? 0n).toBeLessThanOrEqual(ft);
      }));
  });
});
