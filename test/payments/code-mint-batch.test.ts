/**
 * The batched code mint (issue 11, src/payments/codes.ts `mintPaymentCodes`): many mints, one transaction, on the
 * real wiring (identity's cool-down, risk's batch, the ledger's frozen wallets). One mint's refusal never fails
 * another; two mints of one device in a batch leave exactly one live code.
 */
import { createHash, randomBytes, randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Koban } from '../../src/koban.ts';
import { mintPaymentCodes, paymentCodeStatus, type CodeDeps, type MintOutcome } from '../../src/payments/codes.ts';
import type { CustomerContext } from '../../src/payments/context.ts';
import { expectLedgerConsistent } from '../ledger/fixtures.ts';
import { startTestKoban } from '../support/koban.ts';
import type { Database } from '../../src/platform/db/database.ts';
import { createCustomer } from './customer-fixtures.ts';

let koban: Koban;
let db: Database;
let close: () => Promise<void>;
let deps: CodeDeps;
const analyst = { kind: 'operator' as const, id: 'op-mint-batch-tests' };

beforeAll(async () => {
  const started = await startTestKoban();
  koban = started.koban;
  db = started.db;
  close = started.close;
  const payments = koban.payments.payments;
  deps = { db, pepper: payments.deps.pepper, hooks: payments.deps.hooks, switches: payments.deps.switches, ttlSec: 300, now: () => new Date() };
});
afterAll(async () => {
  await expectLedgerConsistent(db);
  await close();
});

/** A customer with an identity row (the cool-down lives there) and a device key the risk engine knows them by. */
async function customer(options: { coolDown?: boolean } = {}): Promise<CustomerContext> {
  const ctx = await createCustomer(db, koban.ledger, 0n);
  await db.pool.query(`insert into customers (id, webauthn_user_id, recovery_cooldown_until) values ($1, $2, case when $3 then now() + interval '1 hour' end)`,
    [ctx.customerId, randomBytes(32).toString('base64url'), options.coolDown === true]);
  return { ...ctx, deviceKey: createHash('sha256').update(ctx.deviceId).digest('hex'), ip: '203.0.113.7' };
}

const codeOf = (outcome: MintOutcome | undefined) => (outcome !== undefined && 'minted' in outcome ? outcome.minted : null);
const refusalOf = (outcome: MintOutcome | undefined) => (outcome !== undefined && 'refused' in outcome ? (outcome.refused as { code?: string }).code : null);
const liveCodes = async (ctx: CustomerContext) => (await db.pool.query<{ id: string }>(`select id from payment_codes where customer_id = $1 and status = 'live'`, [ctx.customerId])).rows.map((r) => r.id);

