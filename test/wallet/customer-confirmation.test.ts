/**
 * A payment that waits for its customer (issues 13 and 14), through the real identity, risk engine, ledger and
 * OPA listener on PostgreSQL: a till charging a customer-presented code above KOBAN_TILL_CONFIRMATION_ABOVE
 * (¥10,000), or one the risk engine challenges (above the account's budget, a new device…), moves no money
 * until the customer confirms in the wallet; a thief on a fresh sign-in cannot confirm what risk asked a
 * strong confirmation for, even knowing the PIN.
 */
import { randomBytes } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { computeOpaAuthHeader } from '../../src/merchants/opa/signature.ts';
import { createApiCredential } from '../../src/merchants/credentials.ts';
import { PLATFORM_ACCOUNTS } from '../../src/ledger/platform-accounts.ts';
import { Ledgers, TransferCodes } from '../../src/ledger/types.ts';
import { buildStaticQrPayload } from '../../src/payments/emvco.ts';
import { uuidv7 } from '../../src/platform/ids.ts';
import { lastCode, messagesTo, newClient, stepUpByPasskey, stepUpBySms, type Client, type Customer } from '../identity/support.ts';
import { createSoftAuthenticator, type SoftAuthenticator } from '../../src/drill/soft-authenticator.ts';
import { createTestMerchant, type TestMerchant } from '../payments/merchant-fixtures.ts';
import { balanceOf, customerWithPin, expectLedgerVerifies, PIN, startWalletEnv, type WalletEnv } from './support.ts';

let w: WalletEnv;
let merchant: TestMerchant;
let credential: { apiKey: string; apiSecret: string };

beforeAll(async () => {
  w = await startWalletEnv();
  await w.koban.payments.opa.app.ready();
  merchant = await createTestMerchant(w.db, w.koban.ledger, 'Koban Mart');
  credential = await createApiCredential(w.db, w.koban.payments.box, { merchantId: merchant.merchantId });
});
afterAll(async () => {
  await expectLedgerVerifies(w.db);
  await w.close();
});

async function fund(customer: Customer, amountMinor: bigint): Promise<void> {
  await customer.client.request({ method: 'POST', url: '/v1/wallet/payment-codes', body: {} }); // creates the wallet
  const wallet = (await w.db.pool.query<{ account_id: string }>('select account_id from customer_wallets where customer_id = $1', [customer.customerId])).rows[0]?.account_id ?? '';
  await w.koban.ledger.createTransfers([{ id: uuidv7(), debitAccountId: PLATFORM_ACCOUNTS.cardClearing, creditAccountId: wallet, amount: amountMinor, pendingId: null, ledger: Ledgers.JPY, code: TransferCodes.topUp, flags: 0, timeoutSeconds: 0, reference: 'test funding' }]);
}

/**
 * A customer of some weeks: the phone remembered (and seen by risk) long ago and, unless `history` is false,
 * ¥20,000 spent on each of the last 30 days (a day's budget of ¥60,000).
 */
async function establishedCustomer(balanceMinor: bigint, options: { history?: boolean } = {}): Promise<Customer> {
  const customer = await customerWithPin(w.koban);
  await fund(customer, balanceMinor);
  await w.db.pool.query(`update devices set created_at = now() - interval '40 days' where customer_id = $1`, [customer.customerId]);
  await w.db.pool.query(`update risk_links set first_seen = now() - interval '40 days' where account_id = $1`, [customer.customerId]);
  await w.db.pool.query(`update customer_contacts set verified_at = now() - interval '40 days' where customer_id = $1`, [customer.customerId]);
  if (options.history !== false) {
    const nowSec = Math.floor(Date.now() / 1000);
    for (let day = 1; day <= 30; day++) {
      await w.db.pool.query('insert into risk_counters (key, bucket, shard, count, amount_minor) values ($1, $2, 0, 1, 20000)',
        [`acct:${customer.customerId}:spend|86400`, Math.floor((nowSec - day * 86_400) / 86_400) * 86_400]);
    }
  }
  return customer;
}

async function codeOf(client: Client): Promise<string> {
  const minted = await client.request({ method: 'POST', url: '/v1/wallet/payment-codes', body: {} });
  expect(minted.statusCode, minted.body).toBe(200);
  return (minted.json() as { code: string }).code;
}

interface TillAnswer { statusCode: number; code: string; status: string | null; paymentId: string | null }

async function charge(code: string, amount: number, merchantPaymentId = `till-${randomBytes(6).toString('hex')}`): Promise<TillAnswer & { merchantPaymentId: string }> {
  const body = JSON.stringify({ merchantPaymentId, code, amount: { amount, currency: 'JPY' }, storeId: merchant.storeId, terminalId: merchant.terminalIds[0] });
  const authorization = computeOpaAuthHeader({
    apiKey: credential.apiKey, apiSecret: credential.apiSecret, method: 'POST', path: '/v2/till/payments',
    nonce: randomBytes(8).toString('hex'), epochSec: Math.floor(Date.now() / 1000), contentType: 'application/json', body,
  });
  const response = await w.koban.payments.opa.app.inject({ method: 'POST', url: '/v2/till/payments', headers: { authorization, 'content-type': 'application/json' }, payload: body });
  const json = response.json() as { resultInfo: { code: string }; data: { status: string; paymentId: string } | null };
  return { statusCode: response.statusCode, code: json.resultInfo.code, status: json.data?.status ?? null, paymentId: json.data?.paymentId ?? null, merchantPaymentId };
}

