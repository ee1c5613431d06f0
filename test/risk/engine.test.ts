/** The risk engine against the real PostgreSQL: each shipped rule firing, and not firing for ordinary use. */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChangeFeed } from '../../src/operations/change-feed.ts';
import { createRisk, requireAllowed, type Risk } from '../../src/risk/risk.ts';
import type { RiskDecision, RiskEvent } from '../../src/risk/types.ts';
import type { Database } from '../../src/platform/db/database.ts';
import { createTestDatabase, openAnotherConnection, type TestDatabase } from '../support/database.ts';

let db: TestDatabase;
let risk: Risk;
const analyst = { kind: 'operator' as const, id: 'op-analyst' };
const alerts: RiskDecision[] = [];

beforeAll(async () => {
  db = await createTestDatabase();
  risk = await createRisk(db, createChangeFeed(db, { intervalMs: 1000, onError: () => undefined }), async (_event, decision) => {
    alerts.push(decision);
  });
});
afterAll(async () => db.close());

const account = () => `cust-${randomUUID()}`;
const ip = () => `198.51.${Math.floor(Math.random() * 250)}.${Math.floor(Math.random() * 250)}`;
const rulesOf = (decision: RiskDecision) => decision.reasons.map((reason) => reason.rule);

async function ordinaryDevice(accountId: string, deviceId: string, address: string): Promise<void> {
  // An old device: the account was first seen on it long ago.
  await db.pool.query(`insert into risk_links (kind, key, account_id, first_seen, last_seen) values ('device', $1, $2, now() - interval '90 days', now() - interval '1 day')
    on conflict do nothing`, [deviceId, accountId]);
  void address;
}

