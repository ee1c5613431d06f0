// Operator session replay (issue 14): a console cookie copied to another browser or network worked. Sessions
// are now bound to the user agent and the /24 (or /64) that signed in; a mismatch ends the session, is
// audited, and the operator's own browser must sign in again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestKoban } from '../support/koban.ts';
import { createOperator, enrolPasskey, signInAs, signInWithPasskey } from './support.ts';

let env: Awaited<ReturnType<typeof startTestKoban>>;
beforeAll(async () => {
  env = await startTestKoban();
});
afterAll(async () => {
  await env?.close();
});

const CONSOLE_UA = 'Mozilla/5.0 (X11; Linux x86_64) KobanConsole/1';

/** Enrols a passkey from this browser and signs in with it (the session operators work in). */
async function signInFrom(ip: string, userAgent: string): Promise<{ cookie: string; operatorId: string }> {
  const created = await createOperator(env.koban, 'risk_analyst');
  const authenticator = await enrolPasskey(env.koban, created.operator.email, created.password, created.totpSecret, { remoteAddress: ip, userAgent });
  const session = await signInWithPasskey(env.koban, authenticator, { remoteAddress: ip, userAgent });
  return { cookie: session.cookie, operatorId: created.operator.id };
}

const me = (cookie: string, ip: string, userAgent: string) =>
  env.koban.app.inject({ method: 'GET', url: '/v1/ops/me', remoteAddress: ip, headers: { cookie, 'user-agent': userAgent } });

describe('operator sessions bound to their browser and network', () => {
  it('works from the browser and network that signed in (another address in the same /24 too)', async () => {
    const { cookie } = await signInFrom('198.51.100.20', CONSOLE_UA);
    expect((await me(cookie, '198.51.100.20', CONSOLE_UA)).statusCode).toBe(200);
    expect((await me(cookie, '198.51.100.21', CONSOLE_UA)).statusCode).toBe(200);
  });

  it('a cookie replayed from another user agent is refused with 401, ends the session and is audited', async () => {
    const { cookie, operatorId } = await signInFrom('198.51.100.30', CONSOLE_UA);
    const replay = await me(cookie, '198.51.100.30', 'curl/8.5.0');
    expect(replay.statusCode).toBe(401);
    expect(replay.json().code).toBe('unauthenticated');
    // The session is over for its rightful browser too: the operator signs in again.
    expect((await me(cookie, '198.51.100.30', CONSOLE_UA)).statusCode).toBe(401);
    const audit = await env.db.pool.query(`select details->>'why' as why from audit_events where action = 'operator.session_binding_broken' and actor_id = $1`, [operatorId]);
    expect(audit.rows).toEqual([{ why: 'user_agent' }]);
  });

  it('a cookie replayed from another network with the same user agent is refused too', async () => {
    const { cookie, operatorId } = await signInFrom('198.51.100.40', CONSOLE_UA);
    expect((await me(cookie, '203.0.113.40', CONSOLE_UA)).statusCode).toBe(401);
    const audit = await env.db.pool.query(`select details->>'why' as why from audit_events where action = 'operator.session_binding_broken' and actor_id = $1`, [operatorId]);
    expect(audit.rows).toEqual([{ why: 'network' }]);
  });

  it('the usual test operator (no user agent) keeps working across requests', async () => {
    const operator = await signInAs(env.koban, 'support');
    expect((await env.koban.app.inject({ method: 'GET', url: '/v1/ops/me', headers: operator.headers })).statusCode).toBe(200);
  });
});
