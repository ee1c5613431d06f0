// Koban on a real PostgreSQL with the real sandbox acquirer and bank on port 0. The sandboxes' webhooks go to
// recording receivers; tests forward them to Koban (raw body and signature untouched) when, how often and in
// which order they choose — which is how "twice", "late", "out of order" and "never" are staged.
import { expect } from 'vitest';
import { buildAcquirer } from '../../sandbox/acquirer/app.ts';
import { buildBank } from '../../sandbox/bank/app.ts';
import type { SandboxApp } from '../../sandbox/shared/server.ts';
import { startWebhookReceiver, type ReceivedWebhook, type WebhookReceiver } from '../../sandbox/shared/test-receiver.ts';
import type { Koban } from '../../src/koban.ts';
import { verifyLedger } from '../../src/ledger/verify.ts';
import type { Database } from '../../src/platform/db/database.ts';
import { WEBHOOK_SIGNATURE_HEADER } from '../../src/wallet/funding/webhook-signature.ts';
import { PUBLIC_URL, signUp, stepUpBySms, type Customer } from '../identity/support.ts';
import { startTestKoban } from '../support/koban.ts';
import type { Clock } from '../../src/platform/clock.ts';

export const KEYS = {
  acquirerApiKey: 'sk_test_acquirer_wallet_0001', acquirerWebhookSecret: 'whsec_test_acquirer_wallet_01', acquirerTestKey: 'test_acquirer_wallet_000001',
  bankApiKey: 'sk_test_bank_wallet_00000001', bankWebhookSecret: 'whsec_test_bank_wallet_00001', bankTestKey: 'test_bank_wallet_0000000001',
} as const;
export const PIN = '480271';
export const CARDS = {
  visa: '4242424242424242', mastercard: '5555555555554444', jcb: '3566002020360505', amex: '378282246310005',
  threeDs: '4000000000003220', threeDsDeclined: '4000008400001629', declined: '4000000000000002', insufficient: '4000000000009995',
} as const;

export interface WalletEnv {
  koban: Koban;
  db: Database;
  acquirer: SandboxApp;
  bank: SandboxApp;
  acquirerUrl: string;
  bankUrl: string;
  acquirerHooks: WebhookReceiver;
  bankHooks: WebhookReceiver;
  close(): Promise<void>;
}

export const WALLET_VELOCITY_RULES = ['shared_instrument', 'rapid_top_ups', 'account_velocity', 'card_velocity', 'new_device_high_value'] as const;
const TEST_ANALYST = { kind: 'operator' as const, id: 'op-wallet-tests' };

export async function startWalletEnv(env: Record<string, string> = {}, options: { riskRules?: 'defaults' | 'velocity_off'; clock?: Clock } = {}): Promise<WalletEnv> {
  const acquirerHooks = await startWebhookReceiver();
  const bankHooks = await startWebhookReceiver();
  const acquirer = buildAcquirer({ apiKey: KEYS.acquirerApiKey, webhookSecret: KEYS.acquirerWebhookSecret, testApiKey: KEYS.acquirerTestKey, webhookUrl: acquirerHooks.url });
  const bank = buildBank({ apiKey: KEYS.bankApiKey, webhookSecret: KEYS.bankWebhookSecret, testApiKey: KEYS.bankTestKey, webhookUrl: bankHooks.url });
  const acquirerUrl = await acquirer.listen({ port: 0, host: '127.0.0.1' });
  const bankUrl = await bank.listen({ port: 0, host: '127.0.0.1' });
  const started = await startTestKoban({ ...(options.clock === undefined ? {} : { clock: options.clock }), env: {
    KOBAN_PUBLIC_URL: PUBLIC_URL,
    KOBAN_ACQUIRER_URL: acquirerUrl, KOBAN_ACQUIRER_API_KEY: KEYS.acquirerApiKey, KOBAN_ACQUIRER_WEBHOOK_SECRET: KEYS.acquirerWebhookSecret,
    KOBAN_BANK_URL: bankUrl, KOBAN_BANK_API_KEY: KEYS.bankApiKey, KOBAN_BANK_WEBHOOK_SECRET: KEYS.bankWebhookSecret,
    KOBAN_PROVIDER_TIMEOUT_MS: '5000', KOBAN_TOPUP_RECONCILE_DELAY_MS: '0',
    ...env,
  } });
  if (options.riskRules !== 'defaults') {
    // Every test customer uses the same few sandbox cards and tops up many times a minute: these rules would
    // (rightly) refuse that. test/wallet/risk.test.ts runs with them on.
    for (const rule of WALLET_VELOCITY_RULES) await started.koban.risk.settings.updateRule(rule, { enabled: false }, TEST_ANALYST, 'isolate the wallet rules under test');
  }
  return {
    koban: started.koban, db: started.db, acquirer, bank, acquirerUrl, bankUrl, acquirerHooks, bankHooks,
    async close() {
      await started.close();
      await acquirer.close();
      await bank.close();
      await acquirerHooks.close();
      await bankHooks.close();
    },
  };
}

