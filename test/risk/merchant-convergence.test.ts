/**
 * Money converging on one merchant (issue 13: stolen sessions paying a colluding merchant's order QRs), through
 * the real composition root on PostgreSQL: payments to one merchant from accounts changed recently (a
 * credential change, a new funding source, a device new to the account) are counted against the merchant;
 * from the fifth within the hour each further one is challenged (held for the customer's strong
 * confirmation) and the alert opens a case on the merchant as well as the customer, with the reasons.
 * Ordinary customers' payments are never counted. The backtest answers for the rule (action replayed exactly).
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Koban } from '../../src/koban.ts';
import { merchantCaseSubject } from '../../src/risk/rules/merchant-convergence.ts';
import type { RiskDecision } from '../../src/risk/types.ts';
import { opsRequest, signInAs, type SignedInOperator } from '../operations/support.ts';
import { startTestKoban } from '../support/koban.ts';

let env: Awaited<ReturnType<typeof startTestKoban>>;
let koban: Koban;
let analyst: SignedInOperator;

beforeAll(async () => {
  env = await startTestKoban({ env: { KOBAN_LOG_LEVEL: 'error' } });
  koban = env.koban;
  analyst = await signInAs(koban, 'risk_analyst');
}, 60_000);
afterAll(async () => {
  await env?.close();
});

const fired = (decision: RiskDecision) => decision.reasons.find((reason) => reason.rule === 'merchant_convergence');

/** A customer of months on their own phone. */
async function establishedAccount(): Promise<{ accountId: string; phone: string }> {
  const accountId = randomUUID();
  const phone = `dev-${randomUUID()}`;
  await env.db.pool.query(`insert into risk_links (kind, key, account_id, first_seen, last_seen) values ('device', $1, $2, now() - interval '90 days', now() - interval '1 day')`, [phone, accountId]);
  return { accountId, phone };
}

const pay = (accountId: string, deviceId: string, merchantId: string, amountMinor = 800n) =>
  koban.risk.assess({ kind: 'payment', accountId, deviceId, merchantId, storeId: randomUUID(), merchantCategoryCode: '5999', amountMinor, ref: randomUUID() });

/** An account taken over: the password changed (a SIM swap), or paying from the thief's own new device. */
async function changedAccount(how: 'credential' | 'device'): Promise<{ accountId: string; deviceId: string }> {
  const { accountId, phone } = await establishedAccount();
  if (how === 'credential') {
    await koban.risk.assess({ kind: 'credential_change', accountId, deviceId: phone, ref: 'change_password' });
    return { accountId, deviceId: phone };
  }
  return { accountId, deviceId: `dev-${randomUUID()}` };
}

async function caseAlerts(subject: string): Promise<Array<{ reasons: Array<{ rule: string; message: string }> }>> {
  const rows = await env.db.pool.query<{ reasons: Array<{ rule: string; message: string }> }>(
    `select a.reasons from case_alerts a join cases c on c.id = a.case_id where c.account_id = $1 and c.status = 'open'`, [subject]);
  return rows.rows;
}

describe('money converging on one merchant from recently changed accounts', () => {
  it('never counts ordinary customers (established, or new with their first card): many of them paying one merchant fire nothing and open no case', async () => {
    const merchant = randomUUID();
    for (let i = 0; i < 12; i++) {
      const { accountId, phone } = await establishedAccount();
      const decision = await pay(accountId, phone, merchant);
      expect(fired(decision)).toBeUndefined();
    }
    // New customers adding their first card and paying at once are not "changed" accounts either.
    for (let i = 0; i < 6; i++) {
      const accountId = randomUUID();
      const phone = `dev-${randomUUID()}`;
      await koban.risk.assess({ kind: 'funding_source_add', accountId, deviceId: phone, cardRef: `card-${randomUUID()}` });
      expect(fired(await pay(accountId, phone, merchant))).toBeUndefined();
    }
    expect(await caseAlerts(merchantCaseSubject(merchant))).toEqual([]);
  });

  it('challenges the fifth payment from recently changed accounts to one merchant, and every further one, with a case on the merchant', async () => {
    const colluding = randomUUID();
    const decisions: RiskDecision[] = [];
    for (let i = 0; i < 6; i++) {
      const stolen = await changedAccount(i % 2 === 0 ? 'credential' : 'device');
      decisions.push(await pay(stolen.accountId, stolen.deviceId, colluding));
    }
    expect(decisions.slice(0, 4).map(fired)).toEqual([undefined, undefined, undefined, undefined]);
    for (const decision of decisions.slice(4)) {
      expect(decision.decision).toBe('challenge');
      expect(fired(decision)).toMatchObject({ action: 'challenge', threshold: '5' });
    }
    expect(fired(decisions[4] as RiskDecision)?.message).toMatch(/5 payments within 60 min to merchant .* from recently changed accounts/);
    const merchantCase = await caseAlerts(merchantCaseSubject(colluding));
    expect(merchantCase).toHaveLength(2);
    expect(merchantCase.every((alert) => alert.reasons.some((reason) => reason.rule === 'merchant_convergence'))).toBe(true);
    // An ordinary customer of the same merchant is not caught up in it; a changed account paying elsewhere neither.
    const ordinary = await establishedAccount();
    expect(fired(await pay(ordinary.accountId, ordinary.phone, colluding))).toBeUndefined();
    const elsewhere = await changedAccount('credential');
    expect(fired(await pay(elsewhere.accountId, elsewhere.deviceId, randomUUID()))).toBeUndefined();
  });

  it('is tunable and backtested like the others: the threshold and action change at run time, the backtest replays a change of action', async () => {
    await koban.risk.settings.updateRule('merchant_convergence', { params: { paymentsMin: 2 } }, { kind: 'operator', id: 'op-risk-tests' }, 'a colluding merchant ring seen in the drill');
    const merchant = randomUUID();
    const first = await changedAccount('device');
    expect(fired(await pay(first.accountId, first.deviceId, merchant))).toBeUndefined();
    const second = await changedAccount('device');
    expect(fired(await pay(second.accountId, second.deviceId, merchant))).toBeDefined();
    const backtest = await opsRequest(koban, analyst)('POST', '/v1/ops/risk/rules/merchant_convergence/backtest', { action: 'review' });
    expect(backtest.statusCode, backtest.body).toBe(200);
    const result = backtest.json() as { replay: string; changes: Array<{ from: string; to: string; count: number }> };
    expect(result.replay).toBe('action_only');
    expect(result.changes.find((c) => c.from === 'challenge' && c.to === 'review')?.count).toBeGreaterThanOrEqual(3);
    const badInput = await opsRequest(koban, analyst)('POST', '/v1/ops/risk/rules/merchant_convergence/backtest', { params: { paymentsMin: 1 } });
    expect(badInput.statusCode).toBe(400);
  });
});
