// Platform-wide sign-in signals (issue 13): credential stuffing spread below every per-IP, per-network and
// per-account threshold — one or two tries per leaked address, each from its own network — raised nothing an
// operator could see. Now the failed sign-in rate and the share of right passwords whose second factor never
// follows are measured across all networks, and crossing a threshold opens a platform security event
// (`platform.sign_in_alert`) in the operators' security events; ordinary traffic does not.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestKoban } from '../support/koban.ts';
import { opsRequest, signInAs } from '../operations/support.ts';
import { lastCode, newClient, PUBLIC_URL, signUp, uniqueContacts, type Customer } from './support.ts';

// Small enough for a test to cross with a few dozen sign-ins; rates and windows are the defaults.
const ENV = { KOBAN_PUBLIC_URL: PUBLIC_URL, KOBAN_SIGNIN_ALERT_MIN_ATTEMPTS: '15', KOBAN_SIGNIN_ALERT_MIN_PENDING: '2' };
const ABANDON_AFTER_MS = 5 * 60_000;
/** 34 leaked addresses, every third tried twice: all wrong. */
const WRONG_TRIES = 34 + 12;

type Env = Awaited<ReturnType<typeof startTestKoban>>;
const login = (client: ReturnType<typeof newClient>, identifier: string, password: string) =>
  client.request({ method: 'POST', url: '/v1/customer/login', body: { identifier, password } });

/** The moment the traffic just made is looked at once every right password's second factor had its chance. */
async function afterAbandonDelay(env: Env): Promise<Date> {
  const now = (await env.db.pool.query<{ now: Date }>('select now()')).rows[0]?.now;
  if (now === undefined) throw new Error('no database time');
  return new Date(now.getTime() + ABANDON_AFTER_MS + 1_000);
}

async function platformAlerts(env: Env): Promise<Array<{ reasons: string[]; customer_id: string | null; details: Record<string, number> }>> {
  return (await env.db.pool.query(`select reasons, customer_id, details from security_events where event_type = 'platform.sign_in_alert'`)).rows;
}