export async function expectLedgerVerifies(db: Database): Promise<void> {
  const report = await verifyLedger(db);
  expect(report.ok, JSON.stringify(report)).toBe(true);
}

/** A signed-up customer with a charge PIN. */
export async function customerWithPin(koban: Koban): Promise<Customer> {
  const customer = await signUp(koban);
  const grant = await stepUpBySms(koban, customer, 'change_factors', { factor: 'charge_pin' });
  const set = await customer.client.request({ method: 'PUT', url: '/v1/customer/pin', body: { pin: PIN }, headers: { 'x-step-up-grant': grant } });
  if (set.statusCode !== 200) throw new Error(`PIN not set: ${set.body}`);
  return customer;
}

export function cardBody(number: string, cvv = '123') {
  return { number, expMonth: 12, expYear: 2031, cvv, holderName: 'TARO KOBAN' };
}

export async function addCard(koban: Koban, customer: Customer, number: string, cvv = '123') {
  const grant = await stepUpBySms(koban, customer, 'add_funding_source', { kind: 'card', last4: number.slice(-4) });
  return customer.client.request({ method: 'POST', url: '/v1/customer/funding-sources/cards', body: cardBody(number, cvv), headers: { 'x-step-up-grant': grant } });
}

export async function cardSource(koban: Koban, customer: Customer, number: string): Promise<string> {
  const response = await addCard(koban, customer, number);
  if (response.statusCode !== 201) throw new Error(`card not added: ${response.body}`);
  return (response.json() as { fundingSourceId: string }).fundingSourceId;
}

export function bankBody(accountNumber = '1234567') {
  return { bankCode: '0001', branchCode: '123', accountType: 'ordinary', accountNumber, holderNameKana: 'ｺﾊﾞﾝ ﾀﾛｳ' };
}

/** Starts a mandate, reads the bank's code from the sandbox's test endpoint (standing in for the holder's SMS) and relays it. */
export async function bankSource(w: WalletEnv, customer: Customer, accountNumber = '1234567'): Promise<string> {
  const grant = await stepUpBySms(w.koban, customer, 'add_funding_source', { kind: 'bank', last4: accountNumber.slice(-4) });
  const added = await customer.client.request({ method: 'POST', url: '/v1/customer/funding-sources/bank-accounts', body: bankBody(accountNumber), headers: { 'x-step-up-grant': grant } });
  if (added.statusCode !== 201) throw new Error(`bank account not added: ${added.body}`);
  const id = (added.json() as { fundingSourceId: string }).fundingSourceId;
  const confirmed = await customer.client.request({ method: 'POST', url: `/v1/customer/funding-sources/${id}/confirm`, body: { code: await bankOtp(w, id) } });
  if (confirmed.statusCode !== 200) throw new Error(`mandate not confirmed: ${confirmed.body}`);
  return id;
}

