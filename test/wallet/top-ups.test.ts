// Top-ups end to end: Koban's HTTP API, identity's gate, the real sandbox acquirer and bank over HTTP, the ledger.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { stepUpBySms } from '../identity/support.ts';
import {
  answerChallenge, balanceOf, bankSource, CARDS, cardSource, customerWithPin, expectLedgerVerifies, feedKinds, newKey, PIN, startWalletEnv, topUp, topUpStatus, type WalletEnv,
} from './support.ts';

let w: WalletEnv;
beforeAll(async () => {
  w = await startWalletEnv();
});
afterAll(async () => {
  if (w !== undefined) await expectLedgerVerifies(w.db);
  await w?.close();
});

describe('card top-ups', () => {
  it('completes a card top-up without 3-D Secure: authorised, captured, credited once, customer notified', async () => {
    const customer = await customerWithPin(w.koban);
    const card = await cardSource(w.koban, customer, CARDS.visa);
    const response = await topUp(w.koban, customer, card, 3000);
    expect(response.statusCode).toBe(201);
    const body = response.json();
    expect(body).toMatchObject({ status: 'completed', amount: '3000', fundingSourceId: card, threeDSecure: false, failureCode: null });
    expect(await balanceOf(w, customer.customerId)).toBe(3000n);
    const transfer = await w.koban.ledger.lookupTransfer((await w.db.pool.query('select ledger_transfer_id from top_ups where id = $1', [body.topUpId])).rows[0].ledger_transfer_id);
    expect(transfer).toMatchObject({ state: 'created', transfer: { amount: 3000n, code: 1 } });
    expect(await feedKinds(w, customer.customerId)).toContain('top_up_completed');
    const email = await w.db.pool.query(`select body from outbox_messages where recipient = $1 and kind = 'top_up_completed'`, [customer.email]);
    expect(email.rows[0]?.body).toContain('¥3,000');
  });

  it('returns the 3-D Secure challenge, and credits only after the challenge succeeds and the browser comes back', async () => {
    const customer = await customerWithPin(w.koban);
    const card = await cardSource(w.koban, customer, CARDS.threeDs);
    const response = await topUp(w.koban, customer, card, 20_000);
    expect(response.statusCode).toBe(201);
    const started = response.json();
    expect(started).toMatchObject({ status: 'requires_action', threeDSecure: true });
    expect(started.challengeUrl).toMatch(/\/v1\/challenges\//);
    expect(await balanceOf(w, customer.customerId)).toBe(0n);
    expect((await answerChallenge(started.challengeUrl)).status).toBe(200);
    // The redirect's query string claims success; Koban asks the acquirer instead.
    const back = await w.koban.app.inject({ method: 'GET', url: `/v1/top-ups/${started.topUpId}/3ds-return?status=captured&amount=999999` });
    expect(back.json()).toEqual({ topUpId: started.topUpId, status: 'completed' });
    expect(await balanceOf(w, customer.customerId)).toBe(20_000n);
    const view = await customer.client.request({ method: 'GET', url: `/v1/customer/top-ups/${started.topUpId}` });
    expect(view.json()).toMatchObject({ status: 'completed', challengeUrl: null });
    const sources = await customer.client.request({ method: 'GET', url: '/v1/customer/funding-sources' });
    expect(sources.json().fundingSources[0].card).toMatchObject({ threeDSecure: 'required', threeDSecureVerified: true });
  });

  it('fails a 3-D Secure top-up whose challenge is answered wrongly three times, moving no money', async () => {
    const customer = await customerWithPin(w.koban);
    const card = await cardSource(w.koban, customer, CARDS.threeDs);
    const started = (await topUp(w.koban, customer, card, 1000)).json();
    for (let i = 0; i < 3; i++) await answerChallenge(started.challengeUrl, '000000');
    const back = await w.koban.app.inject({ method: 'GET', url: `/v1/top-ups/${started.topUpId}/3ds-return` });
    expect(back.json().status).toBe('failed');
    expect(await balanceOf(w, customer.customerId)).toBe(0n);
    const count = await w.db.pool.query(`select count(*)::int as n from funding_failures where customer_id = $1 and kind = 'three_ds_failed'`, [customer.customerId]);
    expect(count.rows[0].n).toBe(1);
  });

  it('stops top-ups from a card after three failed 3-D Secure challenges in a day (Koban\'s own counter)', async () => {
    const customer = await customerWithPin(w.koban);
    const card = await cardSource(w.koban, customer, CARDS.threeDs);
    for (let attempt = 0; attempt < 3; attempt++) {
      const started = (await topUp(w.koban, customer, card, 1000)).json();
      for (let i = 0; i < 3; i++) await answerChallenge(started.challengeUrl, '000000');
      await w.koban.wallet.advanceTopUp(started.topUpId);
      expect(await topUpStatus(w, started.topUpId)).toBe('failed');
    }
    const blocked = await topUp(w.koban, customer, card, 1000);
    expect(blocked.statusCode).toBe(429);
    expect(blocked.json().code).toBe('card_attempts_exceeded');
    expect(await balanceOf(w, customer.customerId)).toBe(0n);
  });

  it('fails a declined card top-up, moves no money and tells the customer', async () => {
    const customer = await customerWithPin(w.koban);
    const card = await cardSource(w.koban, customer, CARDS.declined);
    const response = await topUp(w.koban, customer, card, 2000);
    expect(response.json()).toMatchObject({ status: 'failed', failureCode: 'generic_decline' });
    expect(await balanceOf(w, customer.customerId)).toBe(0n);
    expect(await feedKinds(w, customer.customerId)).toContain('top_up_failed');
  });
});

describe('bank top-ups', () => {
  it('confirms a direct-debit mandate with the bank\'s own code and tops up by debit', async () => {
    const customer = await customerWithPin(w.koban);
    const bank = await bankSource(w, customer);
    const response = await topUp(w.koban, customer, bank, 40_000);
    expect(response.json()).toMatchObject({ status: 'completed', kind: 'bank', amount: '40000' });
    expect(await balanceOf(w, customer.customerId)).toBe(40_000n);
  });

  it('fails a debit the bank refuses (insufficient funds), moving no money', async () => {
    const customer = await customerWithPin(w.koban);
    const bank = await bankSource(w, customer, '7770000');
    const response = await topUp(w.koban, customer, bank, 1000);
    expect(response.json()).toMatchObject({ status: 'failed', failureCode: 'insufficient_funds' });
    expect(await balanceOf(w, customer.customerId)).toBe(0n);
  });
});

describe('idempotency', () => {
  it('answers a retry with the same key and body with the same top-up, crediting once', async () => {
    const customer = await customerWithPin(w.koban);
    const card = await cardSource(w.koban, customer, CARDS.mastercard);
    const key = newKey();
    const first = await topUp(w.koban, customer, card, 1500, { key });
    // The retry carries no fresh grant: the stored answer is replayed, nothing is authorised again.
    const again = await topUp(w.koban, customer, card, 1500, { key, grant: null, pin: null });
    expect(again.statusCode).toBe(200);
    expect(again.headers['idempotent-replayed']).toBe('true');
    expect(again.json()).toEqual(first.json());
    expect(await balanceOf(w, customer.customerId)).toBe(1500n);
  });

  it('answers copies of one top-up sent at once (same key, same grant) with its outcome, never step_up_required', async () => {
    const customer = await customerWithPin(w.koban);
    const card = await cardSource(w.koban, customer, CARDS.visa);
    const key = newKey();
    const grant = await stepUpBySms(w.koban, customer, 'top_up', { amountMinor: 1200, fundingSourceId: card });
    const copies = await Promise.all(Array.from({ length: 5 }, () => topUp(w.koban, customer, card, 1200, { key, grant })));
    const ids = new Set<string>();
    for (const copy of copies) {
      // The original's outcome, or the documented "still running, retry": never a refusal the original did not get.
      expect([200, 201, 409], copy.body).toContain(copy.statusCode);
      if (copy.statusCode === 409) {
        expect(copy.json().code).toBe('operation_in_progress');
        expect(copy.headers['retry-after']).toBe('1');
      } else ids.add(copy.json().topUpId as string);
    }
    expect(ids.size).toBe(1);
    expect(copies.filter((copy) => copy.statusCode === 201)).toHaveLength(1);
    expect(await balanceOf(w, customer.customerId)).toBe(1200n);
  });

  it('tells a copy whose original is still running to retry (409 operation_in_progress), and runs it once the original is gone', async () => {
    const customer = await customerWithPin(w.koban);
    const card = await cardSource(w.koban, customer, CARDS.visa);
    const key = newKey();
    // An original that claimed the key and has not finished (its process is busy, or died a moment ago).
    await w.koban.db.pool.query('insert into top_up_claims (customer_id, idempotency_key) values ($1, $2)', [customer.customerId, key]);
    const copy = await topUp(w.koban, customer, card, 800, { key });
    expect(copy.statusCode).toBe(409);
    expect(copy.json()).toMatchObject({ code: 'operation_in_progress', status: 409 });
    expect(copy.headers['retry-after']).toBe('1');
    expect(await balanceOf(w, customer.customerId)).toBe(0n);
    // A claim left by a process that died goes stale: the retry then runs.
    await w.koban.db.pool.query("update top_up_claims set claimed_at = now() - interval '2 minutes' where customer_id = $1", [customer.customerId]);
    const retried = await topUp(w.koban, customer, card, 800, { key });
    expect(retried.statusCode, retried.body).toBe(201);
    expect(await balanceOf(w, customer.customerId)).toBe(800n);
  });

  it('refuses the same key with a different body (422) and a top-up without a key (400)', async () => {
    const customer = await customerWithPin(w.koban);
    const card = await cardSource(w.koban, customer, CARDS.jcb);
    const key = newKey();
    await topUp(w.koban, customer, card, 1000, { key });
    const changed = await topUp(w.koban, customer, card, 1001, { key });
    expect(changed.statusCode).toBe(422);
    expect(changed.json().code).toBe('idempotency_key_reused');
    const grant = await stepUpBySms(w.koban, customer, 'top_up', { amountMinor: 500, fundingSourceId: card });
    const keyless = await customer.client.request({ method: 'POST', url: '/v1/customer/top-ups', body: { fundingSourceId: card, amount: '500', pin: PIN }, headers: { 'x-step-up-grant': grant } });
    expect(keyless.statusCode).toBe(400);
    expect(keyless.json().code).toBe('idempotency_key_required');
    expect(await balanceOf(w, customer.customerId)).toBe(1000n);
  });

  it('refuses fractional, negative, zero, huge and non-numeric amounts before anything else', async () => {
    const customer = await customerWithPin(w.koban);
    const card = await cardSource(w.koban, customer, CARDS.amex);
    for (const amount of ['10.5', '-100', '0', '1e3', 'abc', '999999999999999999999999']) {
      const response = await customer.client.request({ method: 'POST', url: '/v1/customer/top-ups', body: { fundingSourceId: card, amount, pin: PIN }, headers: { 'idempotency-key': newKey() } });
      expect(response.statusCode, amount).toBe(400);
    }
    const float = await customer.client.request({ method: 'POST', url: '/v1/customer/top-ups', payload: `{"fundingSourceId":"${card}","amount":10.5}`, headers: { 'content-type': 'application/json', 'idempotency-key': newKey() } } as never);
    expect(float.statusCode).toBe(400);
    expect(await balanceOf(w, customer.customerId)).toBe(0n);
  });
});

describe('kill switches', () => {
  it('stops new cards and new top-ups when operations switch the rail off, and resumes when it is back on', async () => {
    const operator = { kind: 'operator' as const, id: 'op-wallet-tests' };
    const customer = await customerWithPin(w.koban);
    const card = await cardSource(w.koban, customer, CARDS.visa);
    await w.koban.operations.switches.set({ name: 'funding.card', state: 'off', reason: 'card fraud wave', actor: operator });
    try {
      const topUpOff = await topUp(w.koban, customer, card, 1000);
      expect(topUpOff.statusCode).toBe(503);
      expect(topUpOff.json().code).toBe('service_switched_off');
      expect((await cardSource(w.koban, customer, CARDS.mastercard).catch((error: Error) => error.message))).toContain('service_switched_off');
    } finally {
      await w.koban.operations.switches.set({ name: 'funding.card', state: 'on', reason: 'contained', actor: operator });
    }
    await w.koban.operations.switches.set({ name: 'top_ups', state: 'off', reason: 'all top-ups paused', actor: operator });
    try {
      expect((await topUp(w.koban, customer, card, 1000)).json().code).toBe('service_switched_off');
    } finally {
      await w.koban.operations.switches.set({ name: 'top_ups', state: 'on', reason: 'resumed', actor: operator });
    }
    expect((await topUp(w.koban, customer, card, 1000)).json().status).toBe('completed');
    expect(await balanceOf(w, customer.customerId)).toBe(1000n);
  });
});

describe('the top-up gate (identity)', () => {
  it('refuses a top-up without a PIN, with a wrong PIN, without a step-up, or with a step-up for another amount', async () => {
    const customer = await customerWithPin(w.koban);
    const card = await cardSource(w.koban, customer, CARDS.visa);
    expect((await topUp(w.koban, customer, card, 1000, { pin: null })).json().code).toBe('pin_required');
    expect((await topUp(w.koban, customer, card, 1000, { pin: '135790' })).json().code).toBe('pin_wrong');
    expect((await topUp(w.koban, customer, card, 1000, { grant: null })).json().code).toBe('step_up_required');
    expect((await topUp(w.koban, customer, card, 1000, { grantAmount: 100 })).json().code).toBe('step_up_required');
    const otherCard = await cardSource(w.koban, customer, CARDS.mastercard);
    const grantForOther = await stepUpBySms(w.koban, customer, 'top_up', { amountMinor: 1000, fundingSourceId: otherCard });
    expect((await topUp(w.koban, customer, card, 1000, { grant: grantForOther })).json().code).toBe('step_up_required');
    expect(await balanceOf(w, customer.customerId)).toBe(0n);
    expect((await w.db.pool.query('select count(*)::int as n from top_ups where customer_id = $1', [customer.customerId])).rows[0].n).toBe(0);
  });

  it('refuses a top-up during the recovery cool-down', async () => {
    const customer = await customerWithPin(w.koban);
    const card = await cardSource(w.koban, customer, CARDS.visa);
    await w.db.pool.query(`update customers set recovery_cooldown_until = now() + interval '1 hour' where id = $1`, [customer.customerId]);
    const response = await topUp(w.koban, customer, card, 1000);
    expect(response.json().code).toBe('recovery_cooldown');
    expect(await balanceOf(w, customer.customerId)).toBe(0n);
  });

  it('does not let a customer top up from, or read, another customer\'s funding source or top-up', async () => {
    const owner = await customerWithPin(w.koban);
    const card = await cardSource(w.koban, owner, CARDS.visa);
    const done = (await topUp(w.koban, owner, card, 700)).json();
    const thief = await customerWithPin(w.koban);
    expect((await topUp(w.koban, thief, card, 700)).json().code).toBe('funding_source_not_found');
    expect((await thief.client.request({ method: 'GET', url: `/v1/customer/top-ups/${done.topUpId}` })).json().code).toBe('top_up_not_found');
    expect(await balanceOf(w, thief.customerId)).toBe(0n);
  });
});
