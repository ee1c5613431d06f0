/**
 * Scoring a batch on the caller's transaction (src/risk/assess-batch.ts, here with the code mint's events) decides exactly as scoring the same events one
 * after the other with `assess`: same decisions, same reasons, same counters and links. The two runs use disjoint
 * accounts, devices, cards and networks (a prefix per run) at one fixed clock, so they share no state.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createChangeFeed } from '../../src/operations/change-feed.ts';
import { withTransaction } from '../../src/platform/db/database.ts';
import { createRisk, type Risk } from '../../src/risk/risk.ts';
import type { RiskDecision, RiskEvent } from '../../src/risk/types.ts';
import { createTestDatabase, type TestDatabase } from '../support/database.ts';

let db: TestDatabase;
let risk: Risk;
const at = new Date('2026-03-02T10:00:30Z');
const analyst = { kind: 'operator' as const, id: 'op-batch-tests' };
const alerted: string[] = [];
let failAlertsOf: string | null = null;

beforeAll(async () => {
  db = await createTestDatabase();
  risk = await createRisk(db, createChangeFeed(db, { intervalMs: 60_000, onError: () => undefined }), async (event, decision) => {
    if (event.accountId === failAlertsOf) throw new Error('case store unavailable');
    alerted.push(decision.id);
  }, () => at);
  // Low thresholds, so that a short sequence makes every mint rule fire somewhere.
  await risk.settings.updateRule('account_velocity', { params: { codeMintsPerHourMax: 3, topUpsPerHourMax: 4 } }, analyst, 'batch tests');
  await risk.settings.updateRule('shared_instrument', { params: { deviceAccountsMax: 2, cardAccountsMax: 2 } }, analyst, 'batch tests');
  await risk.settings.updateRule('device_velocity', { params: { eventsPerHourMax: 5 } }, analyst, 'batch tests');
  await risk.settings.updateRule('new_device_high_value', { params: { amountMinMinor: 4_000 } }, analyst, 'batch tests');
});
afterAll(async () => db.close());

/** A deterministic sequence over a few accounts, devices, cards and networks: mints, top-ups, new cards. */
function sequence(prefix: string, network: number): RiskEvent[] {
  let seed = 7;
  const pick = (n: number): number => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return seed % n; };
  return Array.from({ length: 40 }, (): RiskEvent => {
    const accountId = `${prefix}acct-${pick(4)}`;
    const deviceId = `${prefix}dev-${pick(5)}`;
    const ip = `10.${network}.${pick(3)}.${pick(200)}`;
    const kind = pick(4);
    if (kind === 0) return { kind: 'top_up', accountId, deviceId, ip, cardRef: `${prefix}card-${pick(3)}`, amountMinor: BigInt(1_000 * (1 + pick(8))) };
    if (kind === 1) return { kind: 'funding_source_add', accountId, deviceId, ip, cardRef: `${prefix}card-${pick(3)}` };
    return { kind: 'payment_code_mint', accountId, deviceId, ip };
  });
}

const shape = (decision: RiskDecision) => ({ decision: decision.decision, score: decision.score,
  reasons: decision.reasons.map((r) => ({ rule: r.rule, action: r.action, observed: r.observed, threshold: r.threshold })) });

async function countersOf(prefix: string, network: number): Promise<Record<string, string>> {
  const rows = await db.pool.query<{ key: string; n: string; amount: string }>(
    `select replace(replace(key, $1, ''), $3, '') as key, sum(count)::text as n, sum(amount_minor)::text as amount from risk_counters
      where key like '%' || $1 || '%' or key like '%' || $2 || '%' group by 1 order by 1`, [prefix, `net:10.${network}.`, `10.${network}.`]);
  return Object.fromEntries(rows.rows.map((row) => [row.key, `${row.n}/${row.amount}`]));
}

describe('risk scored as a batch', () => {
  it('decides every event exactly as assessing them one after the other would, and counts the same', async () => {
    const one = `s${randomUUID().slice(0, 8)}-`;
    const many = `b${randomUUID().slice(0, 8)}-`;
    const sequential: RiskDecision[] = [];
    for (const event of sequence(one, 1)) sequential.push(await risk.assess(event));
    const scored = await withTransaction(db, async (client) => {
      const result = await risk.assessBatch(client, sequence(many, 2));
      await result.record(client);
      return result.decisions;
    });
    expect(scored.map(shape)).toEqual(sequential.map(shape));
    // The sequence is not trivial: rules fired, of several kinds and actions.
    const fired = new Set(sequential.flatMap((d) => d.reasons.map((r) => r.rule)));
    expect(fired.size).toBeGreaterThanOrEqual(3);
    expect(new Set(sequential.map((d) => d.decision)).size).toBeGreaterThanOrEqual(2);
    expect(await countersOf(many, 2)).toEqual(await countersOf(one, 1));
    const links = await db.pool.query<{ run: string; n: string }>(
      `select left(account_id, 10) as run, count(*)::text as n from risk_links where account_id like $1 || '%' or account_id like $2 || '%' group by 1`, [one, many]);
    expect(links.rows.find((r) => r.run === many.slice(0, 10))?.n).toBe(links.rows.find((r) => r.run === one.slice(0, 10))?.n);
    const recorded = await db.pool.query<{ id: string; decision: string }>(`select id, decision from risk_events where account_id like $1 || '%'`, [many]);
    expect(new Map(recorded.rows.map((r) => [r.id, r.decision]))).toEqual(new Map(scored.map((d) => [d.id, d.decision])));
  });

  it('records nothing when the caller\'s transaction rolls back', async () => {
    const prefix = `r${randomUUID().slice(0, 8)}-`;
    await expect(withTransaction(db, async (client) => {
      await (await risk.assessBatch(client, sequence(prefix, 3))).record(client);
      throw new Error('the caller failed');
    })).rejects.toThrow('the caller failed');
    expect(await countersOf(prefix, 3)).toEqual({});
    expect((await db.pool.query(`select 1 from risk_events where account_id like $1 || '%'`, [prefix])).rowCount).toBe(0);
  });

  it('raises an alert for each decision but allow after the commit; one failing alert is that event\'s alone', async () => {
    const prefix = `a${randomUUID().slice(0, 8)}-`;
    const blocked = `${prefix}stolen-phone`;
    await risk.settings.addToList('blocked_device', blocked, 'stolen phone reported', analyst);
    const events: RiskEvent[] = [
      { kind: 'payment_code_mint', accountId: `${prefix}alice`, deviceId: blocked },
      { kind: 'payment_code_mint', accountId: `${prefix}bob`, deviceId: `${prefix}bobs-phone` },
      { kind: 'payment_code_mint', accountId: `${prefix}carol`, deviceId: blocked },
    ];
    const batch = await withTransaction(db, async (client) => {
      const result = await risk.assessBatch(client, events);
      await result.record(client);
      return result;
    });
    const scored = batch.decisions;
    expect(scored.map((d) => d.decision)).toEqual(['deny', 'allow', 'deny']);
    failAlertsOf = `${prefix}carol`;
    const failures = await batch.afterCommit();
    failAlertsOf = null;
    expect(failures[0]).toBeNull();
    expect(failures[1]).toBeNull();
    expect(failures[2]).toMatchObject({ message: 'case store unavailable' });
    expect(alerted).toContain(scored[0]?.id);
    expect(alerted).not.toContain(scored[1]?.id);
  });
});