describe('a batch of code mints', () => {
  it('refuses each refused mint for its own reason and mints the others, with one risk decision per assessed mint', async () => {
    const alice = await customer();
    const stolen = await customer();
    const frozen = await customer();
    const recovering = await customer({ coolDown: true });
    const forged = { ...(await customer()), walletAccountId: alice.walletAccountId };
    const bob = await customer();
    await koban.risk.settings.addToList('blocked_device', stolen.deviceKey ?? '', 'stolen phone reported', analyst);
    await koban.ledger.setAccountStatus(frozen.walletAccountId, 'frozen');

    const batch = [alice, stolen, frozen, recovering, forged, bob];
    const outcomes = await mintPaymentCodes(deps, batch);

    expect(outcomes.map(refusalOf)).toEqual([null, 'payment_refused_by_risk', 'wallet_frozen', 'recovery_cooldown', 'wallet_not_found', null]);
    for (const [ctx, outcome] of [[alice, outcomes[0]], [bob, outcomes[5]]] as const) {
      const minted = codeOf(outcome);
      expect(minted?.code).toMatch(/^9[0-9]{19}$/);
      expect(await liveCodes(ctx)).toEqual([minted?.codeId]);
      expect((await paymentCodeStatus(deps, ctx, minted?.codeId ?? '')).status).toBe('live');
    }
    for (const refused of [stolen, frozen, recovering, forged]) expect(await liveCodes(refused)).toEqual([]);
    // Risk was asked about every mint but the one in a cool-down, as the single mint asks; the refusal is on record.
    const decisions = await db.pool.query<{ account_id: string; decision: string }>(
      `select account_id, decision from risk_events where kind = 'payment_code_mint' and account_id = any($1::text[])`, [batch.map((c) => c.customerId)]);
    expect(new Map(decisions.rows.map((r) => [r.account_id, r.decision]))).toEqual(new Map([
      [alice.customerId, 'allow'], [stolen.customerId, 'deny'], [frozen.customerId, 'allow'], [forged.customerId, 'allow'], [bob.customerId, 'allow'],
    ]));
  });

  it('two mints of one device in one batch: the later one is live, the earlier one revoked, and the device\'s older code too', async () => {
    const carol = await customer();
    const [older] = await mintPaymentCodes(deps, [carol]);
    const outcomes = await mintPaymentCodes(deps, [carol, carol]);
    const [first, second] = outcomes.map(codeOf);
    expect(first).not.toBeNull();
    expect(second).not.toBeNull();
    expect(await liveCodes(carol)).toEqual([second?.codeId]);
    expect((await paymentCodeStatus(deps, carol, first?.codeId ?? '')).status).toBe('expired');
    expect((await paymentCodeStatus(deps, carol, codeOf(older)?.codeId ?? '')).status).toBe('expired');
    // Another device of the same customer keeps its own live code.
    const otherPhone = { ...carol, deviceId: `device-${randomUUID()}` };
    const [elsewhere] = await mintPaymentCodes(deps, [otherPhone, carol]);
    expect((await liveCodes(carol)).sort()).toHaveLength(2);
    expect(await liveCodes(carol)).toContain(codeOf(elsewhere)?.codeId);
  });

  it('counts each mint of a batch for the velocity rules, as mints one after the other would', async () => {
    const dave = await customer();
    await koban.risk.settings.updateRule('account_velocity', { params: { codeMintsPerHourMax: 2 } }, analyst, 'mint batch test');
    try {
      const outcomes = await mintPaymentCodes(deps, [dave, dave, dave, dave]);
      expect(outcomes.map(refusalOf)).toEqual([null, null, 'payment_refused_by_risk', 'payment_refused_by_risk']);
      expect(await liveCodes(dave)).toEqual([codeOf(outcomes[1])?.codeId]);
    } finally {
      await koban.risk.settings.updateRule('account_velocity', { params: { codeMintsPerHourMax: 60 } }, analyst, 'mint batch test done');
    }
  });

  it('a challenged mint still mints (as the single mint did), is on record as a challenge and opens a case after the commit', async () => {
    const eve = await customer();
    const frank = await customer();
    await koban.risk.settings.updateRule('device_velocity', { params: { eventsPerHourMax: 1 } }, analyst, 'mint batch test');
    try {
      const outcomes = await mintPaymentCodes(deps, [eve, frank, eve]);
      expect(outcomes.map(refusalOf)).toEqual([null, null, null]);
      expect(await liveCodes(eve)).toEqual([codeOf(outcomes[2])?.codeId]);
      const decisions = await db.pool.query<{ id: string; decision: string }>(
        `select id, decision from risk_events where kind = 'payment_code_mint' and account_id = $1 order by decision`, [eve.customerId]);
      expect(decisions.rows.map((r) => r.decision)).toEqual(['allow', 'challenge']);
      const alerts = await db.pool.query<{ risk_event_id: string }>(
        `select a.risk_event_id from case_alerts a join cases c on c.id = a.case_id where c.account_id = $1`, [eve.customerId]);
      expect(alerts.rows.map((r) => r.risk_event_id)).toEqual([decisions.rows[1]?.id]);
    } finally {
      await koban.risk.settings.updateRule('device_velocity', { params: { eventsPerHourMax: 40 } }, analyst, 'mint batch test done');
    }
  });

  it('concurrent mints through the service share transactions and each gets its own live code', async () => {
    const many = await Promise.all(Array.from({ length: 24 }, () => customer()));
    const minted = await Promise.all(many.map((ctx) => koban.payments.payments.mintPaymentCode(ctx)));
    expect(new Set(minted.map((m) => m.code)).size).toBe(many.length);
    for (const [index, ctx] of many.entries()) expect(await liveCodes(ctx)).toEqual([minted[index]?.codeId]);
  });
});
