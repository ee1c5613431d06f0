/**
 * Fixtures for the console tests (API and browser): a signed-up customer with a funded wallet, a
 * merchant with an API credential, and a payment made the real way (a code minted on the customer's
 * session, charged by a till over the signed merchant API).
 */
import { randomBytes } from 'node:crypto';
import { expect } from 'vitest';
import type { Koban } from '../../src/koban.ts';
import { createApiCredential, type IssuedCredential } from '../../src/merchants/credentials.ts';
import { computeOpaAuthHeader } from '../../src/merchants/opa/signature.ts';
import { PLATFORM_ACCOUNTS } from '../../src/ledger/platform-accounts.ts';
import { requireTransferCreated } from '../../src/ledger/ledger.ts';
import { Ledgers, TransferCodes } from '../../src/ledger/types.ts';
import { uuidv7 } from '../../src/platform/ids.ts';
import { signUp, type Customer } from '../identity/support.ts';
import { createTestMerchant, type TestMerchant } from '../payments/merchant-fixtures.ts';

export interface ShopFixture { readonly merchant: TestMerchant; readonly credential: IssuedCredential }

export async function createShop(koban: Koban, name?: string): Promise<ShopFixture> {
  await koban.payments.opa.app.ready();
  const merchant = await createTestMerchant(koban.db, koban.ledger, name);
  const credential = await createApiCredential(koban.db, koban.payments.box, { merchantId: merchant.merchantId });
  return { merchant, credential };
}

export async function walletOf(koban: Koban, customerId: string): Promise<string> {
  const result = await koban.db.pool.query<{ account_id: string }>('select account_id from customer_wallets where customer_id = $1', [customerId]);
  const accountId = result.rows[0]?.account_id;
  if (accountId === undefined) throw new Error('no wallet');
  return accountId;
}

export async function mintCode(customer: Customer): Promise<string> {
  const response = await customer.client.request({ method: 'POST', url: '/v1/wallet/payment-codes', body: {} });
  expect(response.statusCode, response.body).toBe(200);
  return (response.json() as { code: string }).code;
}

/** A signed-up customer whose wallet holds `balance` yen (a top-up transfer from card clearing). */
export async function fundedCustomer(koban: Koban, balance: bigint): Promise<Customer & { wallet: string; topUpTransferId: string }> {
  const customer = await signUp(koban);
  await mintCode(customer); // the first mint creates the wallet
  const wallet = await walletOf(koban, customer.customerId);
  const topUpTransferId = uuidv7();
  requireTransferCreated(await koban.ledger.createTransfers([{ id: topUpTransferId, debitAccountId: PLATFORM_ACCOUNTS.cardClearing, creditAccountId: wallet, amount: balance,
    pendingId: null, ledger: Ledgers.JPY, code: TransferCodes.topUp, flags: 0, timeoutSeconds: 0, reference: 'test funding' }]));
  return { ...customer, wallet, topUpTransferId };
}

export interface ChargeResult { readonly resultInfo: { code: string; message: string }; readonly data: { status: string; paymentId?: string } | null; readonly merchantPaymentId: string }

export async function charge(koban: Koban, shop: ShopFixture, code: string, amount: number): Promise<ChargeResult> {
  const merchantPaymentId = `order-${randomBytes(6).toString('hex')}`;
  const body = JSON.stringify({ merchantPaymentId, code, amount: { amount, currency: 'JPY' }, storeId: shop.merchant.storeId, terminalId: shop.merchant.terminalIds[0] });
  const authorization = computeOpaAuthHeader({
    apiKey: shop.credential.apiKey, apiSecret: shop.credential.apiSecret, method: 'POST', path: '/v2/till/payments',
    nonce: randomBytes(8).toString('hex'), epochSec: Math.floor(Date.now() / 1000), contentType: 'application/json', body,
  });
  const response = await koban.payments.opa.app.inject({ method: 'POST', url: '/v2/till/payments', headers: { authorization, 'content-type': 'application/json' }, payload: body });
  return { ...(response.json() as Omit<ChargeResult, 'merchantPaymentId'>), merchantPaymentId };
}

/** Mints a fresh code and pays `amount` at the shop's first till. */
export async function pay(koban: Koban, shop: ShopFixture, customer: Customer, amount: number): Promise<ChargeResult> {
  return charge(koban, shop, await mintCode(customer), amount);
}
