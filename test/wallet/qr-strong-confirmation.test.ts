/**
 * A QR payment above KOBAN_STRONG_CONFIRMATION_ABOVE (¥10,000) needs the charge PIN typed for that payment
 * (payments' requireStrongConfirmation hook, wired to identity in src/wiring.ts): without it the payment is
 * refused and nothing moves; a wrong PIN is refused as pin_wrong (and counted toward the lock); the right
 * one pays. Small payments need no PIN.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { PLATFORM_ACCOUNTS } from '../../src/ledger/platform-accounts.ts';
import { Ledgers, TransferCodes } from '../../src/ledger/types.ts';
import { buildStaticQrPayload } from '../../src/payments/emvco.ts';
import { uuidv7 } from '../../src/platform/ids.ts';
import type { Customer } from '../identity/support.ts';
import { createTestMerchant, type TestMerchant } from '../payments/merchant-fixtures.ts';
import { customerWithPin, expectLedgerVerifies, PIN, startWalletEnv, type WalletEnv } from './support.ts';

let w: WalletEnv;
let merchant: TestMerchant;
let customer: Customer;

const balance = async () => (customer.client.request({ method: 'GET', url: '/v1/wallet/summary' })).then((r) => (r.json() as { balance: string }).balance);

beforeAll(async () => {
  w = await startWalletEnv();
  // A brand-new customer spending over ¥10,000 within the hour is above the account's default budget, which asks
  // for the PIN on an established device (test/wallet/customer-confirmation.test.ts covers that); here every attempt,
  // refused or not, would add to that sum and hide the amount threshold's PIN check under test.
  for (const rule of ['account_spending_budget', 'balance_drain']) {
    await w.koban.risk.settings.updateRule(rule, { enabled: false }, { kind: 'operator', id: 'op-wallet-tests' }, 'isolate strong confirmation');
  }
  merchant = await createTestMerchant(w.db, w.koban.ledger, 'Big Shop');
  customer = await customerWithPin(w.koban);
  const minted = await customer.client.request({ method: 'POST', url: '/v1/wallet/payment-codes', body: {} });
  expect(minted.statusCode).toBe(200);
  const wallet = (await w.db.pool.query<{ account_id: string }>('select account_id from customer_wallets where customer_id = $1', [customer.customerId])).rows[0]?.account_id ?? '';
  await w.koban.ledger.createTransfers([{ id: uuidv7(), debitAccountId: PLATFORM_ACCOUNTS.cardClearing, creditAccountId: wallet, amount: 30_000n, pendingId: null, ledger: Ledgers.JPY, code: TransferCodes.topUp, flags: 0, timeoutSeconds: 0, reference: 'test funding' }]);
});
afterAll(async () => {
  await expectLedgerVerifies(w.db);
  await w.close();
});

const payload = () => buildStaticQrPayload({ merchantId: merchant.merchantId, storeId: merchant.storeId, categoryCode: '5411', merchantName: 'Big Shop', merchantCity: 'Chiyoda-ku', postalCode: '100-0001' });
const pay = (amount: string, key: string, pin?: string) =>
  customer.client.request({ method: 'POST', url: '/v1/wallet/static-qr/pay', body: { payload: payload(), amount, idempotencyKey: key, ...(pin === undefined ? {} : { pin }) } });

it('refuses a large QR payment without the PIN, and with a wrong one, moving nothing; pays with the right one', async () => {
  const without = await pay('12000', 'strong-000001');
  expect(without.statusCode).toBe(403);
  expect(without.json()).toMatchObject({ code: 'strong_confirmation_required' });
  const wrong = await pay('12000', 'strong-000002', '111111');
  expect(wrong.json()).toMatchObject({ code: 'pin_wrong' });
  expect(await balance()).toBe('30000');
  const right = await pay('12000', 'strong-000003', PIN);
  expect(right.statusCode, right.body).toBe(200);
  expect(right.json()).toMatchObject({ status: 'COMPLETED', amount: '12000' });
  expect(await balance()).toBe('18000');
});

it('pays a small QR payment without any PIN, and a dynamic order QR above the threshold with it', async () => {
  expect((await pay('900', 'strong-000004')).json()).toMatchObject({ status: 'COMPLETED' });
  const order = await w.koban.payments.payments.createDynamicQr({ merchantId: merchant.merchantId, merchantPaymentId: 'big-order-1', amountMinor: 15_000n, orderDescription: null, storeId: merchant.storeId, terminalId: null, requestedAt: null });
  const refused = await customer.client.request({ method: 'POST', url: `/v1/wallet/qr/${order.codeId}/pay`, body: {} });
  expect(refused.json()).toMatchObject({ code: 'strong_confirmation_required' });
  const paid = await customer.client.request({ method: 'POST', url: `/v1/wallet/qr/${order.codeId}/pay`, body: { pin: PIN } });
  expect(paid.json()).toMatchObject({ status: 'COMPLETED', amount: '15000' });
  expect(await balance()).toBe(String(18_000 - 900 - 15_000));
});
