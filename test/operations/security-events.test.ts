// Invisible signals (issue 14): customers' sign-in failures and successes, factor locks and forged traffic
// were recorded but no operator could see them. GET /v1/ops/security-events shows them per customer and
// platform-wide, newest first with paging, role-checked (finance cannot), masked for support, audited.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestKoban } from '../support/koban.ts';
import { newClient, PUBLIC_URL, signUp, type Customer } from '../identity/support.ts';
import { opsRequest, signInAs, type SignedInOperator } from './support.ts';

let env: Awaited<ReturnType<typeof startTestKoban>>;
let analyst: SignedInOperator;
let victim: Customer;
beforeAll(async () => {
  env = await startTestKoban({ env: { KOBAN_PUBLIC_URL: PUBLIC_URL } });
  analyst = await signInAs(env.koban, 'risk_analyst');
  victim = await signUp(env.koban);
  // The customer signs in on their own, remembered phone: a success.
  await victim.client.request({ method: 'POST', url: '/v1/customer/login', body: { identifier: victim.email, password: victim.password } });
  // An attacker: one wrong password, then the right one from a new device and two wrong SMS codes.
  const attacker = newClient(env.koban, '203.0.113.90');
  await attacker.request({ method: 'POST', url: '/v1/customer/login', body: { identifier: victim.email, password: 'not the right password' } });
  const { challengeId } = (await attacker.request({ method: 'POST', url: '/v1/customer/login', body: { identifier: victim.email, password: victim.password } })).json();
  for (const code of ['000000', '999999']) await attacker.request({ method: 'POST', url: '/v1/customer/login/second-factor', body: { challengeId, method: 'sms', code } });
});
afterAll(async () => {
  await env?.close();
});

interface Page { events: Array<{ seq: string; type: string; outcome: string; customerId: string | null; ip: string | null; reasons: string[] }>; nextBefore: string | null }

describe('security events for operators', () => {
  it('show a customer\'s sign-in failures and successes, newest first, with the attacker\'s address', async () => {
    const response = await opsRequest(env.koban, analyst)('GET', `/v1/ops/security-events?customerId=${victim.customerId}&type=sign_in`);
    expect(response.statusCode).toBe(200);
    const { events } = response.json() as Page;
    const summary = events.map((e) => `${e.type}:${e.outcome}`);
    expect(summary.slice(0, 5)).toEqual(['login.second_factor:failure', 'login.second_factor:failure', 'login.password_correct_second_factor_pending:success', 'login.second_factor_required:success', 'login.password:failure']);
    expect(summary).toContain('login:success');
    expect(events.every((e) => e.customerId === victim.customerId)).toBe(true);
    expect(events[0]?.ip).toBe('203.0.113.90');
    expect(events.map((e) => Number(e.seq))).toEqual([...events.map((e) => Number(e.seq))].sort((a, b) => b - a));
  });

  it('page platform-wide with nextBefore, and filter failures', async () => {
    const get = opsRequest(env.koban, analyst);
    const first = (await get('GET', '/v1/ops/security-events?outcome=not_success&limit=2')).json() as Page;
    expect(first.events).toHaveLength(2);
    expect(first.events.every((e) => e.outcome !== 'success')).toBe(true);
    expect(first.nextBefore).toBe(first.events[1]?.seq);
    const second = (await get('GET', `/v1/ops/security-events?outcome=not_success&limit=2&before=${first.nextBefore}`)).json() as Page;
    expect(second.events.length).toBeGreaterThan(0);
    expect(Number(second.events[0]?.seq)).toBeLessThan(Number(first.nextBefore));
  });

  it('mask addresses for support, refuse roles without the permission, and audit every read', async () => {
    const support = await signInAs(env.koban, 'support');
    const masked = (await opsRequest(env.koban, support)('GET', `/v1/ops/security-events?customerId=${victim.customerId}&type=login.second_factor`)).json() as Page;
    expect(masked.events[0]?.ip).toBe('203.0.113.•');
    const finance = await signInAs(env.koban, 'finance');
    const refused = await opsRequest(env.koban, finance)('GET', '/v1/ops/security-events');
    expect(refused.statusCode).toBe(403);
    expect((await opsRequest(env.koban, null)('GET', '/v1/ops/security-events')).statusCode).toBe(401);
    const reads = await env.db.pool.query(`select actor_id from audit_events where action = 'security_events.read' and target_id = $1`, [victim.customerId]);
    expect(reads.rows.map((r: { actor_id: string }) => r.actor_id).sort()).toEqual([analyst.id, support.id].sort());
  });

  it('refuse a malformed filter with a 400 naming it', async () => {
    const response = await opsRequest(env.koban, analyst)('GET', '/v1/ops/security-events?customerId=not-a-uuid');
    expect(response.statusCode).toBe(400);
    expect(response.json().code).toBe('validation_failed');
  });
});