const waiting = async (client: Client) => ((await client.request({ method: 'GET', url: '/v1/wallet/confirmations' })).json() as { confirmations: Array<{ paymentId: string; amount: string; strength: string; merchantName: string }> }).confirmations;
const confirm = (client: Client, paymentId: string, pin = PIN, emailCode?: string) =>
  client.request({ method: 'POST', url: `/v1/wallet/confirmations/${paymentId}/confirm`, body: { pin, ...(emailCode === undefined ? {} : { emailCode }) } });
const sendEmailCode = (client: Client, paymentId: string) => client.request({ method: 'POST', url: `/v1/wallet/confirmations/${paymentId}/email-code`, body: {} });

/** The owner releases a strong hold without a passkey: the PIN, plus the code e-mailed to their address. */
async function confirmWithEmailCode(customer: Customer, paymentId: string) {
  const sent = await sendEmailCode(customer.client, paymentId);
  expect(sent.statusCode, sent.body).toBe(202);
  return confirm(customer.client, paymentId, PIN, await lastCode(w.koban, customer.email));
}

const storeQr = () => buildStaticQrPayload({ merchantId: merchant.merchantId, storeId: merchant.storeId, categoryCode: '5411', merchantName: 'Koban Mart', merchantCity: 'Chiyoda-ku', postalCode: '100-0001' });
const payStoreQr = (client: Client, amount: string, key = `qr-${randomBytes(6).toString('hex')}`, pin?: string) =>
  client.request({ method: 'POST', url: '/v1/wallet/static-qr/pay', body: { payload: storeQr(), amount, idempotencyKey: key, ...(pin === undefined ? {} : { pin }) } });

/** The thief: the victim's password and an SMS code (a SIM swap), on a device of their own. */
async function thiefSignsIn(victim: Customer): Promise<Client> {
  const thief = newClient(w.koban, `203.0.113.${Math.floor(Math.random() * 250)}`);
  const login = await thief.request({ method: 'POST', url: '/v1/customer/login', body: { identifier: victim.email, password: victim.password } });
  const { challengeId } = login.json() as { challengeId: string };
  await thief.request({ method: 'POST', url: '/v1/customer/login/second-factor/sms', body: { challengeId } });
  const done = await thief.request({ method: 'POST', url: '/v1/customer/login/second-factor', body: { challengeId, method: 'sms', code: await lastCode(w.koban, victim.phone) } });
  expect(done.json()).toMatchObject({ status: 'signed_in' });
  return thief;
}

