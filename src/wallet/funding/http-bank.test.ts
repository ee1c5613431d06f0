// Drives the sandbox bank, started on a real port, through Koban's HTTP adapter.
import { randomUUID } from 'node:crypto';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { buildBank } from '../../../sandbox/bank/app.ts';
import type { SandboxApp } from '../../../sandbox/shared/server.ts';
import { startWebhookReceiver } from '../../../sandbox/shared/test-receiver.ts';
import type { WebhookReceiver } from '../../../sandbox/shared/test-receiver.ts';
import type { BankAccountDetails, Mandate } from './bank.ts';
import { HttpBankRail } from './http-bank.ts';
import type { ProviderError, ProviderResult } from './provider-result.ts';
import { verifyWebhookSignature } from './webhook-signature.ts';

const API_KEY = 'sk_test_bank_0123456789abcd';
const TEST_API_KEY = 'test_bank_key_0123456789ab';
const WEBHOOK_SECRET = 'whsec_bank_0123456789abcdef';
const START_MS = Date.parse('2030-01-15T00:00:00Z');

const key = (): string => `idem-${randomUUID()}`;
const account = (accountNumber: string): BankAccountDetails => ({
  bankCode: '0001', branchCode: '123', accountType: 'ordinary', accountNumber, holderNameKana: 'コバン タロウ',
});

function unwrap<T>(result: ProviderResult<T>): T {
  if (!result.ok) throw new Error(`expected success, got ${JSON.stringify(result.error)}`);
  return result.value;
}

function rejected<T>(result: ProviderResult<T>): Extract<ProviderError, { kind: 'rejected' }> {
  if (result.ok || result.error.kind !== 'rejected') throw new Error(`expected a rejection, got ${JSON.stringify(result)}`);
  return result.error;
}

let nowMs: number;
let app: SandboxApp;
let baseUrl: string;
let receiver: WebhookReceiver;
let responseBodies: string[];
let bank: HttpBankRail;

const recordingFetch: typeof fetch = async (input, init) => {
  const response = await fetch(input, init);
  responseBodies.push(await response.clone().text());
  return response;
};

beforeEach(async () => {
  nowMs = START_MS;
  receiver = await startWebhookReceiver();
  app = buildBank({
    apiKey: API_KEY, testApiKey: TEST_API_KEY, webhookSecret: WEBHOOK_SECRET, webhookUrl: receiver.url, now: () => nowMs,
    payoutSettleDelayMs: 0, webhookRetry: { baseDelayMs: 10 },
  });
  baseUrl = await app.listen({ port: 0, host: '127.0.0.1' });
  responseBodies = [];
  bank = new HttpBankRail({ baseUrl, apiKey: API_KEY, fetch: recordingFetch });
});

afterEach(async () => {
  await app.close();
  await receiver.close();
});

/** Plays the account holder reading the bank's SMS. */
async function bankOtp(mandateId: string): Promise<string> {
  const response = await fetch(`${baseUrl}/v1/test/mandates/${mandateId}/otp`, { headers: { authorization: `Bearer ${TEST_API_KEY}` } });
  expect(response.status).toBe(200);
  const body = await response.json() as { code: string };
  return body.code;
}

async function activeMandate(accountNumber: string): Promise<Mandate> {
  const mandate = unwrap(await bank.createMandate({ ...account(accountNumber), idempotencyKey: key() }));
  return unwrap(await bank.confirmMandate({ mandateId: mandate.id, code: await bankOtp(mandate.id), idempotencyKey: key() }));
}

