/**
 * The risk engine scoring a batch in one transaction (src/risk/assess-batch.ts, issue 11) decides exactly as
 * `assess` one event after the other: the same decisions with the same reasons and observed values, because
 * each event of the batch sees what the ones before it added (counters, links, devices). Both runs use the
 * same fixed clock and their own accounts, device, store, network and merchant, so they cannot see each other.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChangeFeed } from '../../src/operations/change-feed.ts';
import { createRisk, type Risk } from '../../src/risk/risk.ts';
import type { RiskDecision, RiskEvent } from '../../src/risk/types.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

let db: TestDatabase;
let risk: Risk;
const alerts: string[] = [];
const NOW = new Date('2026-12-03T12:00:05Z');

beforeAll(async () => {
  db = await createTestDatabase();
  risk = await createRisk(db, createChangeFeed(db, { intervalMs: 60_000, onError: () => undefined }), async (_event, decision) => {
    alerts.push(decision.id);
  }, () => NOW);
});
afterAll(async () => db.close());

/** A thief's stolen wallet (A) spending fast, on a phone shared by four accounts, with a second phone appearing: one scenario, fresh ids. */
function scenario(octet: number): RiskEvent[] {
  const [a, b, c, d] = [1, 2, 3, 4].map(() => `cust-${randomUUID()}`) as [string, string, string, string];
  const shared = `dev-${randomUUID()}`;
  const second = `dev-${randomUUID()}`;
  const storeId = randomUUID();
  const merchantId = randomUUID();
  const pay = (accountId: string, deviceId: string, amountMinor: bigint, index: number): RiskEvent => ({
    kind: 'payment', accountId, deviceId, storeId, merchantId, merchantCategoryCode: '5411', amountMinor, ip: `203.0.${octet}.7`, balanceMinor: 50_000n, ref: `pay-${index}`,
  });
  return [pay(a, shared, 4_000n, 0), pay(b, shared, 500n, 1), pay(a, shared, 4_000n, 2), pay(c, shared, 500n, 3), pay(a, second, 4_000n, 4),
    pay(d, shared, 500n, 5), pay(a, shared, 4_000n, 6), pay(b, shared, 500n, 7), pay(a, second, 9_000n, 8)];
}

const summary = (decision: RiskDecision): string =>
  `${decision.decision} ${decision.reasons.map((reason) => `${reason.rule}:${reason.observed ?? ''}`).sort().join(',')}`;

describe('risk per batch', () => {
  it('a batch scored in one transaction gets the decisions, reasons and observed values of the same events scored one by one', async () => {
    const oneByOne: string[] = [];
    for (const event of scenario(1)) oneByOne.push(summary(await risk.assess(event)));

    const events = scenario(2);
    const client = await db.pool.connect();
    let batch;
    try {
      await client.query('begin');
      batch = await risk.assessBatch(client, events);
      await batch.record(client);
      await client.query('commit');
    } finally {
      client.release();
    }
    await batch.afterCommit();
    expect(batch.decisions.map(summary)).toEqual(oneByOne);
    // Not a trivial scenario: the rules that need the batch's own earlier events fired.
    expect(oneByOne.join(' ')).toContain('shared_instrument:4');
    expect(oneByOne.join(' ')).toContain('account_spending_budget');
    // Every decision is recorded in the transaction, and the ones that were not allows raised their alerts after it.
    const recorded = await db.pool.query<{ id: string; decision: string }>('select id, decision from risk_events where id = any($1)', [batch.decisions.map((d) => d.id)]);
    expect(recorded.rows.length).toBe(events.length);
    const flagged = batch.decisions.filter((d) => d.decision !== 'allow').map((d) => d.id);
    expect(flagged.length).toBeGreaterThan(0);
    expect(flagged.every((id) => alerts.includes(id))).toBe(true);
  });

  it('a batch rolled back counts nothing: the same events scored again decide as the first time', async () => {
    const events = scenario(3);
    const client = await db.pool.connect();
    let first;
    try {
      await client.query('begin');
      first = await risk.assessBatch(client, events);
      await first.record(client);
      await client.query('rollback');
      await client.query('begin');
      const again = await risk.assessBatch(client, events);
      await client.query('rollback');
      expect(again.decisions.map(summary)).toEqual(first.decisions.map(summary));
    } finally {
      client.release();
    }
    const recorded = await db.pool.query('select 1 from risk_events where id = any($1)', [first.decisions.map((d) => d.id)]);
    expect(recorded.rowCount).toBe(0);
  });
});