describe('risk engine', () => {
  it('allows an ordinary customer topping up and paying, and records the decision with the rule version', async () => {
    const accountId = account();
    const deviceId = `dev-${randomUUID()}`;
    const address = ip();
    await ordinaryDevice(accountId, deviceId, address);
    const topUp = await risk.assess({ kind: 'top_up', accountId, deviceId, ip: address, cardRef: `card-${randomUUID()}`, amountMinor: 5_000n });
    expect(topUp).toMatchObject({ decision: 'allow', score: 0, reasons: [] });
    const payment = await risk.assess({ kind: 'payment', accountId, deviceId, ip: address, storeId: randomUUID(), merchantCategoryCode: '5411', amountMinor: 800n, ref: 'pay-1' });
    expect(payment.decision).toBe('allow');
    const stored = await db.pool.query('select kind, account_id, decision, rule_version, amount_minor, event_ref from risk_events where id = $1', [payment.id]);
    expect(stored.rows[0]).toMatchObject({ kind: 'payment', account_id: accountId, decision: 'allow', rule_version: BigInt(risk.settings.ruleVersion()), amount_minor: 800n, event_ref: 'pay-1' });
  });

  it('denies the third top-up within a minute (the 7pay pattern) and raises an alert', async () => {
    const accountId = account();
    const deviceId = `dev-${randomUUID()}`;
    await ordinaryDevice(accountId, deviceId, '');
    const event: RiskEvent = { kind: 'top_up', accountId, deviceId, cardRef: `card-${randomUUID()}`, amountMinor: 3_000n };
    expect((await risk.assess(event)).decision).toBe('allow');
    expect((await risk.assess(event)).decision).toBe('allow');
    const third = await risk.assess(event);
    expect(third.decision).toBe('deny');
    expect(rulesOf(third)).toContain('rapid_top_ups');
    expect(alerts.some((alert) => alert.id === third.id)).toBe(true);
    expect(() => requireAllowed(third)).toThrow(expect.objectContaining({ code: 'risk_denied' }));
  });

  it('holds for review a payment that spends at once what was just topped up', async () => {
    const accountId = account();
    const deviceId = `dev-${randomUUID()}`;
    await ordinaryDevice(accountId, deviceId, '');
    await risk.assess({ kind: 'top_up', accountId, deviceId, cardRef: `card-${randomUUID()}`, amountMinor: 30_000n });
    const small = await risk.assess({ kind: 'payment', accountId, deviceId, storeId: randomUUID(), amountMinor: 1_000n });
    expect(rulesOf(small)).not.toContain('top_up_then_spend');
    const drain = await risk.assess({ kind: 'payment', accountId, deviceId, storeId: randomUUID(), amountMinor: 28_000n });
    expect(drain.decision).toBe('review');
    expect(rulesOf(drain)).toContain('top_up_then_spend');
  });

  it('challenges a high-value top-up from a device new to the account, not from a known one', async () => {
    const accountId = account();
    const known = `dev-${randomUUID()}`;
    await ordinaryDevice(accountId, known, '');
    expect(rulesOf(await risk.assess({ kind: 'top_up', accountId, deviceId: known, amountMinor: 20_000n }))).not.toContain('new_device_high_value');
    const fresh = await risk.assess({ kind: 'top_up', accountId, deviceId: `dev-${randomUUID()}`, amountMinor: 20_000n });
    expect(fresh.decision).toBe('challenge');
    expect(rulesOf(fresh)).toContain('new_device_high_value');
    expect(rulesOf(await risk.assess({ kind: 'top_up', accountId, deviceId: `dev-${randomUUID()}`, amountMinor: 500n }))).not.toContain('new_device_high_value');
  });

  it('challenges a card added from a device new to an account that had another, not a newcomer\'s first card on their first phone', async () => {
    const newcomer = account();
    expect(rulesOf(await risk.assess({ kind: 'funding_source_add', accountId: newcomer, deviceId: `dev-${randomUUID()}` }))).not.toContain('new_device_high_value');
    const established = account();
    await ordinaryDevice(established, `dev-${randomUUID()}`, '');
    const added = await risk.assess({ kind: 'funding_source_add', accountId: established, deviceId: `dev-${randomUUID()}` });
    expect(added.decision).toBe('challenge');
    expect(rulesOf(added)).toContain('new_device_high_value');
  });

  it('a thief with a fresh sign-in on each new device cannot spend beyond the account budget: the budget is the account\'s, not the device\'s', async () => {
    const accountId = account();
    const known = `dev-${randomUUID()}`;
    await ordinaryDevice(accountId, known, '');
    const store = randomUUID();
    const spend = (deviceId: string, amountMinor = 4_000n) => risk.assess({ kind: 'payment', accountId, deviceId, storeId: store, amountMinor });
    // ¥8,000 from the customer's own phone, then a new device per payment (each a fresh sign-in).
    expect(rulesOf(await spend(known))).not.toContain('account_spending_budget');
    expect(rulesOf(await spend(known))).not.toContain('account_spending_budget');
    const third = await spend(`dev-${randomUUID()}`); // ¥12,000 within the hour: above the ¥10,000 default
    expect(third.decision).toBe('challenge');
    expect(rulesOf(third)).toContain('account_spending_budget');
    expect(third.reasons.find((r) => r.rule === 'account_spending_budget')?.message).toMatch(/12000 spent within an hour/);
    // Another fresh device does not restore anything, nor does the customer's own phone.
    expect(rulesOf(await spend(`dev-${randomUUID()}`))).toContain('account_spending_budget');
    expect(rulesOf(await spend(known, 500n))).toContain('account_spending_budget');
  });

  it('sizes the account budget from the customer\'s own spending history', async () => {
    const heavy = account();
    const device = `dev-${randomUUID()}`;
    await ordinaryDevice(heavy, device, '');
    // ¥600,000 over the last 30 days (¥20,000 a day): a day's budget of 3 × ¥20,000.
    const nowSec = Math.floor(Date.now() / 1000);
    for (let day = 1; day <= 30; day++) {
      const bucket = Math.floor((nowSec - day * 86_400) / 86_400) * 86_400;
      await db.pool.query('insert into risk_counters (key, bucket, shard, count, amount_minor) values ($1, $2, 0, 1, 20000)', [`acct:${heavy}:spend|86400`, bucket]);
    }
    const store = randomUUID();
    for (let i = 0; i < 5; i++) {
      const decision = await risk.assess({ kind: 'payment', accountId: heavy, deviceId: device, storeId: store, amountMinor: 5_000n });
      expect(rulesOf(decision)).not.toContain('account_spending_budget');
    }
    // A newcomer spending the same ¥25,000 meets the small default.
    const newcomer = account();
    const decisions = [];
    for (let i = 0; i < 5; i++) decisions.push(await risk.assess({ kind: 'payment', accountId: newcomer, deviceId: `dev-${randomUUID()}`, storeId: store, amountMinor: 5_000n }));
    expect(decisions.slice(0, 2).every((d) => !rulesOf(d).includes('account_spending_budget'))).toBe(true);
    expect(rulesOf(decisions[4] as RiskDecision)).toContain('account_spending_budget');
  });

  it('challenges a payment in an unusual context for an established account: new device, new network, a recent credential change, a new funding source', async () => {
    const accountId = account();
    const known = `dev-${randomUUID()}`;
    await ordinaryDevice(accountId, known, '');
    const home = '192.0.2.44';
    await db.pool.query(`insert into risk_links (kind, key, account_id, first_seen, last_seen) values ('network', '192.0.2.0/24', $1, now() - interval '60 days', now())`, [accountId]);
    const pay = (deviceId: string, address: string, amountMinor = 2_000n) => risk.assess({ kind: 'payment', accountId, deviceId, ip: address, storeId: null, amountMinor });
    expect((await pay(known, home)).decision).toBe('allow');
    const newDevice = await pay(`dev-${randomUUID()}`, home);
    expect(newDevice.decision).toBe('challenge');
    expect(newDevice.reasons.find((r) => r.rule === 'unusual_context')?.message).toMatch(/device new to this account/);
    const newNetwork = await pay(known, '198.18.5.9');
    expect(newNetwork.reasons.find((r) => r.rule === 'unusual_context')?.message).toMatch(/network new to this account/);
    expect((await pay(known, home)).decision).toBe('allow');
    await risk.assess({ kind: 'credential_change', accountId, deviceId: known, ip: home, ref: 'change_password' });
    const afterChange = await pay(known, home);
    expect(afterChange.reasons.find((r) => r.rule === 'unusual_context')).toMatchObject({ action: 'challenge', message: expect.stringMatching(/credential or contact changed/) });
    // With the new network's ¥2,000 before it, ¥4,000 left this established phone in unusual contexts: above the
    // ceiling a challenge is not enough (the PIN on this phone would answer it), so it is refused.
    expect(afterChange.decision).toBe('review');
    expect(afterChange.reasons.find((r) => r.rule === 'unusual_context_ceiling')?.observed).toBe('4000');

    // After a change the small amount is the allowance for the whole cool-down, not per payment: a thief paying
    // in steps under it gets one step (the sim-swap drill took ¥1,000 steps up to the hourly budget).
    const changed = account();
    await ordinaryDevice(changed, known, '');
    await db.pool.query(`insert into risk_links (kind, key, account_id, first_seen, last_seen) values ('network', '192.0.2.0/24', $1, now() - interval '60 days', now())`, [changed]);
    await risk.assess({ kind: 'credential_change', accountId: changed, deviceId: known, ip: home, ref: 'change_email' });
    const step = () => risk.assess({ kind: 'payment', accountId: changed, deviceId: known, ip: home, storeId: null, amountMinor: 600n });
    expect(rulesOf(await step())).not.toContain('unusual_context');
    const second = await step();
    expect(second.reasons.find((r) => r.rule === 'unusual_context')?.message).toMatch(/credential or contact changed/);
    expect(second.reasons.find((r) => r.rule === 'unusual_context')?.observed).toBe('1200');

    // On a new network too the small amount is an allowance, not a per-payment threshold: a thief with a session on
    // the victim's own phone paying ¥600 steps from their own network gets one step; the customer's usual network
    // is not counted against it.
    const stolen = account();
    await ordinaryDevice(stolen, known, '');
    await db.pool.query(`insert into risk_links (kind, key, account_id, first_seen, last_seen) values ('network', '192.0.2.0/24', $1, now() - interval '60 days', now())`, [stolen]);
    const fromThief = () => risk.assess({ kind: 'payment', accountId: stolen, deviceId: known, ip: '198.18.7.9', storeId: null, amountMinor: 600n });
    expect(rulesOf(await fromThief())).not.toContain('unusual_context'); // a coffee passes
    expect(rulesOf(await risk.assess({ kind: 'payment', accountId: stolen, deviceId: known, ip: home, storeId: null, amountMinor: 3_000n }))).not.toContain('unusual_context');
    const secondStep = await fromThief();
    expect(secondStep.reasons.find((r) => r.rule === 'unusual_context')?.message).toMatch(/network new to this account/);
    expect(secondStep.reasons.find((r) => r.rule === 'unusual_context')?.observed).toBe('1200');

    const other = account();
    await ordinaryDevice(other, known, '');
    // A newcomer's first card is not unusual; an established customer's new one is.
    const newcomer = account();
    const newcomerPhone = `dev-${randomUUID()}`;
    await risk.assess({ kind: 'funding_source_add', accountId: newcomer, deviceId: newcomerPhone, cardRef: `card-${randomUUID()}` });
    expect(rulesOf(await risk.assess({ kind: 'payment', accountId: newcomer, deviceId: newcomerPhone, amountMinor: 2_000n }))).not.toContain('unusual_context');
    await risk.assess({ kind: 'funding_source_add', accountId: other, deviceId: known, cardRef: `card-${randomUUID()}` });
    const afterCard = await risk.assess({ kind: 'payment', accountId: other, deviceId: known, amountMinor: 2_000n });
    expect(afterCard.reasons.find((r) => r.rule === 'unusual_context')?.message).toMatch(/funding source was added/);
    // A brand-new customer (everything is new) is left to the budget.
    expect(rulesOf(await risk.assess({ kind: 'payment', accountId: account(), deviceId: `dev-${randomUUID()}`, ip: '198.18.6.50', amountMinor: 2_000n }))).not.toContain('unusual_context');
  });

  it('challenges payments emptying a balance within minutes, not one ordinary purchase', async () => {
    const accountId = account();
    const device = `dev-${randomUUID()}`;
    await ordinaryDevice(accountId, device, '');
    const pay = (amountMinor: bigint, balanceMinor: bigint) => risk.assess({ kind: 'payment', accountId, deviceId: device, amountMinor, balanceMinor });
    expect(rulesOf(await pay(3_000n, 9_000n))).not.toContain('balance_drain');
    const second = await pay(3_000n, 6_000n); // ¥6,000 of ¥9,000 so far
    expect(rulesOf(second)).not.toContain('balance_drain');
    const third = await pay(2_000n, 3_000n); // ¥8,000 of ¥9,000 within the window
    expect(third.decision).toBe('challenge');
    expect(rulesOf(third)).toContain('balance_drain');
  });

  it('flags one card used across several accounts', async () => {
    const cardRef = `card-${randomUUID()}`;
    const decisions = [];
    for (let i = 0; i < 3; i++) decisions.push(await risk.assess({ kind: 'funding_source_add', accountId: account(), cardRef }));
    expect(rulesOf(decisions[1] as RiskDecision)).not.toContain('shared_instrument');
    expect(rulesOf(decisions[2] as RiskDecision)).toContain('shared_instrument');
  });

  it('challenges sign-ins when one network touches many accounts', async () => {
    await risk.settings.updateRule('network_accounts', { params: { accountsPerDayMax: 3 } }, analyst, 'tighten for the test');
    const address = `203.0.113.${Math.floor(Math.random() * 250)}`;
    const results = [];
    for (let i = 0; i < 5; i++) results.push(await risk.assess({ kind: 'sign_in', accountId: account(), ip: address }));
    expect(results.slice(0, 3).every((r) => !rulesOf(r).includes('network_accounts'))).toBe(true);
    expect(rulesOf(results[3] as RiskDecision)).toContain('network_accounts');
    await risk.settings.updateRule('network_accounts', { params: { accountsPerDayMax: 20 } }, analyst, 'restore');
  });

  it('challenges after a burst of failed passwords on the account', async () => {
    const accountId = account();
    for (let i = 0; i < 4; i++) await risk.recordFailure({ kind: 'password', accountId, ip: '192.0.2.10' });
    expect(rulesOf(await risk.assess({ kind: 'sign_in', accountId, ip: '192.0.2.10' }))).not.toContain('failure_burst');
    await risk.recordFailure({ kind: 'password', accountId, ip: '192.0.2.10' });
    const after = await risk.assess({ kind: 'sign_in', accountId, ip: '192.0.2.10' });
    expect(after.decision).toBe('challenge');
    expect(rulesOf(after)).toContain('failure_burst');
  });

  it('a complete sign-in ends the account\'s run of failures; the network\'s stay', async () => {
    const accountId = account();
    const other = account();
    for (let i = 0; i < 5; i++) await risk.recordFailure({ kind: 'password', accountId, ip: '198.51.100.77' });
    expect(rulesOf(await risk.assess({ kind: 'sign_in', accountId, ip: '203.0.113.10' }))).toContain('failure_burst');
    await risk.clearAccountFailures(accountId);
    expect(rulesOf(await risk.assess({ kind: 'sign_in', accountId, ip: '203.0.113.10' }))).not.toContain('failure_burst');
    await risk.settings.updateRule('failure_burst', { params: { accountFailuresMax: 5, networkFailuresMax: 5 } }, analyst, 'engine test: network failures');
    expect(rulesOf(await risk.assess({ kind: 'sign_in', accountId: other, ip: '198.51.100.78' }))).toContain('failure_burst');
    await risk.settings.updateRule('failure_burst', { params: { accountFailuresMax: 5, networkFailuresMax: 30 } }, analyst, 'restore');
  });

  it('challenges a payment at a store far from the account\'s usual stores', async () => {
    const merchant = randomUUID();
    const receivable = randomUUID();
    await db.pool.query(`insert into accounts (id, ledger, code) values ($1, 392, 200)`, [receivable]);
    await db.pool.query(`insert into merchants (id, name, category_code, receivable_account_id) values ($1, 'M', '5411', $2)`, [merchant, receivable]);
    const store = async (lat: number, lon: number) => {
      const id = randomUUID();
      await db.pool.query('insert into stores (id, merchant_id, name, latitude, longitude) values ($1, $2, $3, $4, $5)', [id, merchant, 'S', lat, lon]);
      return id;
    };
    const shibuya = await store(35.658, 139.699);
    const shinjuku = await store(35.690, 139.700);
    const sapporo = await store(43.062, 141.354);
    const accountId = account();
    await risk.assess({ kind: 'payment', accountId, storeId: shibuya, amountMinor: 500n });
    await risk.assess({ kind: 'payment', accountId, storeId: shinjuku, amountMinor: 500n });
    expect(rulesOf(await risk.assess({ kind: 'payment', accountId, storeId: shibuya, amountMinor: 500n }))).not.toContain('distant_store');
    const far = await risk.assess({ kind: 'payment', accountId, storeId: sapporo, amountMinor: 500n });
    expect(rulesOf(far)).toContain('distant_store');
  });

  it('holds bulk purchases at resale-prone merchant categories for review, not groceries', async () => {
    const accountId = account();
    for (let i = 0; i < 3; i++) {
      expect(rulesOf(await risk.assess({ kind: 'payment', accountId, storeId: randomUUID(), merchantCategoryCode: '5411', amountMinor: 15_000n }))).not.toContain('resale_bulk');
    }
    await risk.assess({ kind: 'payment', accountId, storeId: randomUUID(), merchantCategoryCode: '5993', amountMinor: 20_000n });
    const second = await risk.assess({ kind: 'payment', accountId, storeId: randomUUID(), merchantCategoryCode: '5993', amountMinor: 20_000n });
    expect(rulesOf(second)).toContain('resale_bulk');
  });

  it('challenges sign-ins from a marked country or network, and denies a blocked device', async () => {
    await risk.settings.addToList('marked_country', 'cn', 'overseas access during the incident', analyst);
    await risk.settings.addToList('marked_network', '100.64.0.0/16', 'hosting block', analyst);
    await risk.settings.addToList('blocked_device', 'dev-stolen', 'mule phone', analyst);
    expect(rulesOf(await risk.assess({ kind: 'sign_in', accountId: account(), country: 'CN' }))).toContain('marked_source');
    expect(rulesOf(await risk.assess({ kind: 'sign_in', accountId: account(), ip: '100.64.9.9' }))).toContain('marked_source');
    expect((await risk.assess({ kind: 'sign_in', accountId: account(), ip: '100.65.9.9', country: 'JP' })).decision).toBe('allow');
    expect((await risk.assess({ kind: 'payment', accountId: account(), deviceId: 'dev-stolen', amountMinor: 100n })).decision).toBe('deny');
    await risk.settings.removeFromList('blocked_device', 'dev-stolen', 'phone recovered', analyst);
    expect((await risk.assess({ kind: 'sign_in', accountId: account(), deviceId: 'dev-stolen' })).decision).not.toBe('deny');
  });

  it('flags account velocity in count and amount over the day', async () => {
    const accountId = account();
    const deviceId = `dev-${randomUUID()}`;
    await ordinaryDevice(accountId, deviceId, '');
    await risk.settings.updateRule('rapid_top_ups', { enabled: false }, analyst, 'isolate account velocity in this test');
    const results = [];
    for (let i = 0; i < 4; i++) results.push(await risk.assess({ kind: 'top_up', accountId, deviceId, amountMinor: 30_000n }));
    await risk.settings.updateRule('rapid_top_ups', { enabled: true }, analyst, 'back on');
    expect(rulesOf(results[2] as RiskDecision)).not.toContain('account_velocity');
    expect(rulesOf(results[3] as RiskDecision)).toContain('account_velocity');
  });
});

