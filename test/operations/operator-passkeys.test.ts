// Operators on passkeys (issue 14): a password and TOTP code relayed from a look-alike site signed an
// operator in. Now the first password + TOTP sign-in only opens a short session that can enrol a passkey,
// inside an enrolment window; after that, only a passkey (bound to Koban's origin) signs in, and password +
// TOTP work only as break-glass approved by a second operator, audited and raised as security events.
import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestKoban } from '../support/koban.ts';
import { createOperator, enrolPasskey, opsRequest, signInAs, signInWithPasskey, totpCode, type SignedInOperator } from './support.ts';

let env: Awaited<ReturnType<typeof startTestKoban>>;
let approver: SignedInOperator;
beforeAll(async () => {
  env = await startTestKoban();
  approver = await signInAs(env.koban, 'risk_analyst');
});
afterAll(async () => {
  await env?.close();
});

const post = (url: string, payload: object, headers: Record<string, string> = {}, remoteAddress = '127.0.0.1') =>
  env.koban.app.inject({ method: 'POST', url, payload, headers, remoteAddress });
const auditOf = async (actorId: string, action: string) =>
  (await env.db.pool.query<{ outcome: string; why: string | null }>(`select outcome, details->>'why' as why from audit_events where actor_id = $1 and action = $2 order by id`, [actorId, action])).rows;

describe('operator sign-in is phishing-resistant', () => {
  it('a relayed password and TOTP code are refused once the operator has a passkey, and the refusal is audited', async () => {
    const operator = await signInAs(env.koban, 'administrator');
    const relayed = await post('/v1/ops/session', { email: operator.email, password: operator.password, totpCode: await totpCode(operator.totpSecret, 1) },
      { 'user-agent': 'curl/8.5.0' }, '203.0.113.66');
    expect(relayed.statusCode).toBe(403);
    expect(relayed.json().code).toBe('operator_passkey_required');
    expect(relayed.headers['set-cookie']).toBeUndefined();
    expect(await auditOf(operator.id, 'operator.sign_in')).toContainEqual({ outcome: 'denied', why: 'passkey_required' });
  });

  it('password + TOTP past the enrolment window are refused even without a passkey', async () => {
    const created = await createOperator(env.koban, 'support');
    await env.db.pool.query(`update operators set passkey_enrolment_until = now() - interval '1 minute' where id = $1`, [created.operator.id]);
    const late = await post('/v1/ops/session', { email: created.operator.email, password: created.password, totpCode: await totpCode(created.totpSecret) });
    expect(late.statusCode).toBe(403);
    expect(late.json().code).toBe('operator_passkey_enrolment_closed');
  });

  it('an enrolment session can only enrol a passkey: every other operator route is refused', async () => {
    const created = await createOperator(env.koban, 'administrator');
    const first = await post('/v1/ops/session', { email: created.operator.email, password: created.password, totpCode: await totpCode(created.totpSecret) });
    expect(first.json().sessionKind).toBe('enrolment');
    const headers = { cookie: String(first.headers['set-cookie']).split(';')[0] ?? '', 'x-csrf-token': first.json().csrfToken as string };
    for (const url of ['/v1/ops/cases', '/v1/ops/audit', '/v1/ops/me', '/v1/ops/operators']) {
      const response = await env.koban.app.inject({ method: 'GET', url, headers });
      expect(response.statusCode, url).toBe(403);
      expect(response.json().code).toBe('operator_passkey_enrolment_required');
    }
    const switched = await env.koban.app.inject({ method: 'PUT', url: '/v1/ops/switches/payments', headers, payload: { state: 'off', reason: 'attacker with a relayed code' } });
    expect(switched.statusCode).toBe(403);
    expect((await env.koban.app.inject({ method: 'GET', url: '/v1/ops/session', headers })).statusCode).toBe(200);
  });

  it('a passkey assertion made for a look-alike origin is refused', async () => {
    const created = await createOperator(env.koban, 'support');
    const authenticator = await enrolPasskey(env.koban, created.operator.email, created.password, created.totpSecret);
    const options = (await post('/v1/ops/session/passkey-options', {})).json();
    const phished = await post('/v1/ops/session/passkey', { challengeId: options.challengeId, response: authenticator.assert(options.options, { origin: 'https://koban-console.example' }) });
    expect(phished.statusCode).toBe(401);
    expect(phished.json().code).toBe('passkey_failed');
    expect(phished.headers['set-cookie']).toBeUndefined();
  });

  it('a cloned passkey (its signature counter going back) and a replayed challenge are refused', async () => {
    const created = await createOperator(env.koban, 'support');
    const authenticator = await enrolPasskey(env.koban, created.operator.email, created.password, created.totpSecret);
    await signInWithPasskey(env.koban, authenticator);
    const options = (await post('/v1/ops/session/passkey-options', {})).json();
    const cloned = await post('/v1/ops/session/passkey', { challengeId: options.challengeId, response: authenticator.assert(options.options, { signCount: 1 }) });
    expect(cloned.statusCode).toBe(401);
    const fresh = (await post('/v1/ops/session/passkey-options', {})).json();
    const answer = authenticator.assert(fresh.options);
    expect((await post('/v1/ops/session/passkey', { challengeId: fresh.challengeId, response: answer })).statusCode).toBe(200);
    expect((await post('/v1/ops/session/passkey', { challengeId: fresh.challengeId, response: answer })).statusCode).toBe(401);
    expect(await auditOf(created.operator.id, 'operator.sign_in')).toContainEqual({ outcome: 'failure', why: 'counter_regression' });
  });
});

