/**
 * Backtest of a proposed rule change against the recorded decisions, on real PostgreSQL through the
 * operators' API: a tightened threshold counts the events that would now fire, a loosened one the events
 * that would no longer fire; bad input is a 400 problem that changes nothing.
 */
import { randomUUID } from 'node:crypto';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Koban } from '../../src/koban.ts';
import { startTestKoban } from '../support/koban.ts';
import { opsRequest, signInAs, type SignedInOperator } from '../operations/support.ts';

let env: Awaited<ReturnType<typeof startTestKoban>>;
let koban: Koban;
let risk: SignedInOperator;
let finance: SignedInOperator;

interface Backtest {
  events: number; replay: string; newlyFiring: number; noLongerFiring: number; notReplayable: number;
  before: Record<string, number>; after: Record<string, number>; changes: Array<{ from: string; to: string; count: number }>;
  examples: Array<{ eventId: string; accountId: string | null; before: string; after: string; observed: string | null }>;
}

/** Small top-ups (no device, no card): only account_velocity's hourly count can fire on them. */
async function topUps(accountId: string, n: number): Promise<string[]> {
  const decisions: string[] = [];
  for (let i = 0; i < n; i += 1) decisions.push((await koban.risk.assess({ kind: 'top_up', accountId, amountMinor: 1_000n, ref: randomUUID() })).decision);
  return decisions;
}

const as = (operator: SignedInOperator) => opsRequest(koban, operator);
const backtest = async (body: unknown) => {
  const response = await as(risk)('POST', '/v1/ops/risk/rules/account_velocity/backtest', body);
  expect(response.statusCode, response.body).toBe(200);
  return response.json() as Backtest;
};

beforeAll(async () => {
  env = await startTestKoban({ env: { KOBAN_LOG_LEVEL: "error" } });
  koban = env.koban;
  [risk, finance] = [await signInAs(koban, 'risk_analyst'), await signInAs(koban, 'finance')];
}, 60_000);
afterAll(async () => {
  await env.close();
});

describe('backtest of account_velocity (recounted from the recorded events)', () => {
  const twice = `acct-twice-${randomUUID()}`;
  const once = `acct-once-${randomUUID()}`;

  it('a tightened threshold counts the events that would now fire, and saves nothing', async () => {
    expect(await topUps(twice, 2)).toEqual(['allow', 'allow']);
    expect(await topUps(once, 1)).toEqual(['allow']);
    const version = koban.risk.settings.ruleVersion();
    const result = await backtest({ params: { topUpsPerHourMax: 1 } });
    expect(result.replay).toBe('recount');
    expect(result.events).toBe(3);
    expect(result.newlyFiring).toBe(1);
    expect(result.changes).toEqual([{ from: 'allow', to: 'review', count: 1 }]);
    expect(result.after).toEqual({ allow: 2, challenge: 0, review: 1, deny: 0 });
    expect(result.examples.map((e) => [e.accountId, e.observed])).toEqual([[twice, '2']]);
    // The same change with a deny action: the event would be refused instead.
    expect((await backtest({ params: { topUpsPerHourMax: 1 }, action: 'deny' })).changes).toEqual([{ from: 'allow', to: 'deny', count: 1 }]);
    expect(koban.risk.settings.ruleVersion()).toBe(version);
    expect(koban.risk.settings.describeRules().find((rule) => rule.id === 'account_velocity')?.params['topUpsPerHourMax']).toBe(6);
  });

  it('a loosened threshold counts the events that would no longer fire', async () => {
    const changed = await koban.app.inject({ method: 'PATCH', url: '/v1/ops/risk/rules/account_velocity', headers: risk.headers,
      payload: { params: { topUpsPerHourMax: 1 }, reason: 'backtest test: tighten' } });
    expect(changed.statusCode, changed.body).toBe(200);
    const third = `acct-third-${randomUUID()}`;
    expect(await topUps(third, 2)).toEqual(['allow', 'review']);
    const result = await backtest({ params: { topUpsPerHourMax: 6 } });
    expect(result.noLongerFiring).toBe(1);
    expect(result.newlyFiring).toBe(0);
    expect(result.changes).toEqual([{ from: 'review', to: 'allow', count: 1 }]);
    expect(result.before).toEqual({ allow: 4, challenge: 0, review: 1, deny: 0 });
    expect(result.after).toEqual({ allow: 5, challenge: 0, review: 0, deny: 0 });
    expect(result.examples[0]?.accountId).toBe(third);
    // Disabling it would also let that one through.
    expect((await backtest({ enabled: false })).noLongerFiring).toBe(1);
  });
});

