// Refunds and cancels return money to the balances the payment was paid from (issue 19): a payment paid from
// the prepaid (前払式支払手段) and the funds-transfer (資金移動業) balance gets each part back to its own balance,
// the funds-transfer part first for a partial refund, and no balance is ever credited more than it paid — so
// prepaid money never becomes funds-transfer money. Real payments pipeline on PostgreSQL.
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { TransferCodes } from '../../src/ledger/types.ts';
import type { CustomerContext } from '../../src/payments/context.ts';
import type { Payment } from '../../src/payments/model.ts';
import { expectLedgerConsistent } from '../ledger/fixtures.ts';
import { balanceOf } from './customer-fixtures.ts';
import { customerWithBalances, payCompleted, refundCompleted, type TwoBalanceCustomer } from './pay-fixtures.ts';
import { startHarness, type Harness } from './support.ts';

let h: Harness;

beforeAll(async () => { h = await startHarness(); });
afterEach(async () => { await expectLedgerConsistent(h.db); });
afterAll(async () => { await h.close(); });

type Customer = TwoBalanceCustomer;
const customerWith = (prepaid: bigint, fundsTransfer: bigint | null): Promise<Customer> => customerWithBalances(h, prepaid, fundsTransfer);
const pay = (customer: CustomerContext, amountMinor: bigint) => payCompleted(h, customer, amountMinor);
const refund = (payment: Payment, amountMinor: bigint) => refundCompleted(h, payment, amountMinor);

async function balances(customer: Customer): Promise<{ prepaid: bigint; fundsTransfer: bigint }> {
  return { prepaid: await balanceOf(h.ledger, customer.walletAccountId), fundsTransfer: await balanceOf(h.ledger, customer.fundsTransferAccountId) };
}

/** What refunds and cancels of this payment credited each account. */
async function creditsOf(paymentId: string): Promise<Map<string, bigint>> {
  const rows = await h.db.pool.query<{ credit_account_id: string; amount: string }>(
    `select credit_account_id, sum(amount)::text as amount from transfers
     where code = $1 and (reference = $2 or reference in (select 'refund:' || id from refunds where payment_id = $3)) group by credit_account_id`,
    [TransferCodes.refund, `cancel:${paymentId}`, paymentId]);
  return new Map(rows.rows.map((r) => [r.credit_account_id, BigInt(r.amount)]));
}

describe('refunds return each part to the balance it was paid from', () => {
  it('a full refund of a mixed payment returns 300 to prepaid and 200 to funds-transfer, not all to prepaid', async () => {
    const customer = await customerWith(300n, 1_000n);
    const payment = await pay(customer, 500n);
    expect(await balances(customer)).toEqual({ prepaid: 0n, fundsTransfer: 800n });
    await refund(payment, 500n);
    expect(await balances(customer)).toEqual({ prepaid: 300n, fundsTransfer: 1_000n });
  });

  it('partial refunds return the funds-transfer part first, then the prepaid part, never more than each paid', async () => {
    const customer = await customerWith(300n, 1_000n);
    const payment = await pay(customer, 500n);
    await refund(payment, 150n);
    expect(await balances(customer)).toEqual({ prepaid: 0n, fundsTransfer: 950n });
    await refund(payment, 100n);
    expect(await balances(customer)).toEqual({ prepaid: 50n, fundsTransfer: 1_000n });
    await refund(payment, 250n);
    expect(await balances(customer)).toEqual({ prepaid: 300n, fundsTransfer: 1_000n });
  });

  it('a cancel after a partial refund returns what is left to each balance', async () => {
    const customer = await customerWith(300n, 1_000n);
    const payment = await pay(customer, 500n);
    await refund(payment, 120n);
    expect(await balances(customer)).toEqual({ prepaid: 0n, fundsTransfer: 920n });
    const canceled = await h.module.payments.cancelPayment(h.merchant.merchantId, payment.merchantPaymentId);
    expect(canceled.status).toBe('CANCELED');
    expect(await balances(customer)).toEqual({ prepaid: 300n, fundsTransfer: 1_000n });
    expect(await creditsOf(payment.id)).toEqual(new Map([[customer.fundsTransferAccountId, 200n], [customer.walletAccountId, 300n]]));
  });

  it('a payment paid from the wallet alone is refunded to the wallet, with no credit plan, as before', async () => {
    const customer = await customerWith(1_000n, null);
    const payment = await pay(customer, 400n);
    await refund(payment, 100n);
    expect(await balanceOf(h.ledger, customer.walletAccountId)).toBe(700n);
    expect((await h.db.pool.query('select 1 from refund_credit_plans where payment_id = $1', [payment.id])).rowCount).toBe(0);
  });

  it('property: over random mixed payments, refunds and a cancel, no balance gets back more than it paid and all of it comes back', async () => {
    await fc.assert(fc.asyncProperty(
      fc.bigInt({ min: 1n, max: 2_000n }), fc.bigInt({ min: 1n, max: 2_000n }), fc.array(fc.bigInt({ min: 1n, max: 900n }), { maxLength: 4 }), fc.boolean(),
      async (prepaid, fundsTransfer, refunds, cancelAfter) => {
        const customer = await customerWith(prepaid, fundsTransfer);
        const payment = await pay(customer, prepaid + fundsTransfer);
        let refunded = 0n;
        for (const amount of refunds) {
          if (refunded + amount > payment.amountMinor) continue;
          await refund(payment, amount);
          refunded += amount;
          const credited = await creditsOf(payment.id);
          expect(credited.get(customer.fundsTransferAccountId) ?? 0n).toBeLessThanOrEqual(fundsTransfer);
          expect(credited.get(customer.walletAccountId) ?? 0n).toBeLessThanOrEqual(prepaid);
        }
        if (cancelAfter && refunded < payment.amountMinor) {
          expect((await h.module.payments.cancelPayment(h.merchant.merchantId, payment.merchantPaymentId)).status).toBe('CANCELED');
          refunded = payment.amountMinor;
        }
        if (refunded === payment.amountMinor) expect(await balances(customer)).toEqual({ prepaid, fundsTransfer });
        const now = await balances(customer);
        expect(now.prepaid + now.fundsTransfer).toBe(refunded);
      }), { numRuns: 15 });
  });
});