describe('risk rule settings', () => {
  it('are versioned and audited, and the version in force is recorded with each decision', async () => {
    const before = risk.settings.ruleVersion();
    const view = await risk.settings.updateRule('card_velocity', { action: 'deny', params: { amountPerDayMaxMinor: '50000' } }, analyst, 'stolen card wave');
    expect(view).toMatchObject({ action: 'deny', params: { amountPerDayMaxMinor: '50000', topUpsPerHourMax: 5 } });
    expect(risk.settings.ruleVersion()).toBe(before + 1);
    const versions = await db.pool.query(`select version, reason, changed_by from risk_rule_settings where rule_id = 'card_velocity' order by version`);
    expect(versions.rows.at(-1)).toMatchObject({ reason: 'stolen card wave', changed_by: 'operator:op-analyst' });
    const audit = await db.pool.query(`select details from audit_events where action = 'risk.rule_changed' and target_id = 'card_velocity' order by id desc limit 1`);
    expect(audit.rows[0].details).toMatchObject({ after: { action: 'deny' } });
    const decision = await risk.assess({ kind: 'top_up', accountId: account(), cardRef: `card-${randomUUID()}`, amountMinor: 60_000n });
    expect(decision).toMatchObject({ decision: 'deny', ruleVersion: before + 1 });
  });

  it('refuse invalid thresholds and unknown rules, and change nothing', async () => {
    const before = risk.settings.ruleVersion();
    await expect(risk.settings.updateRule('card_velocity', { params: { amountPerDayMaxMinor: '-5' } }, analyst, 'bad')).rejects.toMatchObject({ code: 'risk_rule_invalid' });
    await expect(risk.settings.updateRule('card_velocity', { params: { amountPerDayMaxMinor: 1.5 } }, analyst, 'bad')).rejects.toMatchObject({ code: 'risk_rule_invalid' });
    await expect(risk.settings.updateRule('card_velocity', { params: { surprise: 1 } }, analyst, 'bad')).rejects.toMatchObject({ code: 'risk_rule_invalid' });
    await expect(risk.settings.updateRule('no_such_rule', {}, analyst, 'bad')).rejects.toMatchObject({ code: 'risk_rule_unknown' });
    expect(risk.settings.ruleVersion()).toBe(before);
  });

  it('counters are shared: two processes see the same velocity', async () => {
    const other: Database = await openAnotherConnection(db);
    try {
      const otherRisk = await createRisk(other, createChangeFeed(other, { intervalMs: 1000, onError: () => undefined }), null);
      const accountId = account();
      const event: RiskEvent = { kind: 'top_up', accountId, amountMinor: 1_000n };
      await risk.assess(event);
      await otherRisk.assess(event);
      expect(rulesOf(await risk.assess(event))).toContain('rapid_top_ups');
    } finally {
      await other.close();
    }
  });
});

