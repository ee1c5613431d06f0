/**
 * The whole customer and merchant journey on the embedded PGlite database (`npm start`'s default), through
 * Koban's HTTP surfaces with the real sandbox acquirer and bank: sign-up with codes from the development
 * outbox, a charge PIN, a card top-up through 3-D Secure, a bank account and a top-up by direct debit, a code
 * charged by the till app and by the signed till API, a store QR, an order QR, a refund, a cancel, freezing
 * the wallet and recovering the account. PGlite has one connection, so any request whose transaction reaches
 * the pool waits on itself for ever: every step is bounded, so such a hang fails here with the step's name
 * instead of stalling the run (the first top-up hung so until the transaction guard).
 */
import { randomBytes } from 'node:crypto';
import type { LightMyRequestResponse } from 'fastify';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { createApiCredential, type IssuedCredential } from '../../src/merchants/credentials.ts';
import { buildStaticQrPayload } from '../../src/payments/emvco.ts';
import { lastCode, newClient, type Client, type Customer } from '../identity/support.ts';
import { createTestMerchant, type TestMerchant } from '../payments/merchant-fixtures.ts';
import { signedHeaders } from '../payments/support.ts';
import { testBackend } from '../support/database.ts';
import {
  answerChallenge, bankSource, CARDS, cardSource, customerWithPin, expectLedgerVerifies, startWalletEnv, topUp, type WalletEnv,
} from '../wallet/support.ts';

/** Generous: a step takes a second or two even on a busy machine; one that waits on itself never ends. */
const STEP_BOUND_MS = 60_000;

let w: WalletEnv;
let merchant: TestMerchant;
let credential: IssuedCredential;

async function step<T>(what: string, work: () => Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const bound = new Promise<never>((_resolve, reject) => {
    timer = setTimeout(() => reject(new Error(`${what}: no answer within ${STEP_BOUND_MS / 1000} s (a transaction waiting on the pool of its own database?)`)), STEP_BOUND_MS);
  });
  try {
    return await Promise.race([work(), bound]);
  } finally {
    clearTimeout(timer);
  }
}

function ok(response: LightMyRequestResponse, what: string): Record<string, unknown> {
  expect(response.statusCode, `${what}: ${response.body}`).toBeLessThan(300);
  return response.json() as Record<string, unknown>;
}

beforeAll(async () => {
  expect(testBackend()).toBe('pglite');
  w = await step('start Koban on PGlite', () => startWalletEnv({ KOBAN_OPA_PORT: '0' }));
  await w.koban.payments.opa.app.ready();
  merchant = await createTestMerchant(w.db, w.koban.ledger, 'Journey Mart');
  credential = await createApiCredential(w.db, w.koban.payments.box, { merchantId: merchant.merchantId });
}, 120_000);
afterAll(async () => {
  if (w === undefined) return;
  await step('verify the ledger', () => expectLedgerVerifies(w.db));
  await step('stop Koban', () => w.close());
}, 120_000);

const orderId = (): string => `journey-${randomBytes(6).toString('hex')}`;

async function balance(customer: Customer): Promise<{ balance: string; status: string }> {
  return ok(await customer.client.request({ method: 'GET', url: '/v1/wallet/summary' }), 'summary') as { balance: string; status: string };
}

async function mintCode(customer: Customer): Promise<string> {
  return ok(await customer.client.request({ method: 'POST', url: '/v1/wallet/payment-codes', body: {} }), 'mint a payment code')['code'] as string;
}

async function activateTill(terminalId: string): Promise<Client> {
  const { code } = await w.koban.payments.terminals.issueActivationCode(terminalId, 'journey test');
  const till = newClient(w.koban, '203.0.113.77');
  ok(await till.request({ method: 'POST', url: '/v1/till/activate', body: { code } }), 'activate the till');
  return till;
}