describe('customer confirmation of customer-presented codes (issue 14)', () => {
  it('a store typing a large amount on a customer code moves nothing until the customer confirms on the phone; every retry answers the wait, then the outcome', async () => {
    const customer = await establishedCustomer(30_000n);
    const first = await charge(await codeOf(customer.client), 12_000);
    expect(first).toMatchObject({ statusCode: 202, code: 'REQUEST_ACCEPTED', status: 'CREATED' });
    expect(await balanceOf(w, customer.customerId)).toBe(30_000n);
    const list = await waiting(customer.client);
    expect(list).toMatchObject([{ paymentId: first.paymentId, amount: '12000', strength: 'pin', merchantName: 'Koban Mart' }]);

    const wrongPin = await confirm(customer.client, first.paymentId ?? '', '111111');
    expect(wrongPin.json()).toMatchObject({ code: 'pin_wrong' });
    expect(await balanceOf(w, customer.customerId)).toBe(30_000n);
    const confirmed = await confirm(customer.client, first.paymentId ?? '');
    expect(confirmed.json()).toMatchObject({ status: 'COMPLETED', amount: '12000' });
    expect(await balanceOf(w, customer.customerId)).toBe(18_000n);
    // The confirmation is spent: a second confirm answers the payment, nothing moves twice.
    expect((await confirm(customer.client, first.paymentId ?? '')).json()).toMatchObject({ status: 'COMPLETED' });
    expect(await balanceOf(w, customer.customerId)).toBe(18_000n);
    expect(await waiting(customer.client)).toEqual([]);
  });

  it('a retry of the till call with the same request answers the same wait, then COMPLETED', async () => {
    const customer = await establishedCustomer(30_000n);
    const code = await codeOf(customer.client);
    const first = await charge(code, 15_000);
    expect(first.code).toBe('REQUEST_ACCEPTED');
    const again = await charge(code, 15_000, first.merchantPaymentId);
    expect(again).toMatchObject({ statusCode: 202, code: 'REQUEST_ACCEPTED', status: 'CREATED', paymentId: first.paymentId });
    await confirm(customer.client, first.paymentId ?? '');
    expect(await charge(code, 15_000, first.merchantPaymentId)).toMatchObject({ statusCode: 200, code: 'SUCCESS', status: 'COMPLETED', paymentId: first.paymentId });
    expect(await balanceOf(w, customer.customerId)).toBe(15_000n);
  });

  it('the customer declines: the till hears USER_DECLINED, no money moved, the merchant gets payment.failed', async () => {
    const customer = await establishedCustomer(30_000n);
    const code = await codeOf(customer.client);
    const first = await charge(code, 20_000);
    const declined = await customer.client.request({ method: 'POST', url: `/v1/wallet/confirmations/${first.paymentId}/decline`, body: {} });
    expect(declined.json()).toMatchObject({ status: 'FAILED' });
    expect(await charge(code, 20_000, first.merchantPaymentId)).toMatchObject({ statusCode: 400, code: 'USER_DECLINED' });
    expect(await balanceOf(w, customer.customerId)).toBe(30_000n);
    const events = await w.db.pool.query(`select 1 from webhook_events where merchant_id = $1 and type = 'payment.failed' and body::text like $2`, [merchant.merchantId, `%${first.merchantPaymentId}%`]);
    expect(events.rowCount).toBe(1);
    // Confirming after the decline changes nothing.
    expect((await confirm(customer.client, first.paymentId ?? '')).json()).toMatchObject({ status: 'FAILED' });
    expect(await balanceOf(w, customer.customerId)).toBe(30_000n);
  });

  it('an unanswered confirmation expires: EXPIRED_USER_CONFIRMATION, nothing moved', async () => {
    const customer = await establishedCustomer(30_000n);
    const code = await codeOf(customer.client);
    const first = await charge(code, 11_000);
    await w.db.pool.query(`update payment_confirmations set expires_at = now() - interval '1 second' where payment_id = $1`, [first.paymentId]);
    await w.koban.payments.payments.runMaintenance();
    expect(await charge(code, 11_000, first.merchantPaymentId)).toMatchObject({ code: 'EXPIRED_USER_CONFIRMATION' });
    expect(await waiting(customer.client)).toEqual([]);
    expect(await balanceOf(w, customer.customerId)).toBe(30_000n);
  });

  it('another customer cannot see, confirm or decline someone else\'s waiting payment', async () => {
    const customer = await establishedCustomer(30_000n);
    const stranger = await establishedCustomer(1_000n);
    const first = await charge(await codeOf(customer.client), 12_000);
    expect(await waiting(stranger.client)).toEqual([]);
    expect((await confirm(stranger.client, first.paymentId ?? '')).json()).toMatchObject({ code: 'confirmation_not_found' });
    expect((await stranger.client.request({ method: 'POST', url: `/v1/wallet/confirmations/${first.paymentId}/decline`, body: {} })).json()).toMatchObject({ code: 'confirmation_not_found' });
    expect(await balanceOf(w, customer.customerId)).toBe(30_000n);
  });

  it('small payments are not held', async () => {
    const customer = await establishedCustomer(30_000n);
    expect(await charge(await codeOf(customer.client), 800)).toMatchObject({ statusCode: 200, code: 'SUCCESS', status: 'COMPLETED' });
  });
});

