/** The internal ledger API over HTTP: amounts as strings, idempotent retries, clear refusals. */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Koban } from '../../src/koban.ts';
import { expectLedgerConsistent } from '../ledger/fixtures.ts';
import { ledgerAuth, startTestKoban } from '../support/koban.ts';

let koban: Koban;
let close: () => Promise<void>;
beforeAll(async () => {
  ({ koban, close } = await startTestKoban());
});
afterAll(async () => {
  await expectLedgerConsistent(koban.db);
  await close();
});

const post = (url: string, payload: unknown) => koban.app.inject({ method: 'POST', url, headers: ledgerAuth, payload: payload as object });
const get = (url: string) => koban.app.inject({ method: 'GET', url, headers: ledgerAuth });

async function accounts() {
  const ids = { funding: randomUUID(), wallet: randomUUID(), merchant: randomUUID() };
  const response = await post('/v1/ledger/accounts', { accounts: [
    { id: ids.funding, ledger: 392, code: 300 },
    { id: ids.wallet, ledger: 392, code: 100, flags: 1, reference: 'customer-x' },
    { id: ids.merchant, ledger: 392, code: 200 },
  ] });
  expect(response.statusCode).toBe(200);
  return ids;
}

const transfer = (debit: string, credit: string, amount: string | number, extra: object = {}) =>
  ({ id: randomUUID(), debitAccountId: debit, creditAccountId: credit, amount, ledger: 392, code: 2, ...extra });

describe('ledger API', () => {
  it('moves money with amounts as digit strings and answers balances as strings', async () => {
    const ids = await accounts();
    expect((await post('/v1/ledger/transfers', { transfers: [transfer(ids.funding, ids.wallet, '9007199254740993')] })).statusCode).toBe(400);
    const topUp = await post('/v1/ledger/transfers', { transfers: [transfer(ids.funding, ids.wallet, '5000')] });
    expect(topUp.statusCode).toBe(200);
    expect(topUp.json().results[0]).toMatchObject({ result: 'created', transfer: { amount: '5000' } });
    const pay = await post('/v1/ledger/transfers', { transfers: [transfer(ids.wallet, ids.merchant, 1200)] });
    expect(pay.json().results[0].result).toBe('created');
    const wallet = (await get(`/v1/ledger/accounts/${ids.wallet}`)).json();
    expect(wallet).toMatchObject({ balance: '3800', available: '3800', creditsPosted: '5000', debitsPosted: '1200' });
  });

  it('a retry answers exists; a changed retry and an unaffordable payment are 422 with per-transfer results', async () => {
    const ids = await accounts();
    await post('/v1/ledger/transfers', { transfers: [transfer(ids.funding, ids.wallet, '1000')] });
    const payment = transfer(ids.wallet, ids.merchant, '600');
    expect((await post('/v1/ledger/transfers', { transfers: [payment] })).json().results[0].result).toBe('created');
    expect((await post('/v1/ledger/transfers', { transfers: [payment] })).json().results[0].result).toBe('exists');
    const changed = await post('/v1/ledger/transfers', { transfers: [{ ...payment, amount: '601' }] });
    expect(changed.statusCode).toBe(422);
    expect(changed.json()).toMatchObject({ code: 'transfers_rejected', results: [{ id: payment.id, result: 'exists_with_different_fields' }] });
    const tooMuch = await post('/v1/ledger/transfers', { transfers: [transfer(ids.wallet, ids.merchant, '401')] });
    expect(tooMuch.json().results[0].result).toBe('exceeds_credits');
    expect((await get(`/v1/ledger/accounts/${ids.wallet}`)).json().available).toBe('400');
  });

  it.each([
    ['zero', '0'], ['negative', '-5'], ['leading zero', '0100'], ['exponent string', '1e3'], ['spaces', ' 100'], ['fraction string', '10.5'],
    ['negative number', -5], ['zero number', 0], ['above the maximum', '100000000001'], ['boolean', true], ['null', null],
  ])('refuses a %s amount and writes nothing', async (_label, amount) => {
    const ids = await accounts();
    await post('/v1/ledger/transfers', { transfers: [transfer(ids.funding, ids.wallet, '1000')] });
    const bad = transfer(ids.wallet, ids.merchant, amount as string);
    const response = await post('/v1/ledger/transfers', { transfers: [bad] });
    expect(response.statusCode).toBe(400);
    expect(response.json().errors.some((e: { pointer: string }) => e.pointer.startsWith('/body/transfers/0/amount'))).toBe(true);
    expect((await get(`/v1/ledger/transfers/${bad.id}`)).statusCode).toBe(404);
    expect((await get(`/v1/ledger/accounts/${ids.wallet}`)).json().available).toBe('1000');
  });

  it('refuses unknown accounts, another currency and frozen wallets with specific results', async () => {
    const ids = await accounts();
    await post('/v1/ledger/transfers', { transfers: [transfer(ids.funding, ids.wallet, '1000')] });
    const unknown = await post('/v1/ledger/transfers', { transfers: [transfer(ids.wallet, randomUUID(), '1')] });
    expect(unknown.json().results[0].result).toBe('credit_account_not_found');
    const currency = await post('/v1/ledger/transfers', { transfers: [{ ...transfer(ids.wallet, ids.merchant, '1'), ledger: 840 }] });
    expect(currency.json().results[0].result).toBe('transfer_must_have_the_same_ledger_as_accounts');
    expect((await post(`/v1/ledger/accounts/${ids.wallet}/status`, { status: 'frozen' })).json().status).toBe('frozen');
    const frozen = await post('/v1/ledger/transfers', { transfers: [transfer(ids.wallet, ids.merchant, '1')] });
    expect(frozen.json().results[0].result).toBe('debit_account_frozen');
  });

  it('holds, posts part, and lists the statement with a cursor', async () => {
    const ids = await accounts();
    await post('/v1/ledger/transfers', { transfers: [transfer(ids.funding, ids.wallet, '1000')] });
    const hold = transfer(ids.wallet, ids.merchant, '700', { flags: 2, timeoutSeconds: 300 });
    expect((await post('/v1/ledger/transfers', { transfers: [hold] })).json().results[0].result).toBe('created');
    expect((await get(`/v1/ledger/accounts/${ids.wallet}`)).json()).toMatchObject({ available: '300', debitsPending: '700' });
    const capture = await post('/v1/ledger/transfers', { transfers: [{ id: randomUUID(), pendingId: hold.id, amount: '650', ledger: 392, code: 2, flags: 4 }] });
    expect(capture.json().results[0].transfer).toMatchObject({ amount: '650', debitAccountId: ids.wallet });
    const page = (await get(`/v1/ledger/accounts/${ids.wallet}/statement?limit=2`)).json();
    expect(page.entries.map((e: { transfer: { amount: string } }) => e.transfer.amount)).toEqual(['650', '700']);
    expect(page.entries[1].holdStatus).toBe('posted');
    const rest = (await get(`/v1/ledger/accounts/${ids.wallet}/statement?limit=2&cursor=${page.nextCursor}`)).json();
    expect(rest.entries.map((e: { side: string }) => e.side)).toEqual(['credit']);
    expect(rest.nextCursor).toBeNull();
  });
});