export async function bankOtp(w: WalletEnv, fundingSourceId: string): Promise<string> {
  const row = await w.db.pool.query<{ bank_mandate_id: string }>('select bank_mandate_id from funding_sources where id = $1', [fundingSourceId]);
  const response = await fetch(`${w.bankUrl}/v1/test/mandates/${row.rows[0]?.bank_mandate_id}/otp`, { headers: { authorization: `Bearer ${KEYS.bankTestKey}` } });
  const body = await response.json() as { code?: string; otp?: string };
  const code = body.code ?? body.otp;
  if (code === undefined) throw new Error(`no bank code: ${JSON.stringify(body)}`);
  return code;
}

let keys = 0;
export function newKey(): string {
  keys++;
  return `topup-${process.pid}-${Date.now()}-${keys}`;
}

export interface TopUpOptions {
  key?: string;
  pin?: string | null;
  grant?: string | null;
  grantAmount?: number;
  threeDSecure?: boolean;
}

/** Steps up for exactly this amount and source (unless told otherwise) and posts the top-up. */
export async function topUp(koban: Koban, customer: Customer, fundingSourceId: string, amount: number, options: TopUpOptions = {}) {
  const grant = options.grant === undefined
    ? await stepUpBySms(koban, customer, 'top_up', { amountMinor: options.grantAmount ?? amount, fundingSourceId })
    : options.grant;
  const body: Record<string, unknown> = { fundingSourceId, amount: String(amount) };
  if (options.pin !== null) body['pin'] = options.pin ?? PIN;
  if (options.threeDSecure !== undefined) body['threeDSecure'] = options.threeDSecure;
  const headers: Record<string, string> = { 'idempotency-key': options.key ?? newKey() };
  if (grant !== null) headers['x-step-up-grant'] = grant;
  return customer.client.request({ method: 'POST', url: '/v1/customer/top-ups', body, headers });
}

export async function balanceOf(w: WalletEnv, customerId: string): Promise<bigint> {
  const row = await w.db.pool.query<{ account_id: string }>('select account_id from customer_wallets where customer_id = $1', [customerId]);
  const accountId = row.rows[0]?.account_id;
  if (accountId === undefined) return 0n;
  const account = await w.koban.ledger.getAccount(accountId);
  return account === null ? 0n : account.creditsPosted - account.debitsPosted;
}

export async function topUpStatus(w: WalletEnv, topUpId: string): Promise<string> {
  const row = await w.db.pool.query<{ status: string }>('select status from top_ups where id = $1', [topUpId]);
  return row.rows[0]?.status ?? 'missing';
}

/** Posts a recorded webhook to Koban exactly as the provider sent it (or with the given overrides). */
export async function deliver(koban: Koban, provider: 'acquirer' | 'bank', webhook: Pick<ReceivedWebhook, 'rawBody' | 'signature'>) {
  return koban.app.inject({
    method: 'POST', url: `/v1/webhooks/${provider}`, payload: webhook.rawBody,
    headers: { 'content-type': 'application/json', ...(webhook.signature === undefined ? {} : { [WEBHOOK_SIGNATURE_HEADER]: webhook.signature }) },
  });
}

export async function waitForEvent(receiver: WebhookReceiver, type: string, reference: string): Promise<ReceivedWebhook> {
  const match = (r: ReceivedWebhook): boolean => r.event.type === type && r.event.data['reference'] === reference;
  await receiver.waitFor((received) => received.some(match));
  const found = receiver.received.find(match);
  if (found === undefined) throw new Error('unreachable');
  return found;
}

/** Answers a 3-D Secure challenge the way the cardholder's page does, over the acquirer's JSON API. */
export async function answerChallenge(url: string, code = '123456'): Promise<Response> {
  return fetch(url, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code }) });
}

export async function feedKinds(w: WalletEnv, customerId: string): Promise<string[]> {
  const rows = await w.db.pool.query<{ kind: string }>('select kind from customer_notifications where customer_id = $1 order by created_at', [customerId]);
  return rows.rows.map((r) => r.kind);
}