describe('the account budget against a stolen account (issue 13)', () => {
  it('a thief with a fresh sign-in on a new device cannot spend beyond the account budget: payments wait for a strong confirmation the thief cannot give, even with the PIN', async () => {
    const victim = await establishedCustomer(40_000n);
    const thief = await thiefSignsIn(victim);
    // A new device on an established account: even a small till payment waits for a strong confirmation.
    const held = await charge(await codeOf(thief), 5_000);
    expect(held).toMatchObject({ statusCode: 202, code: 'REQUEST_ACCEPTED', status: 'CREATED' });
    expect((await waiting(thief))[0]).toMatchObject({ strength: 'strong' });
    const byThief = await confirm(thief, held.paymentId ?? '');
    expect(byThief.statusCode).toBe(403);
    expect(byThief.json()).toMatchObject({ code: 'confirmation_needs_established_device' });
    // A QR payment from the thief's device waits too, PIN or not, and the thief cannot release it.
    const qr = await thief.request({ method: 'POST', url: '/v1/wallet/static-qr/pay', body: { payload: storeQr(), amount: '4000', idempotencyKey: `thief-${randomBytes(4).toString('hex')}`, pin: PIN } });
    expect(qr.statusCode).toBe(202);
    expect(qr.json()).toMatchObject({ status: 'CREATED' });
    expect((await confirm(thief, qr.json().paymentId)).json()).toMatchObject({ code: 'confirmation_needs_established_device' });
    // Another fresh sign-in restores nothing.
    const again = await thiefSignsIn(victim);
    expect(await charge(await codeOf(again), 5_000)).toMatchObject({ code: 'REQUEST_ACCEPTED' });
    expect(await balanceOf(w, victim.customerId)).toBe(40_000n);
    // The victim sees what waits on the phone they have had for days, and releases or declines it.
    expect((await waiting(victim.client)).length).toBe(3);
    expect((await victim.client.request({ method: 'POST', url: `/v1/wallet/confirmations/${held.paymentId}/decline`, body: {} })).json()).toMatchObject({ status: 'FAILED' });
    const risk = await w.db.pool.query<{ ip: string | null; reasons: Array<{ rule: string }> }>(`select ip, reasons from risk_events where kind = 'payment' and account_id = $1 and decision = 'challenge'`, [victim.customerId]);
    expect(risk.rows.length).toBeGreaterThanOrEqual(2);
    expect(risk.rows.every((row) => row.ip !== null && row.ip.startsWith('203.0.113.'))).toBe(true);
    expect(risk.rows.flatMap((row) => row.reasons.map((r) => r.rule))).toContain('unusual_context');
  });

  it('on the customer\'s own established phone, spending past the budget waits for the PIN there plus the code e-mailed to them, and the phone releases it', async () => {
    const customer = await establishedCustomer(60_000n, { history: false });
    for (let i = 0; i < 2; i++) expect((await charge(await codeOf(customer.client), 5_000)).code).toBe('SUCCESS');
    const over = await charge(await codeOf(customer.client), 5_000); // ¥15,000 within the hour: above the ¥10,000 default
    expect(over.code).toBe('REQUEST_ACCEPTED');
    const paymentId = over.paymentId ?? '';
    expect((await waiting(customer.client))[0]).toMatchObject({ strength: 'strong' });
    expect((await confirm(customer.client, paymentId)).json()).toMatchObject({ code: 'email_code_required' });
    const sent = await sendEmailCode(customer.client, paymentId);
    expect(sent.statusCode, sent.body).toBe(202);
    expect(sent.json().sentTo).not.toBe(customer.email); // masked
    const mail = (await messagesTo(w.koban, customer.email)).find((m) => m.kind === 'payment_confirmation_code');
    expect(mail?.body).toContain('¥5,000');
    expect(await balanceOf(w, customer.customerId)).toBe(50_000n);
    expect((await confirm(customer.client, paymentId, PIN, await lastCode(w.koban, customer.email))).json()).toMatchObject({ status: 'COMPLETED' });
    expect(await balanceOf(w, customer.customerId)).toBe(45_000n);
  });
});

describe('malware on the customer\'s own phone, without a passkey (issue 13: the PIN plus a factor the thief is unlikely to hold)', () => {
  it('malware holding the session, the phone and the PIN cannot release what risk held: the PIN alone, and guessed codes, move nothing', async () => {
    const victim = await establishedCustomer(60_000n, { history: false });
    for (let i = 0; i < 2; i++) expect((await charge(await codeOf(victim.client), 5_000)).code).toBe('SUCCESS');
    const held = await charge(await codeOf(victim.client), 5_000);
    expect(held.code).toBe('REQUEST_ACCEPTED');
    const paymentId = held.paymentId ?? '';
    // The malware is the victim's own client: same cookie, same device, the PIN it watched being typed.
    expect((await confirm(victim.client, paymentId)).json()).toMatchObject({ code: 'email_code_required' });
    expect((await confirm(victim.client, paymentId)).json()).toMatchObject({ code: 'email_code_required' });
    // The wallet never sends the PIN alone for such a hold: the scripted request is an operator's alert, once per window.
    const signals = await w.db.pool.query(`select 1 from risk_events where account_id = $1::text and kind = 'security_signal' and decision = 'review' and reasons->0->>'rule' = 'held_payment_pin_only'`, [victim.customerId]);
    expect(signals.rowCount).toBe(1);
    // It may ask for the code, but the code goes to the mailbox, and guessing spends the code's tries.
    expect((await sendEmailCode(victim.client, paymentId)).statusCode).toBe(202);
    const right = await lastCode(w.koban, victim.email);
    const wrong = right === '000000' ? '111111' : '000000';
    for (let i = 0; i < 5; i++) expect((await confirm(victim.client, paymentId, PIN, wrong)).json()).toMatchObject({ code: 'email_code_wrong' });
    // After five wrong tries even the right code is refused: the hold stays until it expires or is declined.
    expect((await confirm(victim.client, paymentId, PIN, right)).json()).toMatchObject({ code: 'email_code_wrong' });
    expect(await balanceOf(w, victim.customerId)).toBe(50_000n);
    // A QR payment with the PIN typed in is held the same way: the PIN is no strong confirmation by itself.
    const qr = await payStoreQr(victim.client, '5000', undefined, PIN);
    expect(qr.statusCode, qr.body).toBe(202);
    expect((await confirm(victim.client, qr.json().paymentId)).json()).toMatchObject({ code: 'email_code_required' });
    expect(await balanceOf(w, victim.customerId)).toBe(50_000n);
  });

  it('a code is never sent to an address changed within the last day (a SIM swapper\'s e-mail change): only a passkey releases the hold', async () => {
    const customer = await establishedCustomer(60_000n, { history: false });
    await w.db.pool.query(`update customer_contacts set verified_at = now() - interval '2 hours' where customer_id = $1 and kind = 'email'`, [customer.customerId]);
    for (let i = 0; i < 2; i++) expect((await charge(await codeOf(customer.client), 5_000)).code).toBe('SUCCESS');
    const held = await charge(await codeOf(customer.client), 5_000);
    const paymentId = held.paymentId ?? '';
    const sent = await sendEmailCode(customer.client, paymentId);
    expect(sent.statusCode).toBe(409);
    expect(sent.json()).toMatchObject({ code: 'email_confirmation_unavailable' });
    expect((await messagesTo(w.koban, customer.email)).some((m) => m.kind === 'payment_confirmation_code')).toBe(false);
    expect(await balanceOf(w, customer.customerId)).toBe(50_000n);
  });

  it('a payment that needs only the PIN (the till\'s amount) gets no e-mailed code, and another customer\'s payment none either', async () => {
    const customer = await establishedCustomer(30_000n);
    const large = await charge(await codeOf(customer.client), 12_000);
    expect((await waiting(customer.client))[0]).toMatchObject({ strength: 'pin' });
    expect((await sendEmailCode(customer.client, large.paymentId ?? '')).json()).toMatchObject({ code: 'email_code_not_needed' });
    const stranger = await establishedCustomer(1_000n);
    expect((await sendEmailCode(stranger.client, large.paymentId ?? '')).json()).toMatchObject({ code: 'confirmation_not_found' });
    expect((await confirm(customer.client, large.paymentId ?? '')).json()).toMatchObject({ status: 'COMPLETED' });
  });
});

