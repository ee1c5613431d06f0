/**
 * A new customer's first ordinary top-up, with every default risk rule on: it goes through and opens no
 * case for an analyst (a newcomer adding a card and topping up a few thousand yen is the normal start,
 * not a signal), while a big first top-up from the same new phone is still challenged.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CARDS, cardSource, customerWithPin, startWalletEnv, topUp, type WalletEnv } from './support.ts';

let w: WalletEnv;

beforeAll(async () => { w = await startWalletEnv({}, { riskRules: 'defaults' }); }, 60_000);
afterAll(async () => { await w.close(); });

const casesOf = async (customerId: string) => (await w.koban.operations.cases.list({ status: 'open', limit: 200 })).cases.filter((c) => c.accountId === customerId);

describe('a new customer\'s first top-up', () => {
  it('an ordinary first top-up completes and opens no risk case', async () => {
    const customer = await customerWithPin(w.koban);
    const card = await cardSource(w.koban, customer, CARDS.visa);
    const answer = await topUp(w.koban, customer, card, 3_000);
    expect(answer.json()).toMatchObject({ status: 'completed' });
    const decisions = await w.db.pool.query<{ kind: string; decision: string }>('select kind, decision from risk_events where account_id = $1 order by created_at', [customer.customerId]);
    expect(decisions.rows).toEqual([{ kind: 'funding_source_add', decision: 'allow' }, { kind: 'top_up', decision: 'allow' }]);
    expect(await casesOf(customer.customerId)).toEqual([]);
  });

  it('a big first top-up from the new phone is still challenged', async () => {
    const customer = await customerWithPin(w.koban);
    const card = await cardSource(w.koban, customer, CARDS.visa);
    await topUp(w.koban, customer, card, 20_000);
    const decisions = await w.db.pool.query<{ kind: string; decision: string; reasons: Array<{ rule: string }> }>('select kind, decision, reasons from risk_events where account_id = $1 and kind = $2', [customer.customerId, 'top_up']);
    expect(decisions.rows[0]?.reasons.map((r) => r.rule)).toContain('new_device_high_value');
  });
});