describe('direct-debit mandates', () => {
  it('creates a mandate pending confirmation and never returns the bank\'s one-time code', async () => {
    const mandate = unwrap(await bank.createMandate({ ...account('1234567'), idempotencyKey: key() }));
    expect(mandate).toMatchObject({
      status: 'pending_confirmation', bankCode: '0001', branchCode: '123', accountNumberLast4: '4567', otpAttemptsRemaining: 3,
      otpExpiresAtMs: START_MS + 10 * 60 * 1000, failureCode: null,
    });
    const code = await bankOtp(mandate.id);
    expect(code).toMatch(/^[0-9]{6}$/);
    unwrap(await bank.getMandate(mandate.id));
    for (const body of responseBodies) expect(body).not.toContain(code);
  });

  it('activates with the code the bank sent and sends a signed webhook', async () => {
    const mandate = await activeMandate('1234567');
    expect(mandate.status).toBe('active');
    await receiver.waitFor((list) => list.some((hook) => hook.event.type === 'mandate_activated'));
    const hook = receiver.received.find((entry) => entry.event.type === 'mandate_activated');
    expect(hook?.event.data).toMatchObject({ id: mandate.id, status: 'active' });
    expect(verifyWebhookSignature({ header: hook?.signature, rawBody: hook?.rawBody ?? '', secret: WEBHOOK_SECRET, nowSec: Math.floor(nowMs / 1000) }).status).toBe('ok');
  });

  it('fails the mandate after three wrong codes (OTP guessing lockout)', async () => {
    const mandate = unwrap(await bank.createMandate({ ...account('1234567'), idempotencyKey: key() }));
    const right = await bankOtp(mandate.id);
    const wrong = right === '000000' ? '111111' : '000000';
    expect(rejected(await bank.confirmMandate({ mandateId: mandate.id, code: wrong, idempotencyKey: key() })).code).toBe('incorrect_otp');
    expect(rejected(await bank.confirmMandate({ mandateId: mandate.id, code: wrong, idempotencyKey: key() })).code).toBe('incorrect_otp');
    expect(rejected(await bank.confirmMandate({ mandateId: mandate.id, code: wrong, idempotencyKey: key() })).code).toBe('otp_attempts_exceeded');
    expect(rejected(await bank.confirmMandate({ mandateId: mandate.id, code: right, idempotencyKey: key() }))).toMatchObject({ httpStatus: 409, code: 'mandate_not_pending' });
    expect(unwrap(await bank.getMandate(mandate.id))).toMatchObject({ status: 'failed', failureCode: 'otp_attempts_exceeded', otpAttemptsRemaining: 0 });
  });

  it('expires the one-time code after 10 minutes', async () => {
    const mandate = unwrap(await bank.createMandate({ ...account('1234567'), idempotencyKey: key() }));
    const code = await bankOtp(mandate.id);
    nowMs += 10 * 60 * 1000;
    expect(rejected(await bank.confirmMandate({ mandateId: mandate.id, code, idempotencyKey: key() }))).toMatchObject({ httpStatus: 410, code: 'otp_expired' });
    expect(unwrap(await bank.getMandate(mandate.id))).toMatchObject({ status: 'expired', failureCode: 'otp_expired' });
  });

  it('fails a mandate for the unknown test account (…9999) without sending a code', async () => {
    const mandate = unwrap(await bank.createMandate({ ...account('1239999'), idempotencyKey: key() }));
    expect(mandate).toMatchObject({ status: 'failed', failureCode: 'account_not_found' });
    const otp = await fetch(`${baseUrl}/v1/test/mandates/${mandate.id}/otp`, { headers: { authorization: `Bearer ${TEST_API_KEY}` } });
    expect(otp.status).toBe(409);
  });

  it('rejects a holder name that is not in kana', async () => {
    const result = await bank.createMandate({ ...account('1234567'), holderNameKana: 'Taro<script>', idempotencyKey: key() });
    expect(rejected(result)).toMatchObject({ httpStatus: 400, param: 'holderNameKana' });
  });

  it('keeps the one-time code away from a caller holding only the API key', async () => {
    const mandate = unwrap(await bank.createMandate({ ...account('1234567'), idempotencyKey: key() }));
    const response = await fetch(`${baseUrl}/v1/test/mandates/${mandate.id}/otp`, { headers: { authorization: `Bearer ${API_KEY}` } });
    expect(response.status).toBe(401);
  });
});

