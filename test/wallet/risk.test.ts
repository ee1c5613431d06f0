// The wallet under the risk engine's default rules: the 7pay burst and one card across many accounts.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { addCard, balanceOf, bankSource, CARDS, customerWithPin, expectLedgerVerifies, startWalletEnv, topUp, type WalletEnv } from './support.ts';

let w: WalletEnv;
beforeAll(async () => {
  w = await startWalletEnv({}, { riskRules: 'defaults' });
});
afterAll(async () => {
  if (w !== undefined) await expectLedgerVerifies(w.db);
  await w?.close();
});

describe('risk rules on top-ups and funding sources', () => {
  it('the 7pay burst: a third top-up within a minute is refused by the risk engine, even with a valid step-up and PIN', async () => {
    const customer = await customerWithPin(w.koban);
    const bank = await bankSource(w, customer);
    expect((await topUp(w.koban, customer, bank, 5_000)).json().status).toBe('completed');
    expect((await topUp(w.koban, customer, bank, 5_000)).json().status).toBe('completed');
    const third = await topUp(w.koban, customer, bank, 5_000);
    expect(third.statusCode).toBe(403);
    expect(third.json().code).toBe('risk_denied');
    expect(await balanceOf(w, customer.customerId)).toBe(10_000n);
    expect((await w.db.pool.query('select count(*)::int as n from top_ups where customer_id = $1', [customer.customerId])).rows[0].n).toBe(2);
  });

  it('holds a card registered on a third account for review and stores nothing for it', async () => {
    const [a, b, c] = [await customerWithPin(w.koban), await customerWithPin(w.koban), await customerWithPin(w.koban)];
    expect((await addCard(w.koban, a, CARDS.jcb)).statusCode).toBe(201);
    expect((await addCard(w.koban, b, CARDS.jcb)).statusCode).toBe(201);
    const third = await addCard(w.koban, c, CARDS.jcb);
    expect(third.statusCode).toBe(403);
    expect(third.json().code).toBe('risk_held_for_review');
    expect((await w.db.pool.query('select count(*)::int as n from funding_sources where customer_id = $1', [c.customerId])).rows[0].n).toBe(0);
  });
});