describe('the hold for QR payments (issue 13)', () => {
  it('a challenged store-QR payment waits instead of being refused: nothing moves, a retry answers the same wait, the owner\'s phone releases it', async () => {
    const customer = await establishedCustomer(60_000n, { history: false });
    for (let i = 0; i < 2; i++) expect((await payStoreQr(customer.client, '5000')).json()).toMatchObject({ status: 'COMPLETED' });
    const key = `qr-${randomBytes(6).toString('hex')}`;
    const held = await payStoreQr(customer.client, '5000', key); // ¥15,000 within the hour: above the default budget
    expect(held.statusCode, held.body).toBe(202);
    expect(held.json()).toMatchObject({ status: 'CREATED', amount: '5000' });
    const paymentId = held.json().paymentId as string;
    expect(await balanceOf(w, customer.customerId)).toBe(50_000n);
    const retry = await payStoreQr(customer.client, '5000', key);
    expect(retry.statusCode).toBe(202);
    expect(retry.json()).toMatchObject({ paymentId, status: 'CREATED' });
    expect(await waiting(customer.client)).toMatchObject([{ paymentId, strength: 'strong', amount: '5000' }]);
    expect((await confirmWithEmailCode(customer, paymentId)).json()).toMatchObject({ status: 'COMPLETED' });
    expect(await balanceOf(w, customer.customerId)).toBe(45_000n);
    const again = await payStoreQr(customer.client, '5000', key);
    expect(again.statusCode).toBe(200);
    expect(again.json()).toMatchObject({ paymentId, status: 'COMPLETED' });
  });

  it('a challenged order-QR payment held for one customer cannot be taken by another, and the holder\'s decline fails it with nothing moved', async () => {
    const victim = await establishedCustomer(40_000n);
    const thief = await thiefSignsIn(victim);
    const order = await w.koban.payments.payments.createDynamicQr({ merchantId: merchant.merchantId, merchantPaymentId: `order-${randomBytes(4).toString('hex')}`, amountMinor: 6_000n, orderDescription: null, storeId: merchant.storeId, terminalId: null, requestedAt: null });
    const held = await thief.request({ method: 'POST', url: `/v1/wallet/qr/${order.codeId}/pay`, body: { pin: PIN } });
    expect(held.statusCode, held.body).toBe(202);
    expect(held.json()).toMatchObject({ status: 'CREATED' });
    const tapAgain = await thief.request({ method: 'POST', url: `/v1/wallet/qr/${order.codeId}/pay`, body: {} });
    expect(tapAgain.statusCode).toBe(202);
    const other = await establishedCustomer(10_000n);
    expect((await other.client.request({ method: 'POST', url: `/v1/wallet/qr/${order.codeId}/pay`, body: {} })).json()).toMatchObject({ code: 'payment_in_progress' });
    expect((await confirm(thief, held.json().paymentId)).json()).toMatchObject({ code: 'confirmation_needs_established_device' });
    const declined = await victim.client.request({ method: 'POST', url: `/v1/wallet/confirmations/${held.json().paymentId}/decline`, body: {} });
    expect(declined.json()).toMatchObject({ status: 'FAILED' });
    expect(await balanceOf(w, victim.customerId)).toBe(40_000n);
    expect(await balanceOf(w, other.customerId)).toBe(10_000n);
  });

  it('an unanswered QR hold expires and moves nothing', async () => {
    const victim = await establishedCustomer(30_000n);
    const thief = await thiefSignsIn(victim);
    const held = await payStoreQr(thief, '3000');
    expect(held.statusCode).toBe(202);
    await w.db.pool.query(`update payment_confirmations set expires_at = now() - interval '1 second' where payment_id = $1`, [held.json().paymentId]);
    await w.koban.payments.payments.runMaintenance();
    const row = await w.db.pool.query<{ status: string; failure_code: string }>('select status, failure_code from payments where id = $1', [held.json().paymentId]);
    expect(row.rows[0]).toEqual({ status: 'FAILED', failure_code: 'customer_confirmation_expired' });
    expect(await balanceOf(w, victim.customerId)).toBe(30_000n);
  });
});

