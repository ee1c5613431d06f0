/**
 * Across modules, through their public HTTP surfaces: a customer who signed up (identity) shows a
 * payment code minted on their session (payments via src/wiring.ts), a till charges it over the
 * signed merchant API, the money moves in the ledger, the customer's feed says so at once, and after
 * the wallet is frozen the next payment fails and moves nothing.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { Koban } from '../../src/koban.ts';
import { createApiCredential, type IssuedCredential } from '../../src/merchants/credentials.ts';
import { computeOpaAuthHeader } from '../../src/merchants/opa/signature.ts';
import { PLATFORM_ACCOUNTS } from '../../src/ledger/platform-accounts.ts';
import { Ledgers, TransferCodes } from '../../src/ledger/types.ts';
import { uuidv7 } from '../../src/platform/ids.ts';
import { expectLedgerConsistent } from '../ledger/fixtures.ts';
import { messagesTo, PUBLIC_URL, signUp, type Customer } from '../identity/support.ts';
import { createTestMerchant, type TestMerchant } from '../payments/merchant-fixtures.ts';
import { startTestKoban } from '../support/koban.ts';

let env: Awaited<ReturnType<typeof startTestKoban>>;
let koban: Koban;
let merchant: TestMerchant;
let credential: IssuedCredential;
let customer: Customer;

beforeAll(async () => {
  env = await startTestKoban({ env: { KOBAN_PUBLIC_URL: PUBLIC_URL, KOBAN_OPA_PORT: '0' } });
  koban = env.koban;
  await koban.payments.opa.app.ready();
  merchant = await createTestMerchant(koban.db, koban.ledger);
  credential = await createApiCredential(koban.db, koban.payments.box, { merchantId: merchant.merchantId });
  customer = await signUp(koban);
});
afterAll(async () => {
  await expectLedgerConsistent(koban.db);
  await env.close();
});

async function walletOf(customerId: string): Promise<string> {
  const result = await koban.db.pool.query<{ account_id: string }>('select account_id from customer_wallets where customer_id = $1', [customerId]);
  const accountId = result.rows[0]?.account_id;
  if (accountId === undefined) throw new Error('no wallet');
  return accountId;
}

async function mintCode(): Promise<string> {
  const response = await customer.client.request({ method: 'POST', url: '/v1/wallet/payment-codes', body: {} });
  expect(response.statusCode, response.body).toBe(200);
  return (response.json() as { code: string }).code;
}

async function charge(code: string, amount: number) {
  const body = JSON.stringify({ merchantPaymentId: `order-${randomBytes(6).toString('hex')}`, code, amount: { amount, currency: 'JPY' }, storeId: merchant.storeId, terminalId: merchant.terminalIds[0] });
  const authorization = computeOpaAuthHeader({
    apiKey: credential.apiKey, apiSecret: credential.apiSecret, method: 'POST', path: '/v2/till/payments',
    nonce: randomBytes(8).toString('hex'), epochSec: Math.floor(Date.now() / 1000), contentType: 'application/json', body,
  });
  const response = await koban.payments.opa.app.inject({ method: 'POST', url: '/v2/till/payments', headers: { authorization, 'content-type': 'application/json' }, payload: body });
  return response.json() as { resultInfo: { code: string; message: string }; data: { status: string } | null };
}

it('a signed-up customer pays at a till with a code from their session, and sees it in their feed', async () => {
  const code = await mintCode(); // the first mint creates the wallet
  const wallet = await walletOf(customer.customerId);
  await koban.ledger.createTransfers([{ id: uuidv7(), debitAccountId: PLATFORM_ACCOUNTS.cardClearing, creditAccountId: wallet, amount: 5_000n, pendingId: null, ledger: Ledgers.JPY, code: TransferCodes.topUp, flags: 0, timeoutSeconds: 0, reference: 'test funding' }]);
  const paid = await charge(code, 1_200);
  expect(paid.resultInfo.code).toBe('SUCCESS');
  expect(paid.data?.status).toBe('COMPLETED');
  const account = await koban.ledger.getAccount(wallet);
  expect((account?.creditsPosted ?? 0n) - (account?.debitsPosted ?? 0n)).toBe(3_800n);
  await expect.poll(async () => (await customer.client.request({ method: 'GET', url: '/v1/customer/notifications' })).body, { timeout: 10_000 }).toContain('1,200');
  // …and by e-mail to the verified address, through the notifications outbox.
  await expect.poll(async () => (await messagesTo(koban, customer.email)).map((m) => m.body).join('\n'), { timeout: 10_000 }).toContain('Paid ¥1,200');
});

it('the same code cannot be charged twice, and a session-less caller cannot mint', async () => {
  const code = await mintCode();
  expect((await charge(code, 100)).resultInfo.code).toBe('SUCCESS');
  expect((await charge(code, 100)).resultInfo.code).toBe('PAYMENT_CODE_ALREADY_USED');
  const anonymous = await koban.app.inject({ method: 'POST', url: '/v1/wallet/payment-codes', payload: {} });
  expect(anonymous.statusCode).toBe(401);
});

it('after the wallet is frozen the next payment fails and moves nothing', async () => {
  const wallet = await walletOf(customer.customerId);
  const code = await mintCode();
  await koban.ledger.setAccountStatus(wallet, 'frozen');
  const before = await koban.ledger.getAccount(wallet);
  // Refused as frozen, with the one code every surface uses for it (payments/outcomes.ts), not for any other reason.
  expect((await charge(code, 100)).resultInfo).toMatchObject({ code: 'WALLET_FROZEN' });
  expect(await koban.ledger.getAccount(wallet)).toMatchObject({ debitsPosted: before?.debitsPosted, debitsPending: before?.debitsPending });
});
