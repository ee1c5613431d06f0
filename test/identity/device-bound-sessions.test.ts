// Issue 13: a session is bound to a key its device holds (src/identity/sessions/device-proof.ts). A copied
// cookie (and CSRF token) is useless without the key; a proof cannot be replayed, redirected or kept for later;
// a session used from a new network proves possession again.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestKoban } from '../support/koban.ts';
import { deviceProof, newClient, newDeviceKey, PUBLIC_URL, signUp, type Client, type Customer } from './support.ts';

let env: Awaited<ReturnType<typeof startTestKoban>>;
beforeAll(async () => {
  env = await startTestKoban({ env: { KOBAN_PUBLIC_URL: PUBLIC_URL } });
});
afterAll(async () => {
  await env?.close();
});

/** The thief's client: the victim's cookies and CSRF token copied, its own key or none. */
function stolenSession(victim: Customer, ip: string, withOwnKey: boolean): Client {
  const thief = newClient(env.koban, ip, { deviceKey: withOwnKey });
  for (const [name, value] of victim.client.cookies) thief.cookies.set(name, value);
  thief.csrf = victim.client.csrf;
  return thief;
}

async function language(customerId: string): Promise<string | null> {
  const row = await env.db.pool.query<{ language: string | null }>('select language from customers where id = $1', [customerId]);
  return row.rows[0]?.language ?? null;
}

