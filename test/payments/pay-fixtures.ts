/** Customers with both kinds of balance, and paying and refunding through the real payments module (issue 19 tests). */
import { expect } from 'vitest';
import { requireTransferCreated } from '../../src/ledger/ledger.ts';
import { PLATFORM_ACCOUNTS } from '../../src/ledger/platform-accounts.ts';
import { Ledgers, TransferCodes } from '../../src/ledger/types.ts';
import type { CustomerContext } from '../../src/payments/context.ts';
import type { Payment } from '../../src/payments/model.ts';
import { uuidv7 } from '../../src/platform/ids.ts';
import { fundsTransferAccountId } from '../../src/wallet/balance-kinds.ts';
import { markCustomerVerified } from '../../src/wallet/balances.ts';
import { createCustomer } from './customer-fixtures.ts';
import type { Harness } from './support.ts';

export type TwoBalanceCustomer = CustomerContext & { fundsTransferAccountId: string };

/** A customer with a prepaid balance and, when `fundsTransfer` is given, a verified funds-transfer balance. */
export async function customerWithBalances(h: Pick<Harness, 'db' | 'ledger'>, prepaid: bigint, fundsTransfer: bigint | null): Promise<TwoBalanceCustomer> {
  const customer = await createCustomer(h.db, h.ledger, prepaid);
  const ftId = fundsTransferAccountId(customer.customerId);
  if (fundsTransfer !== null) {
    await markCustomerVerified(h.db, h.ledger, customer.customerId, 'test:verified', new Date());
    if (fundsTransfer > 0n) {
      requireTransferCreated(await h.ledger.createTransfers([{ id: uuidv7(), debitAccountId: PLATFORM_ACCOUNTS.bankClearing, creditAccountId: ftId, amount: fundsTransfer,
        pendingId: null, ledger: Ledgers.JPY, code: TransferCodes.topUp, flags: 0, timeoutSeconds: 0, reference: 'test bank top-up' }]));
    }
  }
  return { ...customer, fundsTransferAccountId: ftId };
}

/** A completed till payment by customer code (asserted), with the merchant's payment id for a cancel. */
export async function payCompleted(h: Pick<Harness, 'module' | 'merchant'>, customer: CustomerContext, amountMinor: bigint): Promise<Payment & { merchantPaymentId: string }> {
  const minted = await h.module.payments.mintPaymentCode(customer);
  const merchantPaymentId = `pay-${uuidv7()}`;
  const payment = await h.module.payments.payWithCustomerCode({
    merchantId: h.merchant.merchantId, merchantPaymentId, code: minted.code, amountMinor,
    storeId: h.merchant.storeId, terminalId: h.merchant.terminalIds[0] as string, orderDescription: null, requestedAt: null,
  });
  expect(payment.status).toBe('COMPLETED');
  return { ...payment, merchantPaymentId };
}

/** A completed refund (asserted). */
export async function refundCompleted(h: Pick<Harness, 'module' | 'merchant'>, payment: Payment, amountMinor: bigint): Promise<void> {
  const done = await h.module.payments.refundPayment({ merchantId: h.merchant.merchantId, merchantRefundId: `r-${uuidv7()}`, paymentId: payment.id, amountMinor, reason: null, requestedAt: null });
  expect(done.status).toBe('REFUNDED');
}