describe('debits', () => {
  it('debits an active mandate', async () => {
    const mandate = await activeMandate('1234567');
    const debit = unwrap(await bank.debit({ mandateId: mandate.id, amountMinor: 5_000n, reference: 'topup-1', idempotencyKey: key() }));
    expect(debit).toMatchObject({ mandateId: mandate.id, amountMinor: 5_000n, reference: 'topup-1', status: 'succeeded', failureCode: null });
    expect(unwrap(await bank.getDebit(debit.id))).toEqual(debit);
    await receiver.waitFor((list) => list.some((hook) => hook.event.type === 'debit_succeeded' && hook.event.data['id'] === debit.id));
  });

  it('refuses to debit a mandate that is not confirmed', async () => {
    const mandate = unwrap(await bank.createMandate({ ...account('1234567'), idempotencyKey: key() }));
    const result = await bank.debit({ mandateId: mandate.id, amountMinor: 5_000n, reference: 'early', idempotencyKey: key() });
    expect(rejected(result)).toMatchObject({ httpStatus: 409, code: 'mandate_not_active' });
  });

  it('fails debits from the insufficient-funds test account (…0000)', async () => {
    const mandate = await activeMandate('1230000');
    const debit = unwrap(await bank.debit({ mandateId: mandate.id, amountMinor: 5_000n, reference: 'poor', idempotencyKey: key() }));
    expect(debit).toMatchObject({ status: 'failed', failureCode: 'insufficient_funds' });
    await receiver.waitFor((list) => list.some((hook) => hook.event.type === 'debit_failed'));
  });

  it('replays a debit for the same key and refuses the same key with another amount', async () => {
    const mandate = await activeMandate('1234567');
    const idempotencyKey = key();
    const first = unwrap(await bank.debit({ mandateId: mandate.id, amountMinor: 5_000n, reference: 'once', idempotencyKey }));
    expect(unwrap(await bank.debit({ mandateId: mandate.id, amountMinor: 5_000n, reference: 'once', idempotencyKey }))).toEqual(first);
    const conflict = await bank.debit({ mandateId: mandate.id, amountMinor: 50_000n, reference: 'once', idempotencyKey });
    expect(rejected(conflict)).toMatchObject({ httpStatus: 409, code: 'idempotency_key_reused' });
  });
});

describe('payouts', () => {
  const payoutTo = (accountNumber: string) => ({
    bankCode: '0005', branchCode: '001', accountNumber, holderNameKana: 'カ)コバンショウテン', amountMinor: 120_000n, reference: 'settle-2030-01-15',
  });

  it('accepts a payout, then pays it and says so with a signed webhook', async () => {
    const payout = unwrap(await bank.payout({ ...payoutTo('7654321'), idempotencyKey: key() }));
    expect(payout).toMatchObject({ status: 'accepted', amountMinor: 120_000n, accountNumberLast4: '4321', settledAtMs: null });
    await receiver.waitFor((list) => list.some((hook) => hook.event.type === 'payout_paid' && hook.event.data['id'] === payout.id));
    const hook = receiver.received.find((entry) => entry.event.type === 'payout_paid');
    expect(verifyWebhookSignature({ header: hook?.signature, rawBody: hook?.rawBody ?? '', secret: WEBHOOK_SECRET, nowSec: Math.floor(nowMs / 1000) }).status).toBe('ok');
    expect(unwrap(await bank.getPayout(payout.id))).toMatchObject({ status: 'paid', settledAtMs: START_MS });
  });

  it('fails a payout to the closed test account (…8888) after accepting it', async () => {
    const payout = unwrap(await bank.payout({ ...payoutTo('7658888'), idempotencyKey: key() }));
    expect(payout.status).toBe('accepted');
    await receiver.waitFor((list) => list.some((hook) => hook.event.type === 'payout_failed'));
    expect(unwrap(await bank.getPayout(payout.id))).toMatchObject({ status: 'failed', failureCode: 'account_not_found' });
  });
});
