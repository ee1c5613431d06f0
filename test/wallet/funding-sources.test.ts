// Adding cards and bank accounts: step-up, cool-down, cards per account, CVV attempt limits, PCI (no PAN, no CVV).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { signUp, stepUpBySms } from '../identity/support.ts';
import { addCard, bankBody, bankOtp, CARDS, cardBody, customerWithPin, expectLedgerVerifies, startWalletEnv, type WalletEnv } from './support.ts';

let w: WalletEnv;
beforeAll(async () => {
  w = await startWalletEnv();
});
afterAll(async () => {
  if (w !== undefined) await expectLedgerVerifies(w.db);
  await w?.close();
});

describe('cards', () => {
  it('keeps only the token, brand, last 4, expiry, fingerprint and 3-D Secure capability: never the number or CVV', async () => {
    const customer = await signUp(w.koban);
    const response = await addCard(w.koban, customer, CARDS.visa, '987');
    expect(response.statusCode).toBe(201);
    expect(response.json()).toMatchObject({ kind: 'card', status: 'active', card: { brand: 'visa', last4: '4242', expMonth: 12, expYear: 2031, threeDSecure: 'optional', threeDSecureVerified: false } });
    expect(response.body).not.toContain(CARDS.visa);
    const stored = JSON.stringify((await w.db.pool.query('select * from funding_sources where customer_id = $1', [customer.customerId])).rows);
    expect(stored).not.toContain(CARDS.visa);
    expect(stored).not.toContain('987');
    expect(stored).toContain('tok_');
  });

  it('refuses to add a card without a step-up, or with a step-up for another card', async () => {
    const customer = await signUp(w.koban);
    const none = await customer.client.request({ method: 'POST', url: '/v1/customer/funding-sources/cards', body: cardBody(CARDS.visa) });
    expect(none.json().code).toBe('step_up_required');
    const grant = await stepUpBySms(w.koban, customer, 'add_funding_source', { kind: 'card', last4: '4444' });
    const other = await customer.client.request({ method: 'POST', url: '/v1/customer/funding-sources/cards', body: cardBody(CARDS.visa), headers: { 'x-step-up-grant': grant } });
    expect(other.json().code).toBe('step_up_required');
    expect((await w.db.pool.query('select count(*)::int as n from funding_sources where customer_id = $1', [customer.customerId])).rows[0].n).toBe(0);
  });

  it('refuses to add a funding source during the recovery cool-down', async () => {
    const customer = await signUp(w.koban);
    await w.db.pool.query(`update customers set recovery_cooldown_until = now() + interval '1 hour' where id = $1`, [customer.customerId]);
    expect((await addCard(w.koban, customer, CARDS.visa)).json().code).toBe('recovery_cooldown');
  });

  it('caps the cards per account and refuses the same card twice', async () => {
    const customer = await signUp(w.koban);
    for (const number of [CARDS.visa, CARDS.mastercard, CARDS.jcb]) expect((await addCard(w.koban, customer, number)).statusCode).toBe(201);
    const fourth = await addCard(w.koban, customer, CARDS.amex);
    expect(fourth.statusCode).toBe(409);
    expect(fourth.json()).toMatchObject({ code: 'funding_source_limit_reached', max: 3 });
    const list = await customer.client.request({ method: 'GET', url: '/v1/customer/funding-sources' });
    const visa = list.json().fundingSources.find((s: { card: { last4: string } }) => s.card.last4 === '4242');
    expect((await customer.client.request({ method: 'DELETE', url: `/v1/customer/funding-sources/${visa.fundingSourceId}` })).statusCode).toBe(200);
    expect((await addCard(w.koban, customer, CARDS.mastercard)).json().code).toBe('funding_source_exists');
  });

  it('stops CVV guessing: each guess costs a step-up, and three wrong CVVs in a day block further attempts', async () => {
    const customer = await signUp(w.koban);
    for (let i = 0; i < 2; i++) expect((await addCard(w.koban, customer, CARDS.mastercard, '000')).json()).toMatchObject({ code: 'card_rejected', reason: 'incorrect_cvc' });
    // The acquirer blocks the card at its own third failure; Koban's counter then refuses any further try, right CVV or not.
    expect((await addCard(w.koban, customer, CARDS.mastercard, '000')).json().code).toBe('card_rejected');
    const after = await addCard(w.koban, customer, CARDS.visa, '123');
    expect(after.statusCode).toBe(429);
    expect(after.json().code).toBe('card_attempts_exceeded');
  });

  it('records one card fingerprint seen on several accounts for the risk engine', async () => {
    const first = await signUp(w.koban);
    const second = await signUp(w.koban);
    // Amex is registered nowhere else in this file.
    expect((await addCard(w.koban, first, CARDS.amex)).statusCode).toBe(201);
    expect((await addCard(w.koban, second, CARDS.amex)).statusCode).toBe(201);
    const fingerprint = (await w.db.pool.query('select card_fingerprint from funding_sources where customer_id = $1', [first.customerId])).rows[0].card_fingerprint;
    const seen = await w.db.pool.query('select customer_id from card_fingerprint_sightings where fingerprint = $1', [fingerprint]);
    expect(seen.rows.map((r) => r.customer_id).sort()).toEqual([first.customerId, second.customerId].sort());
  });
});

describe('bank accounts', () => {
  it('activates a mandate only with the bank\'s own code, relayed by the customer', async () => {
    const customer = await customerWithPin(w.koban);
    const grant = await stepUpBySms(w.koban, customer, 'add_funding_source', { kind: 'bank', last4: '4567' });
    const added = await customer.client.request({ method: 'POST', url: '/v1/customer/funding-sources/bank-accounts', body: bankBody(), headers: { 'x-step-up-grant': grant } });
    expect(added.json()).toMatchObject({ status: 'pending_confirmation', bankAccount: { accountNumberLast4: '4567' } });
    expect(added.body).not.toContain('1234567');
    const id = added.json().fundingSourceId;
    const code = await bankOtp(w, id);
    const wrong = await customer.client.request({ method: 'POST', url: `/v1/customer/funding-sources/${id}/confirm`, body: { code: code === '000000' ? '111111' : '000000' } });
    expect(wrong.json().code).toBe('bank_code_incorrect');
    const right = await customer.client.request({ method: 'POST', url: `/v1/customer/funding-sources/${id}/confirm`, body: { code } });
    expect(right.json()).toMatchObject({ status: 'active' });
    // A pending or failed mandate cannot fund a top-up; another customer cannot confirm it.
    const other = await signUp(w.koban);
    expect((await other.client.request({ method: 'POST', url: `/v1/customer/funding-sources/${id}/confirm`, body: { code } })).json().code).toBe('funding_source_not_found');
  });

  it('refuses an account the bank does not know', async () => {
    const customer = await signUp(w.koban);
    const grant = await stepUpBySms(w.koban, customer, 'add_funding_source', { kind: 'bank', last4: '9999' });
    const added = await customer.client.request({ method: 'POST', url: '/v1/customer/funding-sources/bank-accounts', body: bankBody('1239999'), headers: { 'x-step-up-grant': grant } });
    expect(added.json()).toMatchObject({ code: 'bank_account_rejected', reason: 'account_not_found' });
  });
});