async function signedTillCharge(code: string, amount: number): Promise<Record<string, unknown>> {
  const { headers, payload } = signedHeaders({
    method: 'POST', url: '/v2/till/payments',
    body: { merchantPaymentId: orderId(), code, amount: { amount, currency: 'JPY' }, storeId: merchant.storeId, terminalId: merchant.terminalIds[1] },
  }, credential);
  const response = await w.koban.payments.opa.app.inject({ method: 'POST', url: '/v2/till/payments', headers, ...(payload === undefined ? {} : { payload }) });
  return response.json() as Record<string, unknown>;
}

it('a customer signs up, tops up by card (3-D Secure) and bank, pays by code, store QR and order QR; the merchant refunds and cancels; the customer freezes and recovers', async () => {
  // Sign-up (both codes from the development outbox) and a charge PIN.
  const customer = await step('sign up and set a PIN', () => customerWithPin(w.koban));

  // A card that the issuer always challenges: the top-up waits for 3-D Secure, then credits once.
  const card = await step('add a card', () => cardSource(w.koban, customer, CARDS.threeDs));
  const started = ok(await step('start the first top-up', () => topUp(w.koban, customer, card, 20_000)), 'card top-up');
  expect(started).toMatchObject({ status: 'requires_action', threeDSecure: true });
  expect((await step('answer 3-D Secure', () => answerChallenge(started['challengeUrl'] as string))).status).toBe(200);
  const back = await step('return from 3-D Secure', () => w.koban.app.inject({ method: 'GET', url: `/v1/top-ups/${started['topUpId'] as string}/3ds-return` }));
  expect(back.json()).toEqual({ topUpId: started['topUpId'], status: 'completed' });
  expect(await balance(customer)).toMatchObject({ balance: '20000', status: 'active' });

  // A bank account confirmed with the bank's own code, and a top-up by direct debit.
  const bank = await step('add a bank account', () => bankSource(w, customer));
  expect(ok(await step('top up from the bank', () => topUp(w.koban, customer, bank, 10_000)), 'bank top-up')).toMatchObject({ status: 'completed', kind: 'bank' });
  expect((await balance(customer)).balance).toBe('30000');

  // Pay by code at the till app, and at a till on the signed merchant API.
  const till = await step('activate a till', () => activateTill(merchant.terminalIds[0] as string));
  const soldId = orderId();
  const sold = ok(await step('charge a code at the till', async () => till.request({ method: 'POST', url: '/v1/till/charges', body: { merchantPaymentId: soldId, code: await mintCode(customer), amount: '1200' } })), 'till charge');
  expect(sold).toMatchObject({ status: 'COMPLETED', amount: '1200' });
  const signed = await step('charge a code on the signed till API', async () => signedTillCharge(await mintCode(customer), 700));
  expect(signed).toMatchObject({ resultInfo: { code: 'SUCCESS' }, data: { status: 'COMPLETED' } });

  // The store's printed QR: the customer types the amount.
  const storeQr = buildStaticQrPayload({ merchantId: merchant.merchantId, storeId: merchant.storeId, categoryCode: '5411', merchantName: 'Journey Mart', merchantCity: 'Chiyoda-ku', postalCode: '100-0001' });
  ok(await step('preview the store QR', () => customer.client.request({ method: 'POST', url: '/v1/wallet/static-qr/preview', body: { payload: storeQr } })), 'store QR preview');
  const storePaid = ok(await step('pay the store QR', () => customer.client.request({ method: 'POST', url: '/v1/wallet/static-qr/pay', body: { payload: storeQr, amount: '800', idempotencyKey: 'journey-store-0001' } })), 'store QR');
  expect(storePaid).toMatchObject({ status: 'COMPLETED', amount: '800' });

  // The till's order QR: the customer scans it and pays; the till sees the order paid.
  const orderedId = orderId();
  const order = ok(await step('create an order QR', () => till.request({ method: 'POST', url: '/v1/till/orders', body: { merchantPaymentId: orderedId, amount: '500' } })), 'order QR');
  expect(order['state']).toBe('WAITING');
  ok(await step('preview the order QR', () => customer.client.request({ method: 'GET', url: `/v1/wallet/qr/${order['codeId'] as string}` })), 'order preview');
  ok(await step('pay the order QR', () => customer.client.request({ method: 'POST', url: `/v1/wallet/qr/${order['codeId'] as string}/pay`, body: {} })), 'order pay');
  expect(ok(await step('poll the order', () => till.request({ method: 'GET', url: `/v1/till/orders/${orderedId}` })), 'order poll')).toMatchObject({ state: 'COMPLETED' });
  expect((await balance(customer)).balance).toBe(String(30_000 - 1_200 - 700 - 800 - 500));

  // The merchant refunds part of the till sale and cancels the order.
  const refunded = ok(await step('refund at the till', () => till.request({ method: 'POST', url: `/v1/till/payments/${soldId}/refunds`, body: { merchantRefundId: orderId(), amount: '200', reason: 'one item returned' } })), 'refund');
  expect(refunded).toMatchObject({ refund: { status: 'REFUNDED', amount: '200' } });
  const canceled = ok(await step('cancel at the till', () => till.request({ method: 'POST', url: `/v1/till/payments/${orderedId}/cancel`, body: { reason: 'keyed twice' } })), 'cancel');
  expect(canceled).toMatchObject({ status: 'CANCELED' });
  const afterMerchant = 30_000 - 1_200 - 700 - 800 - 500 + 200 + 500;
  expect((await balance(customer)).balance).toBe(String(afterMerchant));
  const sales = ok(await step('read the day\'s sales', () => till.request({ method: 'GET', url: '/v1/till/sales' })), 'sales');
  expect((sales['payments'] as unknown[]).length).toBe(2);

  // "Freeze my account": paying stops at once, the money stays.
  const frozenCode = await step('mint a code before freezing', () => mintCode(customer));
  ok(await step('freeze the wallet', () => customer.client.request({ method: 'POST', url: '/v1/customer/freeze', body: {} })), 'freeze');
  expect(await balance(customer)).toMatchObject({ balance: String(afterMerchant), status: 'frozen' });
  const refused = await step('charge a frozen wallet', () => till.request({ method: 'POST', url: '/v1/till/charges', body: { merchantPaymentId: orderId(), code: frozenCode, amount: '100' } }));
  expect(refused.json()).toMatchObject({ code: 'wallet_frozen' });

  // Recovery to the verified contacts only, then sign-in with the new password and an SMS code.
  const stranger = newClient(w.koban, '198.51.100.201');
  const recovery = ok(await step('start recovery', () => stranger.request({ method: 'POST', url: '/v1/customer/recovery', body: { identifier: customer.email } })), 'recovery');
  const newPassword = 'a new lantern on the river';
  ok(await step('complete recovery', async () => stranger.request({ method: 'POST', url: '/v1/customer/recovery/complete', body: {
    recoveryId: recovery['recoveryId'], smsCode: await lastCode(w.koban, customer.phone), emailCode: await lastCode(w.koban, customer.email), newPassword,
  } })), 'recovery complete');
  const login = ok(await step('sign in with the new password', () => stranger.request({ method: 'POST', url: '/v1/customer/login', body: { identifier: customer.email, password: newPassword } })), 'login');
  expect(login['status']).toBe('second_factor_required');
  ok(await step('ask for the SMS code', () => stranger.request({ method: 'POST', url: '/v1/customer/login/second-factor/sms', body: { challengeId: login['challengeId'] } })), 'sms');
  const signedIn = ok(await step('answer the SMS code', async () => stranger.request({ method: 'POST', url: '/v1/customer/login/second-factor', body: {
    challengeId: login['challengeId'], method: 'sms', code: await lastCode(w.koban, customer.phone),
  } })), 'second factor');
  expect(signedIn).toMatchObject({ status: 'signed_in', customerId: customer.customerId });
  const summary = ok(await step('read the wallet after recovery', () => stranger.request({ method: 'GET', url: '/v1/wallet/summary' })), 'summary after recovery');
  expect(summary).toMatchObject({ balance: String(afterMerchant), status: 'frozen' });
}, 300_000);