describe('low-and-slow credential stuffing', () => {
  let env: Env;
  const statuses: string[] = [];
  beforeAll(async () => {
    env = await startTestKoban({ env: ENV });
    const victims: Customer[] = [];
    for (let i = 0; i < 6; i++) victims.push(await signUp(env.koban));
    // Ordinary customers keep signing in on their own phones meanwhile.
    for (let i = 0; i < 4; i++) {
      const customer = await signUp(env.koban);
      statuses.push((await login(customer.client, customer.email, customer.password)).json().status);
    }
    // A leaked list: the six victims' right passwords among addresses that are not Koban's or whose password differs.
    const leaked = [...victims.map((v) => ({ identifier: v.email, password: v.password })),
      ...Array.from({ length: 34 }, (_, i) => ({ identifier: uniqueContacts().email, password: `leaked password ${i}` }))];
    let network = 0;
    for (const [index, entry] of leaked.entries()) {
      const isVictim = index < victims.length;
      // One try per address, two for every third address that did not work: low and slow.
      const tries = !isVictim && index % 3 === 0 ? 2 : 1;
      for (let t = 0; t < tries; t++) {
        network++;
        // Every try from its own /24: no source, network or account comes near a threshold.
        const attacker = newClient(env.koban, `100.${64 + (network % 50)}.${network}.${10 + t}`);
        const response = (await login(attacker, entry.identifier, isVictim ? entry.password : `${entry.password}${t}`)).json() as { status?: unknown; code?: string };
        // A problem's status is its HTTP code; the outcome is then its code.
        statuses.push(typeof response.status === 'string' ? response.status : response.code ?? 'unknown');
      }
    }
  });
  afterAll(async () => {
    await env?.close();
  });

  it('stays below every per-network threshold: nothing is throttled, and right and wrong passwords alike wait for a second factor', async () => {
    const throttled = await env.db.pool.query(`select 1 from security_events where event_type = 'login.throttled'`);
    expect(throttled.rowCount).toBe(0);
    // The attacker sees a challenge for every try (decoys for the wrong ones, login/decoy.ts); Koban still counts 46 failures.
    expect(statuses.filter((s) => s === 'second_factor_required')).toHaveLength(6 + WRONG_TRIES);
    expect(statuses.filter((s) => s === 'signed_in')).toHaveLength(4);
    const failures = await env.db.pool.query(`select 1 from security_events where event_type = 'login.password' and outcome = 'failure'`);
    expect(failures.rowCount).toBe(WRONG_TRIES);
  });

  it('low-and-slow credential stuffing from many networks, each below every per-network threshold, raises a platform alert', async () => {
    const checked = await env.koban.identity.checkSignInHealth(await afterAbandonDelay(env));
    expect(checked.raised).toBe(true);
    expect(checked.reasons).toEqual(expect.arrayContaining(['failed_rate', 'failure_surge', 'abandoned_second_factor']));
    const alerts = await platformAlerts(env);
    expect(alerts).toHaveLength(1);
    const [alert] = alerts;
    expect(alert?.customer_id).toBeNull();
    // Only the six real challenges are pending right passwords: the decoys count as the failures they are.
    expect(alert?.details.pending).toBe(6);
    expect(alert?.details.abandoned).toBe(6);
    expect(alert?.details.failingNetworks).toBeGreaterThanOrEqual(30);
    expect(alert?.details.failedRate).toBeGreaterThan(0.7);
  });

  it('raises it once per window, not at every check', async () => {
    const again = await env.koban.identity.checkSignInHealth(await afterAbandonDelay(env));
    expect(again.raised).toBe(false);
    expect(again.reasons.length).toBeGreaterThan(0);
    expect(await platformAlerts(env)).toHaveLength(1);
  });

  it('operators see the alert in the platform security events and the figures behind it, gated by security_events.read', async () => {
    const analyst = await signInAs(env.koban, 'risk_analyst');
    const events = (await opsRequest(env.koban, analyst)('GET', '/v1/ops/security-events?type=platform')).json() as { events: Array<{ type: string; reasons: string[] }> };
    expect(events.events.map((e) => e.type)).toEqual(['platform.sign_in_alert']);
    expect(events.events[0]?.reasons).toContain('abandoned_second_factor');
    const health = await opsRequest(env.koban, analyst)('GET', '/v1/ops/sign-in-health');
    expect(health.statusCode).toBe(200);
    const body = health.json() as { window: { failures: number; failedRate: number }; minutes: Array<{ failures: number }>; alerts: Array<{ reasons: string[] }> };
    expect(body.window.failures).toBe(WRONG_TRIES);
    expect(body.minutes.reduce((n, m) => n + m.failures, 0)).toBe(body.window.failures);
    expect(body.alerts).toHaveLength(1);
    const finance = await signInAs(env.koban, 'finance');
    expect((await opsRequest(env.koban, finance)('GET', '/v1/ops/sign-in-health')).statusCode).toBe(403);
    expect((await opsRequest(env.koban, null)('GET', '/v1/ops/sign-in-health')).statusCode).toBe(401);
  });
});

describe('ordinary sign-in traffic', () => {
  let env: Env;
  beforeAll(async () => {
    env = await startTestKoban({ env: ENV });
    for (let i = 0; i < 12; i++) {
      const customer = await signUp(env.koban);
      // A few typos, then the right password on their own phone.
      if (i % 4 === 0) expect((await login(customer.client, customer.email, `${customer.password} typo`)).json().code).toBe('invalid_credentials');
      expect((await login(customer.client, customer.email, customer.password)).json().status).toBe('signed_in');
      if (i % 5 === 0) {
        // A new laptop: the right password, then the SMS code.
        const laptop = newClient(env.koban, `192.0.2.${i + 1}`);
        const { challengeId } = (await login(laptop, customer.email, customer.password)).json() as { challengeId: string };
        expect((await laptop.request({ method: 'POST', url: '/v1/customer/login/second-factor/sms', body: { challengeId } })).statusCode).toBe(202);
        const done = await laptop.request({ method: 'POST', url: '/v1/customer/login/second-factor', body: { challengeId, method: 'sms', code: await lastCode(env.koban, customer.phone) } });
        expect(done.json().status).toBe('signed_in');
      }
    }
  });
  afterAll(async () => {
    await env?.close();
  });

  it('ordinary sign-ins with a few typos and completed second factors raise no platform alert', async () => {
    const checked = await env.koban.identity.checkSignInHealth(await afterAbandonDelay(env));
    // Enough traffic for both measures to be judged, neither crossing its threshold.
    expect(checked.health.window.attempts).toBeGreaterThanOrEqual(15);
    expect(checked.health.window.failures).toBe(3);
    expect(checked.health.window.pending).toBe(3);
    expect(checked.health.window.abandoned).toBe(0);
    expect(checked.reasons).toEqual([]);
    expect(checked.raised).toBe(false);
    expect(await platformAlerts(env)).toHaveLength(0);
  });
});