/** Registers a passkey (a soft authenticator: real P-256, user verification) for the customer. */
async function enrolPasskey(customer: Customer): Promise<SoftAuthenticator> {
  const authenticator = createSoftAuthenticator('https://koban.test');
  const grant = await stepUpBySms(w.koban, customer, 'change_factors', { factor: 'passkey' });
  const options = await customer.client.request({ method: 'POST', url: '/v1/customer/passkeys/registration/options', body: {}, headers: { 'x-step-up-grant': grant } });
  expect(options.statusCode, options.body).toBe(200);
  const { challengeId, options: creation } = options.json();
  const done = await customer.client.request({ method: 'POST', url: '/v1/customer/passkeys/registration', body: { webauthnChallengeId: challengeId, credential: authenticator.register(creation), name: 'Own phone' } });
  expect(done.statusCode, done.body).toBe(201);
  return authenticator;
}

const confirmWithGrant = (client: Client, paymentId: string, grant: string) =>
  client.request({ method: 'POST', url: `/v1/wallet/confirmations/${paymentId}/confirm`, body: {}, headers: { 'x-step-up-grant': grant } });

describe('a passkey as strong confirmation (issue 13)', () => {
  it('the customer on a new phone releases a held QR payment with a passkey bound to its id and amount; the PIN there, SMS, another amount or another payment, or no user verification do not', async () => {
    const customer = await establishedCustomer(40_000n);
    const authenticator = await enrolPasskey(customer);
    await stopPayingWithPasskey(customer, authenticator); // pays as before: risk's hold, released with the passkey
    const newPhone = { ...customer, client: await thiefSignsIn(customer) };
    const held = await payStoreQr(newPhone.client, '4000');
    expect(held.statusCode, held.body).toBe(202);
    const paymentId = held.json().paymentId as string;
    expect((await confirm(newPhone.client, paymentId)).json()).toMatchObject({ code: 'confirmation_needs_established_device' });
    // Only a passkey is offered for this action: an SMS code is what a SIM swap hands a thief.
    const started = await newPhone.client.request({ method: 'POST', url: '/v1/customer/step-up', body: { action: 'confirm_payment', params: { paymentId, amountMinor: 4000 } } });
    expect(started.json().methods).toEqual(['passkey']);
    const sms = await newPhone.client.request({ method: 'POST', url: `/v1/customer/step-up/${started.json().stepUpId}/sms`, body: {} });
    expect(sms.statusCode).toBe(403);
    const other = await payStoreQr(newPhone.client, '3000');
    expect(other.statusCode).toBe(202);
    const forOtherAmount = await stepUpByPasskey(newPhone, (options) => authenticator.assert(options), 'confirm_payment', { paymentId, amountMinor: 400 });
    expect((await confirmWithGrant(newPhone.client, paymentId, forOtherAmount)).json()).toMatchObject({ code: 'step_up_required' });
    const forOtherPayment = await stepUpByPasskey(newPhone, (options) => authenticator.assert(options), 'confirm_payment', { paymentId: other.json().paymentId, amountMinor: 3000 });
    expect((await confirmWithGrant(newPhone.client, paymentId, forOtherPayment)).json()).toMatchObject({ code: 'step_up_required' });
    await expect(stepUpByPasskey(newPhone, (options) => authenticator.assert(options, { userVerified: false }), 'confirm_payment', { paymentId, amountMinor: 4000 })).rejects.toThrow(/step-up verify failed/);
    expect(await balanceOf(w, customer.customerId)).toBe(40_000n);
    const grant = await stepUpByPasskey(newPhone, (options) => authenticator.assert(options), 'confirm_payment', { paymentId, amountMinor: 4000 });
    const released = await confirmWithGrant(newPhone.client, paymentId, grant);
    expect(released.json()).toMatchObject({ paymentId, status: 'COMPLETED' });
    expect(await balanceOf(w, customer.customerId)).toBe(36_000n);
    // The grant was single use: it does not release the other held payment, even replayed for it.
    expect((await confirmWithGrant(newPhone.client, other.json().paymentId, grant)).json()).toMatchObject({ code: 'step_up_required' });
  });

  it('a thief with the session and the PIN but not the passkey cannot release what risk held', async () => {
    const victim = await establishedCustomer(30_000n);
    await stopPayingWithPasskey(victim, await enrolPasskey(victim));
    const thief = await thiefSignsIn(victim);
    const held = await payStoreQr(thief, '5000', undefined, PIN);
    expect(held.statusCode).toBe(202);
    expect((await confirm(thief, held.json().paymentId)).json()).toMatchObject({ code: 'confirmation_needs_established_device' });
    // The SIM-swapped SMS does not stand in for the passkey.
    await expect(stepUpBySms(w.koban, { ...victim, client: thief }, 'confirm_payment', { paymentId: held.json().paymentId, amountMinor: 5000 })).rejects.toThrow(/step-up verify failed/);
    expect(await balanceOf(w, victim.customerId)).toBe(30_000n);
  });
});