describe('break-glass: password + TOTP with a second operator\'s approval', () => {
  // Each step needs a fresh authenticator code: this Koban's clock moves 30 s (one TOTP step) per attempt.
  let nowMs = Date.now();
  let glass: Awaited<ReturnType<typeof startTestKoban>>;
  beforeAll(async () => {
    glass = await startTestKoban({ clock: () => new Date(nowMs) });
  });
  afterAll(async () => {
    await glass?.close();
  });
  const nextCode = async (secret: string) => {
    nowMs += 30_000;
    return generate({ secret, epoch: Math.floor(nowMs / 1000) });
  };
  const postTo = (url: string, payload: object, headers: Record<string, string> = {}, remoteAddress = '127.0.0.1') =>
    glass.koban.app.inject({ method: 'POST', url, payload, headers, remoteAddress });

  it('needs another operator\'s approval, is bound to the requesting browser, and is audited and alerted', async () => {
    nowMs = Date.now();
    const [lost, approver] = [await signInAs(glass.koban, 'support'), await signInAs(glass.koban, 'risk_analyst')];
    // Past the steps the sign-ins above used (by the real clock), so the next code is fresh.
    nowMs = Date.now() + 30_000;
    const env = glass;
    const post = postTo;
    const browser = { 'user-agent': 'Mozilla/5.0 KobanConsole/1' };
    const asked = await post('/v1/ops/session/break-glass', { email: lost.email, password: lost.password, totpCode: await nextCode(lost.totpSecret), reason: 'laptop with my passkey stolen' }, browser);
    expect(asked.statusCode, asked.body).toBe(200);
    const { requestId, token } = asked.json() as { requestId: string; token: string };
    const complete = async (_step: number, headers = browser, ip = '127.0.0.1') =>
      post(`/v1/ops/session/break-glass/${requestId}`, { email: lost.email, password: lost.password, totpCode: await nextCode(lost.totpSecret), token }, headers, ip);

    // Not approved yet: refused.
    expect((await complete(2)).json().code).toBe('break_glass_not_approved');
    // The requester cannot approve their own request, even from a passkey session.
    const self = await opsRequest(env.koban, lost)('POST', `/v1/ops/break-glass/${requestId}/approve`, { reason: 'approving myself' });
    expect(self.statusCode).toBe(403);
    // A second operator sees it waiting and approves it.
    const waiting = (await opsRequest(env.koban, approver)('GET', '/v1/ops/break-glass')).json().items as Array<{ id: string; email: string; approvedBy: string | null }>;
    expect(waiting).toContainEqual(expect.objectContaining({ id: requestId, email: lost.email, approvedBy: null }));
    const approved = await opsRequest(env.koban, approver)('POST', `/v1/ops/break-glass/${requestId}/approve`, { reason: 'called them on their phone; confirmed' });
    expect(approved.statusCode, approved.body).toBe(200);

    // The token from another browser or network is refused; from the requesting one, a break-glass session.
    expect((await complete(3, { 'user-agent': 'curl/8.5.0' })).json().code).toBe('break_glass_not_found');
    expect((await complete(3, browser, '203.0.113.9')).json().code).toBe('break_glass_not_found');
    const session = await complete(4);
    expect(session.statusCode, session.body).toBe(200);
    expect(session.json().sessionKind).toBe('break_glass');
    const headers = { ...browser, cookie: String(session.headers['set-cookie']).split(';')[0] ?? '', 'x-csrf-token': session.json().csrfToken as string };
    expect((await env.koban.app.inject({ method: 'GET', url: '/v1/ops/me', headers })).json()).toMatchObject({ sessionKind: 'break_glass' });
    // Used once only.
    expect((await complete(5)).json().code).toBe('break_glass_not_found');

    const security = await env.db.pool.query<{ type: string }>(`select event_type as type from security_events where details->>'breakGlassId' = $1 order by seq`, [requestId]);
    expect(security.rows.map((row) => row.type)).toEqual(['operator.break_glass_requested', 'operator.break_glass_approved', 'operator.break_glass_used']);
    const audit = await env.db.pool.query<{ action: string; actor_id: string }>(`select action, actor_id from audit_events where target_id = $1 order by id`, [requestId]);
    expect(audit.rows).toEqual([
      { action: 'operator.break_glass_requested', actor_id: lost.id },
      { action: 'operator.break_glass_approved', actor_id: approver.id },
      { action: 'operator.sign_in', actor_id: lost.id },
    ]);
  }, 60_000);

  it('a support operator cannot approve a break-glass request', async () => {
    const support = await signInAs(env.koban, 'support');
    expect(approver.role).toBe('risk_analyst');
    const response = await opsRequest(env.koban, support)('POST', '/v1/ops/break-glass/00000000-0000-7000-8000-000000000001/approve', { reason: 'trying' });
    expect(response.statusCode).toBe(403);
  });
});
