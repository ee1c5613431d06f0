// Paying from two balances (issue 19): prepaid (前払式支払手段) and funds-transfer (資金移動業), on the real
// payments pipeline and PostgreSQL. The spend order is the wallet's pure decision (wallet/spend-order.ts);
// the pipeline's "choose accounts" step stores it once per payment so every path runs the same legs.
import fc from 'fast-check';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { AccountCodes, TransferCodes } from '../../src/ledger/types.ts';
import { chooseDebits, moveMoney, targetOf } from '../../src/payments/complete.ts';
import type { CustomerContext } from '../../src/payments/context.ts';
import type { Payment } from '../../src/payments/model.ts';
import { uuidv7 } from '../../src/platform/ids.ts';
import { markCustomerVerified, setSpendOrder } from '../../src/wallet/balances.ts';
import { expectLedgerConsistent } from '../ledger/fixtures.ts';
import { balanceOf } from './customer-fixtures.ts';
import { customerWithBalances } from './pay-fixtures.ts';
import { startHarness, type Harness } from './support.ts';

let h: Harness;

beforeAll(async () => { h = await startHarness(); });
afterEach(async () => { await expectLedgerConsistent(h.db); });
afterAll(async () => { await h.close(); });

const customerWith = (prepaid: bigint, fundsTransfer: bigint | null) => customerWithBalances(h, prepaid, fundsTransfer);

async function pay(customer: CustomerContext, amountMinor: bigint): Promise<Payment> {
  const minted = await h.module.payments.mintPaymentCode(customer);
  return h.module.payments.payWithCustomerCode({
    merchantId: h.merchant.merchantId, merchantPaymentId: `spend-${uuidv7()}`, code: minted.code, amountMinor,
    storeId: h.merchant.storeId, terminalId: h.merchant.terminalIds[0] as string, orderDescription: null, requestedAt: null,
  });
}

async function debitsOf(paymentId: string): Promise<Array<{ account: string; amount: bigint }>> {
  const rows = await h.db.pool.query<{ debit_account_id: string; amount: bigint }>(
    'select debit_account_id, amount from transfers where reference = $1 and code = $2 order by amount desc', [`payment:${paymentId}`, TransferCodes.payment]);
  return rows.rows.map((r) => ({ account: r.debit_account_id, amount: BigInt(r.amount) }));
}

describe('paying from the prepaid and the funds-transfer balance', () => {
  it('a customer without a funds-transfer balance pays from the wallet exactly as before (one transfer, no stored plan)', async () => {
    const customer = await customerWith(1_000n, null);
    const payment = await pay(customer, 400n);
    expect(payment.status).toBe('COMPLETED');
    expect(await debitsOf(payment.id)).toEqual([{ account: customer.walletAccountId, amount: 400n }]);
    expect((await h.db.pool.query('select 1 from payment_debit_plans where payment_transfer_id = $1', [payment.paymentTransferId])).rowCount).toBe(0);
  });

  it('spends prepaid first, then funds-transfer, in one linked chain under the payment', async () => {
    const customer = await customerWith(300n, 1_000n);
    const payment = await pay(customer, 500n);
    expect(payment.status).toBe('COMPLETED');
    expect(await debitsOf(payment.id)).toEqual([{ account: customer.walletAccountId, amount: 300n }, { account: customer.fundsTransferAccountId, amount: 200n }]);
    expect(await balanceOf(h.ledger, customer.walletAccountId)).toBe(0n);
    expect(await balanceOf(h.ledger, customer.fundsTransferAccountId)).toBe(800n);
  });

  it('spends funds-transfer first when the customer chose so', async () => {
    const customer = await customerWith(300n, 1_000n);
    await setSpendOrder(h.db, customer.customerId, 'funds_transfer_first');
    const payment = await pay(customer, 500n);
    expect(await debitsOf(payment.id)).toEqual([{ account: customer.fundsTransferAccountId, amount: 500n }]);
    expect(await balanceOf(h.ledger, customer.walletAccountId)).toBe(300n);
  });

  it('refuses a payment both balances together cannot cover, moving nothing', async () => {
    const customer = await customerWith(300n, 100n);
    const payment = await pay(customer, 500n);
    expect(payment).toMatchObject({ status: 'FAILED', failureCode: 'insufficient_funds' });
    expect(await balanceOf(h.ledger, customer.walletAccountId)).toBe(300n);
    expect(await balanceOf(h.ledger, customer.fundsTransferAccountId)).toBe(100n);
  });

  it('a frozen wallet pays nothing from the other balance either', async () => {
    const customer = await customerWith(0n, 1_000n);
    await h.ledger.setAccountStatus(customer.walletAccountId, 'frozen');
    await expect(h.module.payments.mintPaymentCode(customer)).rejects.toMatchObject({ code: 'wallet_frozen' });
    const staged = { ...(await pay(await customerWith(1n, null), 1n)), status: 'CREATED' as const, customerId: customer.customerId, walletAccountId: customer.walletAccountId, paymentTransferId: uuidv7(), amountMinor: 500n };
    expect(await chooseDebits(h.module.payments.deps, staged)).toEqual([{ accountId: customer.walletAccountId, amountMinor: 500n, transferId: staged.paymentTransferId }]);
    expect(await balanceOf(h.ledger, customer.fundsTransferAccountId)).toBe(1_000n);
    await h.ledger.setAccountStatus(customer.walletAccountId, 'active');
  });
});