describe('sessions bound to a device key', () => {
  it('binds the session to the key the sign-in was signed with', async () => {
    const customer = await signUp(env.koban);
    const row = await env.db.pool.query<{ device_key_thumbprint: string | null }>('select device_key_thumbprint from sessions where customer_id = $1 and revoked_at is null', [customer.customerId]);
    expect(row.rows).toHaveLength(1);
    expect(row.rows[0]?.device_key_thumbprint).toMatch(/^[A-Za-z0-9_-]{43}$/);
  });

  it('refuses a copied session cookie without the device key (session_proof_required) and changes nothing', async () => {
    const victim = await signUp(env.koban);
    const thief = stolenSession(victim, victim.client.ip, false);
    const changed = await thief.request({ method: 'PUT', url: '/v1/customer/language', body: { language: 'ja' } });
    expect(changed.statusCode).toBe(401);
    expect(changed.json().code).toBe('session_proof_required');
    expect(await language(victim.customerId)).toBeNull();
    const own = await victim.client.request({ method: 'PUT', url: '/v1/customer/language', body: { language: 'ja' } });
    expect(own.statusCode).toBe(200);
  });

  it('refuses a copied session cookie signed with the thief\'s own key (session_proof_invalid)', async () => {
    const victim = await signUp(env.koban);
    const thief = stolenSession(victim, '203.0.113.80', true);
    const changed = await thief.request({ method: 'PUT', url: '/v1/customer/language', body: { language: 'ja' } });
    expect(changed.statusCode).toBe(401);
    expect(changed.json().code).toBe('session_proof_invalid');
    const read = await thief.request({ method: 'GET', url: '/v1/customer/me' });
    expect(read.json().code).toBe('session_proof_invalid');
    expect(await language(victim.customerId)).toBeNull();
  });

  it('refuses a replayed proof captured from the owner\'s request', async () => {
    const victim = await signUp(env.koban);
    const key = victim.client.deviceKey;
    if (key === null) throw new Error('the test client holds a key');
    const proof = await deviceProof(key, 'PUT', `${PUBLIC_URL}/v1/customer/language`);
    const first = await victim.client.request({ method: 'PUT', url: '/v1/customer/language', body: { language: 'en' }, headers: { dpop: proof } });
    expect(first.statusCode).toBe(200);
    const replayed = await stolenSession(victim, victim.client.ip, false).request({ method: 'PUT', url: '/v1/customer/language', body: { language: 'ja' }, headers: { dpop: proof } });
    expect(replayed.statusCode).toBe(401);
    expect(replayed.json().code).toBe('session_proof_invalid');
    expect(await language(victim.customerId)).toBe('en');
  });

  it('refuses a proof made for another request, or made long ago, even with the right key', async () => {
    const victim = await signUp(env.koban);
    const key = victim.client.deviceKey;
    if (key === null) throw new Error('the test client holds a key');
    const wrongs = [
      await deviceProof(key, 'POST', `${PUBLIC_URL}/v1/customer/language`),
      await deviceProof(key, 'PUT', `${PUBLIC_URL}/v1/customer/pin`),
      await deviceProof(key, 'PUT', `https://evil.example/v1/customer/language`),
      await deviceProof(key, 'PUT', `${PUBLIC_URL}/v1/customer/language`, {}, Math.floor(Date.now() / 1000) - 600),
      await deviceProof(key, 'PUT', `${PUBLIC_URL}/v1/customer/language`, {}, Math.floor(Date.now() / 1000) + 600),
      await deviceProof(key, 'PUT', `${PUBLIC_URL}/v1/customer/language`, { jti: 'short' }),
      'not-a-jws',
    ];
    for (const dpop of wrongs) {
      const response = await victim.client.request({ method: 'PUT', url: '/v1/customer/language', body: { language: 'ja' }, headers: { dpop } });
      expect(response.statusCode, dpop).toBe(401);
      expect(response.json().code).toBe('session_proof_invalid');
    }
    expect(await language(victim.customerId)).toBeNull();
  });

  it('lets reads go without a proof while the last one is fresh, on the same network', async () => {
    const customer = await signUp(env.koban);
    const bare = stolenSession(customer, customer.client.ip, false);
    const read = await bare.request({ method: 'GET', url: '/v1/customer/me' });
    expect(read.statusCode).toBe(200);
  });

  it('makes a session used from a new network prove possession again, even to read', async () => {
    const victim = await signUp(env.koban);
    const elsewhere = stolenSession(victim, '192.0.2.44', false);
    const read = await elsewhere.request({ method: 'GET', url: '/v1/customer/me' });
    expect(read.statusCode).toBe(401);
    expect(read.json().code).toBe('session_proof_required');
    // The owner moving to another network (mobile data) proves it and goes on.
    victim.client.ip = '192.0.2.45';
    expect((await victim.client.request({ method: 'GET', url: '/v1/customer/me' })).statusCode).toBe(200);
    const network = await env.db.pool.query<{ proof_network: string }>('select proof_network from sessions where customer_id = $1 and revoked_at is null', [victim.customerId]);
    expect(network.rows[0]?.proof_network).toBe('192.0.2.0/24');
  });

  it('binds a session started without a key to the first key that proves, and holds it to that key', async () => {
    const keyless = newClient(env.koban, '198.51.100.90', { deviceKey: false });
    const customer = (await signUp(env.koban, undefined, keyless)).customerId;
    const key = await newDeviceKey();
    const bound = await keyless.request({ method: 'PUT', url: '/v1/customer/language', body: { language: 'en' }, headers: { dpop: await deviceProof(key, 'PUT', `${PUBLIC_URL}/v1/customer/language`) } });
    expect(bound.statusCode).toBe(200);
    const unsigned = await keyless.request({ method: 'PUT', url: '/v1/customer/language', body: { language: 'ja' } });
    expect(unsigned.json().code).toBe('session_proof_required');
    const other = await keyless.request({ method: 'PUT', url: '/v1/customer/language', body: { language: 'ja' }, headers: { dpop: await deviceProof(await newDeviceKey(), 'PUT', `${PUBLIC_URL}/v1/customer/language`) } });
    expect(other.json().code).toBe('session_proof_invalid');
    expect(await language(customer)).toBe('en');
  });
});

describe('with KOBAN_SESSION_DEVICE_BINDING=required (production default)', () => {
  let strict: Awaited<ReturnType<typeof startTestKoban>>;
  beforeAll(async () => {
    strict = await startTestKoban({ db: env.db, env: { KOBAN_PUBLIC_URL: PUBLIC_URL, KOBAN_SESSION_DEVICE_BINDING: 'required' } });
  });
  afterAll(async () => {
    await strict?.close();
  });

  it('refuses a session whose client holds no device key', async () => {
    const keyless = newClient(strict.koban, '198.51.100.91', { deviceKey: false });
    await signUp(strict.koban, undefined, keyless);
    const me = await keyless.request({ method: 'GET', url: '/v1/customer/me' });
    expect(me.statusCode).toBe(401);
    expect(me.json().code).toBe('session_proof_required');
  });

  it('serves a client that signs in with its key', async () => {
    const customer = await signUp(strict.koban);
    expect((await customer.client.request({ method: 'GET', url: '/v1/customer/me' })).statusCode).toBe(200);
  });
});