describe('backtest of failure_burst (re-judged from the observed value stored where it fired)', () => {
  it('a looser threshold is judged exactly; a tighter one counts what it cannot re-judge instead of guessing', async () => {
    for (let i = 0; i < 30; i += 1) await koban.risk.recordFailure({ kind: 'password', accountId: null, ip: '203.0.113.5' });
    const decision = await koban.risk.assess({ kind: 'sign_in', accountId: `acct-burst-${randomUUID()}`, ip: '203.0.113.7' });
    expect(decision.reasons.map((reason) => reason.rule)).toEqual(['failure_burst']);
    const post = async (body: unknown) => {
      const response = await as(risk)('POST', '/v1/ops/risk/rules/failure_burst/backtest', body);
      expect(response.statusCode, response.body).toBe(200);
      return response.json() as Backtest;
    };
    const looser = await post({ params: { networkFailuresMax: 31 } });
    expect(looser.replay).toBe('fired');
    expect(looser.changes).toEqual([{ from: 'challenge', to: 'allow', count: 1 }]);
    expect([looser.noLongerFiring, looser.notReplayable]).toEqual([1, 0]);
    expect(looser.examples[0]?.observed).toBe('30');
    const tighter = await post({ params: { networkFailuresMax: 29 } });
    expect(tighter.changes).toEqual([]);
    expect(tighter.notReplayable).toBe(tighter.events - 1);
    expect(tighter.events).toBeGreaterThan(1);
  });
});

describe('backtest of a rule whose inputs are not recorded', () => {
  it('counts the events it cannot re-judge instead of guessing', async () => {
    const response = await as(risk)('POST', '/v1/ops/risk/rules/unusual_context/backtest', { params: { smallAmountMinor: '1' }, days: 1 });
    expect(response.statusCode, response.body).toBe(200);
    const result = response.json() as Backtest;
    expect(result.replay).toBe('action_only');
    expect(result.changes).toEqual([]);
  });
});

describe('bad input is a 400 problem and changes nothing', () => {
  it.each([
    ['days above 30', { days: 31 }],
    ['days zero', { days: 0 }],
    ['a threshold out of range', { params: { topUpsPerHourMax: 0 } }],
    ['a parameter the rule does not have', { params: { topUpsPerDayMax: 3 } }],
    ['an amount that is not digits', { params: { topUpAmountPerDayMaxMinor: '-5' } }],
    ['an unknown action', { action: 'allow' }],
    ['an extra field', { reason: 'not here', params: {} }],
  ])('%s', async (_name, body) => {
    const version = koban.risk.settings.ruleVersion();
    const settings = await koban.db.pool.query('select count(*)::int as n from risk_rule_settings');
    const response = await as(risk)('POST', '/v1/ops/risk/rules/account_velocity/backtest', body);
    expect(response.statusCode, response.body).toBe(400);
    expect(response.headers['content-type']).toContain('application/problem+json');
    expect(koban.risk.settings.ruleVersion()).toBe(version);
    expect((await koban.db.pool.query('select count(*)::int as n from risk_rule_settings')).rows[0]).toEqual(settings.rows[0]);
  });

  it('an unknown rule is a 404 problem', async () => {
    expect((await as(risk)('POST', '/v1/ops/risk/rules/no_such_rule/backtest', {})).statusCode).toBe(404);
  });

  it('privilege escalation: an operator who may not read rules cannot backtest them', async () => {
    expect((await as(finance)('POST', '/v1/ops/risk/rules/account_velocity/backtest', {})).statusCode).toBe(403);
  });
});