/** The customer turns paying with the passkey off: only the passkey itself may (step-up change_factors). */
async function stopPayingWithPasskey(customer: Customer, authenticator: SoftAuthenticator): Promise<void> {
  const grant = await stepUpByPasskey(customer, (options) => authenticator.assert(options), 'change_factors', { factor: 'payment_passkey' });
  const off = await customer.client.request({ method: 'PUT', url: '/v1/customer/payment-passkey', body: { enabled: false }, headers: { 'x-step-up-grant': grant } });
  expect(off.statusCode, off.body).toBe(200);
}

const payProof = (customer: Customer, authenticator: SoftAuthenticator, params: Record<string, string | number>) =>
  stepUpByPasskey(customer, (options) => authenticator.assert(options), 'pay', params);
const mint = (client: Client, grant?: string) =>
  client.request({ method: 'POST', url: '/v1/wallet/payment-codes', body: {}, headers: grant === undefined ? {} : { 'x-step-up-grant': grant } });
const missingPasskeySignals = async (customerId: string) => Number((await w.db.pool.query<{ n: string }>(
  `select count(*) as n from risk_events where account_id = $1::text and kind = 'security_signal' and decision = 'review' and reasons->0->>'rule' = 'payment_passkey_missing'`, [customerId])).rows[0]?.n);