describe('every path runs the same legs', () => {
  it('a second choice after the balances changed gets the first, stored plan', async () => {
    const customer = await customerWith(300n, 1_000n);
    const staged = { ...(await pay(await customerWith(1n, null), 1n)), status: 'CREATED' as const, customerId: customer.customerId, walletAccountId: customer.walletAccountId, paymentTransferId: uuidv7(), amountMinor: 500n };
    const first = await chooseDebits(h.module.payments.deps, staged);
    await setSpendOrder(h.db, customer.customerId, 'funds_transfer_first');
    const again = await chooseDebits(h.module.payments.deps, staged);
    expect(again).toEqual(first);
    expect(first.map((d) => d.amountMinor)).toEqual([300n, 200n]);
  });

  it('legs planned differently from the ones that moved (verified in between) answer the original outcome and move nothing more', async () => {
    const customer = await customerWith(1_000n, null);
    const payment = await pay(customer, 400n);
    expect(payment.status).toBe('COMPLETED');
    await markCustomerVerified(h.db, h.ledger, customer.customerId, 'test:verified', new Date());
    const replanned = [{ accountId: customer.fundsTransferAccountId, amountMinor: 400n, transferId: payment.paymentTransferId as string }];
    const outcome = await moveMoney(h.module.payments.deps, { ...payment, status: 'CREATED' }, replanned, await targetOf(h.module.payments.deps, payment));
    expect(outcome).toEqual({ ok: true });
    expect(await balanceOf(h.ledger, customer.walletAccountId)).toBe(600n);
    expect(await debitsOf(payment.id)).toEqual([{ account: customer.walletAccountId, amount: 400n }]);
  });
});

describe('property: prepaid money leaves only to merchants', () => {
  it('over random top-ups of both kinds and payments in either order, no transfer debits a prepaid balance except a payment to a merchant receivable', async () => {
    await fc.assert(fc.asyncProperty(
      fc.bigInt({ min: 0n, max: 5_000n }), fc.bigInt({ min: 0n, max: 5_000n }),
      fc.array(fc.record({ amount: fc.bigInt({ min: 1n, max: 4_000n }), order: fc.constantFrom('prepaid_first', 'funds_transfer_first') }), { minLength: 1, maxLength: 5 }),
      async (prepaid, fundsTransfer, payments) => {
        const customer = await customerWith(prepaid, fundsTransfer);
        let spent = 0n;
        for (const step of payments) {
          await setSpendOrder(h.db, customer.customerId, step.order);
          const payment = await pay(customer, step.amount);
          if (payment.status === 'COMPLETED') spent += step.amount;
          else expect(payment.failureCode).toBe('insufficient_funds');
        }
        const left = (await balanceOf(h.ledger, customer.walletAccountId)) + (await balanceOf(h.ledger, customer.fundsTransferAccountId));
        expect(left).toBe(prepaid + fundsTransfer - spent);
        const out = await h.db.pool.query<{ code: number; credit_code: number }>(
          `select t.code, c.code as credit_code from transfers t join accounts c on c.id = t.credit_account_id where t.debit_account_id = $1`, [customer.walletAccountId]);
        for (const row of out.rows) expect({ code: row.code, creditCode: row.credit_code }).toEqual({ code: TransferCodes.payment, creditCode: AccountCodes.merchantReceivable });
        const into = await h.db.pool.query<{ debit_code: number }>(
          `select d.code as debit_code from transfers t join accounts d on d.id = t.debit_account_id where t.credit_account_id = $1`, [customer.fundsTransferAccountId]);
        // Nothing ever turns prepaid money into funds-transfer money.
        for (const row of into.rows) expect(row.debit_code).not.toBe(AccountCodes.customerWallet);
      }), { numRuns: 12 });
  });
});
