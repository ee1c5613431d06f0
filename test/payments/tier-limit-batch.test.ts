// The tier payment limit (issue 19) where the till's group commit scores its payments (issue 11): the limit is read
// by the batch for all of its payments in one statement, after the score, and still stops a thief paying out a
// basic account. The engine here allows everything but scores in batches, as the real one does.
import { randomUUID } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import type { CustomerContext } from '../../src/payments/context.ts';
import type { PaymentRisk, PaymentRiskEvent } from '../../src/payments/deps.ts';
import { uuidv7 } from '../../src/platform/ids.ts';
import { expectLedgerConsistent } from '../ledger/fixtures.ts';
import { balanceOf } from './customer-fixtures.ts';
import { customerWithBalances } from './pay-fixtures.ts';
import { opa, resultCode, startHarness, type Harness } from './support.ts';

const LIMITS = {
  KOBAN_BASIC_PAYMENT_DAILY_MAX: '5000', KOBAN_BASIC_PAYMENT_30D_MAX: '8000',
  KOBAN_VERIFIED_PAYMENT_DAILY_MAX: '6000', KOBAN_VERIFIED_PAYMENT_30D_MAX: '9000',
};

/** Allows every payment, scoring them in batches; remembers the events each batch was given. */
function batchScoringRisk(): PaymentRisk & { batched: PaymentRiskEvent[] } {
  const batched: PaymentRiskEvent[] = [];
  return {
    batched,
    async assess() { return { id: randomUUID(), decision: 'allow' }; },
    async assessBatch(_client, events) {
      batched.push(...events);
      return { decisions: events.map(() => ({ id: randomUUID(), decision: 'allow' as const })), record: async () => undefined, afterCommit: async () => [] };
    },
  };
}

let h: Harness;
const risk = batchScoringRisk();
beforeAll(async () => { h = await startHarness({ env: LIMITS, risk }); });
afterEach(async () => { await expectLedgerConsistent(h.db); });
afterAll(async () => { await h.close(); });

async function payAtTill(customer: CustomerContext, amount: number) {
  const code = (await h.module.payments.mintPaymentCode(customer)).code;
  return opa(h, { method: 'POST', url: '/v2/till/payments', body: {
    merchantPaymentId: `tierb-${uuidv7()}`, code, amount: { amount, currency: 'JPY' }, storeId: h.merchant.storeId, terminalId: h.merchant.terminalIds[0] } });
}

describe('the tier payment limit of batched till payments', () => {
  it('a thief paying out a basic account at a till is stopped at the daily limit by the batch\'s one read, before money moves', async () => {
    const customer = await customerWithBalances(h, 20_000n, null);
    expect(resultCode(await payAtTill(customer, 4_000))).toBe('SUCCESS');
    const over = await payAtTill(customer, 1_001);
    expect(resultCode(over)).toBe('LIMIT_EXCEEDED');
    expect(over.json()).toMatchObject({ resultInfo: { code: 'LIMIT_EXCEEDED' } });
    expect(resultCode(await payAtTill(customer, 1_000))).toBe('SUCCESS');
    expect(resultCode(await payAtTill(customer, 1))).toBe('LIMIT_EXCEEDED');
    expect(await balanceOf(h.ledger, customer.walletAccountId)).toBe(15_000n);
    // Every one of them was scored by a batch: the limit was the batch's to read.
    expect(risk.batched.filter((event) => event.accountId === customer.customerId)).toHaveLength(4);
  });

  it('a payment the batch leaves to settle alone (a customer with two balances) still meets its limit, read on its own', async () => {
    const customer = await customerWithBalances(h, 20_000n, 10_000n);
    expect(resultCode(await payAtTill(customer, 5_000))).toBe('SUCCESS');
    expect(resultCode(await payAtTill(customer, 1_001))).toBe('LIMIT_EXCEEDED');
    expect(resultCode(await payAtTill(customer, 1_000))).toBe('SUCCESS');
    expect(await balanceOf(h.ledger, customer.walletAccountId) + await balanceOf(h.ledger, customer.fundsTransferAccountId)).toBe(24_000n);
  });
});
