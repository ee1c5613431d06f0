// The spend order and the balance-kind rules as pure properties (issue 19).
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import { mayLeaveAs, topUpDestination, type OutgoingPurpose } from './balance-kinds.ts';
import { planSpend, SPEND_ORDERS, type SpendableBalance } from './spend-order.ts';

const PREPAID = '00000000-0000-4000-8000-000000000001';
const FUNDS_TRANSFER = '00000000-0000-4000-8000-000000000002';
const yen = fc.bigInt({ min: 0n, max: 3_000_000n });
const balancesArb = fc.record({ prepaid: yen, fundsTransfer: fc.option(yen, { nil: null }) });

function balances(b: { prepaid: bigint; fundsTransfer: bigint | null }): SpendableBalance[] {
  return [
    { kind: 'prepaid', accountId: PREPAID, availableMinor: b.prepaid },
    ...(b.fundsTransfer === null ? [] : [{ kind: 'funds_transfer' as const, accountId: FUNDS_TRANSFER, availableMinor: b.fundsTransfer }]),
  ];
}

describe('planSpend', () => {
  it('always asks for exactly the amount, never more than a balance has when they can pay, and the whole amount of the first balance when they cannot', () => {
    fc.assert(fc.property(balancesArb, fc.bigInt({ min: 1n, max: 6_000_000n }), fc.constantFrom(...SPEND_ORDERS), (b, amount, order) => {
      const legs = planSpend(balances(b), amount, order);
      expect(legs.reduce((sum, leg) => sum + leg.amountMinor, 0n)).toBe(amount);
      const total = b.prepaid + (b.fundsTransfer ?? 0n);
      const first = order === 'funds_transfer_first' && b.fundsTransfer !== null ? 'funds_transfer' : 'prepaid';
      if (total < amount) {
        expect(legs).toEqual([{ kind: first, accountId: first === 'prepaid' ? PREPAID : FUNDS_TRANSFER, amountMinor: amount }]);
        return;
      }
      for (const leg of legs) {
        expect(leg.amountMinor > 0n).toBe(true);
        expect(leg.amountMinor <= (leg.kind === 'prepaid' ? b.prepaid : (b.fundsTransfer ?? 0n))).toBe(true);
      }
      expect(new Set(legs.map((leg) => leg.kind)).size).toBe(legs.length);
      // The second balance is used only when the first is emptied.
      if (legs.length === 2) expect(legs[0]?.amountMinor).toBe(legs[0]?.kind === 'prepaid' ? b.prepaid : b.fundsTransfer);
      if ((first === 'prepaid' ? b.prepaid : (b.fundsTransfer ?? 0n)) > 0n) expect(legs[0]?.kind).toBe(first);
    }), { numRuns: 2000 });
  });

  it('spends prepaid first by default and funds-transfer first when the customer chose so', () => {
    const both = balances({ prepaid: 300n, fundsTransfer: 1_000n });
    expect(planSpend(both, 500n, 'prepaid_first')).toEqual([
      { kind: 'prepaid', accountId: PREPAID, amountMinor: 300n }, { kind: 'funds_transfer', accountId: FUNDS_TRANSFER, amountMinor: 200n }]);
    expect(planSpend(both, 500n, 'funds_transfer_first')).toEqual([{ kind: 'funds_transfer', accountId: FUNDS_TRANSFER, amountMinor: 500n }]);
    expect(planSpend(both, 1_301n, 'funds_transfer_first')).toEqual([{ kind: 'funds_transfer', accountId: FUNDS_TRANSFER, amountMinor: 1_301n }]);
  });
});

describe('balance kinds', () => {
  it('a prepaid balance may only pay a merchant or be refunded on abolition: never sent, never withdrawn', () => {
    const purposes: OutgoingPurpose[] = ['payment', 'send', 'withdrawal', 'abolition_refund'];
    expect(purposes.filter((purpose) => mayLeaveAs('prepaid', purpose))).toEqual(['payment', 'abolition_refund']);
    expect(purposes.filter((purpose) => mayLeaveAs('funds_transfer', purpose))).toEqual(['payment', 'send', 'withdrawal']);
  });

  it('card money is always prepaid; bank money is funds-transfer only for a verified customer', () => {
    expect(topUpDestination('card', true)).toBe('prepaid');
    expect(topUpDestination('card', false)).toBe('prepaid');
    expect(topUpDestination('bank', false)).toBe('prepaid');
    expect(topUpDestination('bank', true)).toBe('funds_transfer');
  });
});