describe('a customer who has a passkey pays with it: malware on their own phone cannot pay (issue 13)', () => {
  it('malware holding the session, the device key and the PIN cannot mint a payment code; the owner mints with the passkey, one code per proof', async () => {
    const victim = await establishedCustomer(30_000n);
    const authenticator = await enrolPasskey(victim);
    expect((await victim.client.request({ method: 'GET', url: '/v1/customer/factors' })).json()).toMatchObject({ passkeys: 1, paysWithPasskey: true });
    // The malware is the victim's own browser: same cookie, same device key, same network.
    const refused = await mint(victim.client);
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toMatchObject({ code: 'payment_passkey_required' });
    expect(await missingPasskeySignals(victim.customerId)).toBe(1);
    // A script retrying is one alert in the window, not one per try.
    expect((await mint(victim.client)).statusCode).toBe(403);
    expect(await missingPasskeySignals(victim.customerId)).toBe(1);
    // An SMS code (what a SIM swap gives) is not offered for a payment.
    const started = await victim.client.request({ method: 'POST', url: '/v1/customer/step-up', body: { action: 'pay', params: { method: 'code' } } });
    expect(started.json().methods).toEqual(['passkey']);
    await expect(stepUpByPasskey(victim, (options) => authenticator.assert(options, { userVerified: false }), 'pay', { method: 'code' })).rejects.toThrow(/step-up verify failed/);

    const grant = await payProof(victim, authenticator, { method: 'code' });
    const minted = await mint(victim.client, grant);
    expect(minted.statusCode, minted.body).toBe(200);
    // The proof is single use: replayed, it mints nothing.
    expect((await mint(victim.client, grant)).json()).toMatchObject({ code: 'payment_passkey_required' });
    const paid = await charge(minted.json().code, 1_000);
    expect(paid).toMatchObject({ statusCode: 200, code: 'SUCCESS', status: 'COMPLETED' });
    expect(await balanceOf(w, victim.customerId)).toBe(29_000n);
  });

  it('malware cannot pay an order or store QR with the PIN; a passkey proof for another amount does not pay either; the right one pays at once, nothing held', async () => {
    const victim = await establishedCustomer(30_000n, { history: false });
    const authenticator = await enrolPasskey(victim);
    const withPin = await payStoreQr(victim.client, '5000', undefined, PIN);
    expect(withPin.statusCode).toBe(403);
    expect(withPin.json()).toMatchObject({ code: 'payment_passkey_required' });
    const forLess = await payProof(victim, authenticator, { method: 'store_qr', amountMinor: 500 });
    const wrongAmount = await victim.client.request({ method: 'POST', url: '/v1/wallet/static-qr/pay', headers: { 'x-step-up-grant': forLess },
      body: { payload: storeQr(), amount: '5000', idempotencyKey: `qr-${randomBytes(6).toString('hex')}` } });
    expect(wrongAmount.json()).toMatchObject({ code: 'payment_passkey_required' });
    expect(await balanceOf(w, victim.customerId)).toBe(30_000n);

    // ¥12,000 would be held for a strong confirmation on a budget of a newcomer's: the passkey is that confirmation.
    const proof = await payProof(victim, authenticator, { method: 'store_qr', amountMinor: 12_000 });
    const paid = await victim.client.request({ method: 'POST', url: '/v1/wallet/static-qr/pay', headers: { 'x-step-up-grant': proof },
      body: { payload: storeQr(), amount: '12000', idempotencyKey: `qr-${randomBytes(6).toString('hex')}` } });
    expect(paid.statusCode, paid.body).toBe(200);
    expect(paid.json()).toMatchObject({ status: 'COMPLETED', amount: '12000' });
    expect(await balanceOf(w, victim.customerId)).toBe(18_000n);
  });

  it('a till charge that waits for the customer is released with the passkey, never with the PIN malware watched being typed', async () => {
    const victim = await establishedCustomer(30_000n);
    const authenticator = await enrolPasskey(victim);
    const minted = await mint(victim.client, await payProof(victim, authenticator, { method: 'code' }));
    const held = await charge(minted.json().code, 12_000);
    expect(held).toMatchObject({ statusCode: 202, code: 'REQUEST_ACCEPTED' });
    const paymentId = held.paymentId ?? '';
    const pinRelease = await confirm(victim.client, paymentId);
    expect(pinRelease.statusCode).toBe(403);
    expect(pinRelease.json()).toMatchObject({ code: 'payment_passkey_required' });
    expect(await balanceOf(w, victim.customerId)).toBe(30_000n);
    const grant = await stepUpByPasskey(victim, (options) => authenticator.assert(options), 'confirm_payment', { paymentId, amountMinor: 12_000 });
    expect((await confirmWithGrant(victim.client, paymentId, grant)).json()).toMatchObject({ paymentId, status: 'COMPLETED' });
    expect(await balanceOf(w, victim.customerId)).toBe(18_000n);
  });

  it('a customer on a new phone, proving the code with their (synced) passkey, is not held where risk challenges the new phone: the proof is the strong confirmation', async () => {
    const customer = await establishedCustomer(30_000n);
    const authenticator = await enrolPasskey(customer);
    const newPhone = { ...customer, client: await thiefSignsIn(customer) };
    const minted = await mint(newPhone.client, await payProof(newPhone, authenticator, { method: 'code' }));
    expect(minted.statusCode, minted.body).toBe(200);
    const paid = await charge(minted.json().code, 3_000);
    expect(paid).toMatchObject({ statusCode: 200, code: 'SUCCESS', status: 'COMPLETED' });
    expect(await balanceOf(w, customer.customerId)).toBe(27_000n);
    // Risk saw the challenge and recorded it as met by the passkey (no hold, no case).
    const decision = await w.db.pool.query<{ decision: string; reasons: Array<{ rule: string; message: string }> }>(
      `select decision, reasons from risk_events where kind = 'payment' and event_ref = $1`, [paid.paymentId]);
    expect(decision.rows[0]?.decision).toBe('allow');
    expect(decision.rows[0]?.reasons.some((reason) => reason.rule === 'unusual_context' && /met: confirmed with the customer's passkey/.test(reason.message))).toBe(true);
  });

  it('malware cannot turn paying with a passkey off (it takes the passkey itself); the owner can, every contact is told, and removing the last passkey ends it too', async () => {
    const victim = await establishedCustomer(30_000n);
    const authenticator = await enrolPasskey(victim);
    const bare = await victim.client.request({ method: 'PUT', url: '/v1/customer/payment-passkey', body: { enabled: false } });
    expect(bare.json()).toMatchObject({ code: 'step_up_required' });
    await expect(stepUpBySms(w.koban, victim, 'change_factors', { factor: 'payment_passkey' })).rejects.toThrow(/step-up verify failed|step-up/);
    expect((await mint(victim.client)).statusCode).toBe(403);

    await stopPayingWithPasskey(victim, authenticator);
    const told = await w.db.pool.query(`select 1 from outbox_messages where kind = 'security_alert' and recipient = $1 and (subject like '%no longer need your passkey%' or subject like '%パスキーが不要%')`, [victim.email]);
    expect(told.rowCount).toBe(1);
    expect((await mint(victim.client)).statusCode).toBe(200);
    const on = await victim.client.request({ method: 'PUT', url: '/v1/customer/payment-passkey', body: { enabled: true } });
    expect(on.statusCode, on.body).toBe(200);
    expect((await mint(victim.client)).statusCode).toBe(403);

    const [passkey] = (await victim.client.request({ method: 'GET', url: '/v1/customer/passkeys' })).json().passkeys as Array<{ id: string }>;
    const removal = await stepUpByPasskey(victim, (options) => authenticator.assert(options), 'change_factors', { factor: 'passkey', passkeyId: passkey?.id ?? '' });
    expect((await victim.client.request({ method: 'DELETE', url: `/v1/customer/passkeys/${passkey?.id}`, headers: { 'x-step-up-grant': removal } })).statusCode).toBe(200);
    expect((await mint(victim.client)).statusCode).toBe(200);
    // With no passkey left there is nothing to pay with: turning it on is refused.
    expect((await victim.client.request({ method: 'PUT', url: '/v1/customer/payment-passkey', body: { enabled: true } })).json()).toMatchObject({ code: 'payment_passkey_unavailable' });
  });
});