describe('risk engine clock', () => {
  it('records and judges sightings by the clock it is given, not the database clock', async () => {
    const at = new Date('2031-05-06T07:08:09.000Z');
    const clocked = await createRisk(db, createChangeFeed(db, { intervalMs: 1000, onError: () => undefined }), null, () => at);
    const accountId = account();
    const deviceId = `dev-${randomUUID()}`;
    await clocked.assess({ kind: 'sign_in', accountId, deviceId });
    const seen = await db.pool.query<{ first_seen: Date; last_seen: Date }>('select first_seen, last_seen from risk_links where kind = $1 and key = $2', ['device', deviceId]);
    expect(seen.rows).toEqual([{ first_seen: at, last_seen: at }]);
    // A second account seen on the device a day later, by that clock.
    const later = await createRisk(db, createChangeFeed(db, { intervalMs: 1000, onError: () => undefined }), null, () => new Date(at.getTime() + 86_400_000));
    await later.assess({ kind: 'sign_in', accountId: account(), deviceId });
    const shared = await db.pool.query<{ last_seen: Date }>('select last_seen from risk_links where kind = $1 and key = $2 order by last_seen', ['device', deviceId]);
    expect(shared.rows.map((row) => row.last_seen.getTime())).toEqual([at.getTime(), at.getTime() + 86_400_000]);
  });
});
