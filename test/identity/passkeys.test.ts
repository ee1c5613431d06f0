// Passkeys end to end with a software authenticator (real P-256 keys, real attestation objects and
// assertions): registration, passwordless sign-in, second factor and step-up, and one test per
// attack the server must refuse (WA-01..05).
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestKoban } from '../support/koban.ts';
import { newClient, PUBLIC_URL, signUp, stepUpByPasskey, stepUpBySms, type Client, type Customer } from './support.ts';
import { createSoftAuthenticator, type SoftAuthenticator } from './support/soft-authenticator.ts';
import type { AuthenticationResponseJSON, PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON, RegistrationResponseJSON } from '@simplewebauthn/server';

let env: Awaited<ReturnType<typeof startTestKoban>>;
beforeAll(async () => {
  env = await startTestKoban({ env: { KOBAN_PUBLIC_URL: PUBLIC_URL } });
});
afterAll(async () => {
  await env?.close();
});

/** A customer who already has a passkey steps up with it: the policy refuses SMS for change_factors then. */
async function registrationOptions(customer: Customer, existing?: SoftAuthenticator): Promise<{ challengeId: string; options: PublicKeyCredentialCreationOptionsJSON }> {
  const grant = existing === undefined
    ? await stepUpBySms(env.koban, customer, 'change_factors', { factor: 'passkey' })
    : await stepUpByPasskey(customer, (options) => existing.assert(options), 'change_factors', { factor: 'passkey' });
  const response = await customer.client.request({ method: 'POST', url: '/v1/customer/passkeys/registration/options', body: {}, headers: { 'x-step-up-grant': grant } });
  expect(response.statusCode).toBe(200);
  return response.json();
}

function finishRegistration(customer: Customer, challengeId: string, credential: RegistrationResponseJSON) {
  return customer.client.request({ method: 'POST', url: '/v1/customer/passkeys/registration', body: { webauthnChallengeId: challengeId, credential, name: 'Test phone' } });
}

/** Signs a customer up and registers one passkey on a fresh soft authenticator. */
async function customerWithPasskey(): Promise<{ customer: Customer; authenticator: SoftAuthenticator }> {
  const customer = await signUp(env.koban);
  const authenticator = createSoftAuthenticator(PUBLIC_URL);
  const { challengeId, options } = await registrationOptions(customer);
  const done = await finishRegistration(customer, challengeId, authenticator.register(options));
  expect(done.statusCode).toBe(201);
  return { customer, authenticator };
}

async function passwordlessOptions(client: Client): Promise<{ challengeId: string; options: PublicKeyCredentialRequestOptionsJSON }> {
  const response = await client.request({ method: 'POST', url: '/v1/customer/passkeys/login/options', body: {} });
  expect(response.statusCode).toBe(200);
  return response.json();
}

function passwordlessLogin(client: Client, challengeId: string, credential: AuthenticationResponseJSON) {
  return client.request({ method: 'POST', url: '/v1/customer/passkeys/login', body: { webauthnChallengeId: challengeId, credential } });
}

describe('passkey registration and passwordless sign-in', () => {
  it('registers a passkey (UV required, alert sent) and signs in with it on a new device without a password', async () => {
    const { customer, authenticator } = await customerWithPasskey();
    const stored = await env.db.pool.query<{ counter: bigint; device_type: string }>('select counter, device_type from passkeys where customer_id = $1', [customer.customerId]);
    expect(stored.rows).toEqual([{ counter: 0n, device_type: 'singleDevice' }]);
    const laptop = newClient(env.koban, '198.51.100.140');
    const { challengeId, options } = await passwordlessOptions(laptop);
    expect(options.userVerification).toBe('required');
    expect(options.allowCredentials ?? []).toEqual([]);
    const done = await passwordlessLogin(laptop, challengeId, authenticator.assert(options));
    expect(done.statusCode).toBe(200);
    expect(done.json()).toMatchObject({ status: 'signed_in', customerId: customer.customerId });
    expect((await laptop.request({ method: 'GET', url: '/v1/customer/me' })).statusCode).toBe(200);
    const counter = await env.db.pool.query<{ counter: bigint }>('select counter from passkeys where customer_id = $1', [customer.customerId]);
    expect(counter.rows[0]?.counter).toBe(1n);
  });

  it('a challenge is single use: a replayed assertion is refused (WA-01)', async () => {
    const { authenticator } = await customerWithPasskey();
    const client = newClient(env.koban, '198.51.100.141');
    const { challengeId, options } = await passwordlessOptions(client);
    const assertion = authenticator.assert(options);
    expect((await passwordlessLogin(client, challengeId, assertion)).statusCode).toBe(200);
    const replay = await passwordlessLogin(newClient(env.koban, '198.51.100.141'), challengeId, assertion);
    expect(replay.statusCode).toBe(401);
    expect(replay.json().code).toBe('passkey_failed');
    // The same replay from the same device fares no better.
    expect((await passwordlessLogin(client, challengeId, assertion)).json().code).toBe('passkey_failed');
  });

  it('a failed assertion still burns the challenge, so the right one cannot follow it (WA-01)', async () => {
    const { authenticator } = await customerWithPasskey();
    const client = newClient(env.koban, '198.51.100.142');
    const { challengeId, options } = await passwordlessOptions(client);
    expect((await passwordlessLogin(client, challengeId, authenticator.assert(options, { userVerified: false }))).json().code).toBe('passkey_failed');
    expect((await passwordlessLogin(client, challengeId, authenticator.assert(options))).json().code).toBe('passkey_failed');
  });

  it('refuses an assertion made on a phishing origin (WA-02)', async () => {
    const { authenticator } = await customerWithPasskey();
    const client = newClient(env.koban, '198.51.100.143');
    const { challengeId, options } = await passwordlessOptions(client);
    const phished = await passwordlessLogin(client, challengeId, authenticator.assert(options, { origin: 'https://koban.test.evil.example' }));
    expect(phished.statusCode).toBe(401);
    expect(phished.json().code).toBe('passkey_failed');
    expect(client.cookies.has('__Host-koban_session')).toBe(false);
  });

  it('refuses an assertion scoped to another RP id (WA-02 rpIdHash)', async () => {
    const { authenticator } = await customerWithPasskey();
    const client = newClient(env.koban, '198.51.100.144');
    const { challengeId, options } = await passwordlessOptions(client);
    const response = await passwordlessLogin(client, challengeId, authenticator.assert(options, { rpId: 'evil.example' }));
    expect(response.json().code).toBe('passkey_failed');
  });

  it('refuses an assertion made inside another site\'s iframe (crossOrigin, WA-02)', async () => {
    const { authenticator } = await customerWithPasskey();
    const client = newClient(env.koban, '198.51.100.149');
    const { challengeId, options } = await passwordlessOptions(client);
    const framed = await passwordlessLogin(client, challengeId, authenticator.assert(options, { embeddedIn: 'https://evil.example' }));
    expect(framed.json().code).toBe('passkey_failed');
  });

  it('refuses a registration made on another origin, for another RP id or inside another site\'s iframe, storing nothing', async () => {
    const customer = await signUp(env.koban);
    const authenticator = createSoftAuthenticator(PUBLIC_URL);
    for (const overrides of [{ origin: 'https://evil.example' }, { rpId: 'evil.example' }, { embeddedIn: 'https://evil.example' }]) {
      const { challengeId, options } = await registrationOptions(customer);
      const response = await finishRegistration(customer, challengeId, authenticator.register(options, overrides));
      expect(response.json().code).toBe('passkey_failed');
    }
    expect((await env.db.pool.query('select 1 from passkeys where customer_id = $1', [customer.customerId])).rowCount).toBe(0);
  });

  it('requires user verification at registration and at sign-in (WA-05)', async () => {
    const customer = await signUp(env.koban);
    const authenticator = createSoftAuthenticator(PUBLIC_URL);
    const { challengeId, options } = await registrationOptions(customer);
    expect(options.authenticatorSelection?.userVerification).toBe('required');
    expect((await finishRegistration(customer, challengeId, authenticator.register(options, { userVerified: false }))).json().code).toBe('passkey_failed');
    const { authenticator: registered } = await customerWithPasskey();
    const client = newClient(env.koban, '198.51.100.145');
    const login = await passwordlessOptions(client);
    expect((await passwordlessLogin(client, login.challengeId, registered.assert(login.options, { userVerified: false }))).json().code).toBe('passkey_failed');
  });

  it("a passkey registered to customer A cannot sign in as customer B (user handle swapped)", async () => {
    const a = await customerWithPasskey();
    const b = await customerWithPasskey();
    const bHandle = b.authenticator.credentials[0]?.userHandle;
    expect(bHandle).toBeDefined();
    const client = newClient(env.koban, '198.51.100.146');
    const { challengeId, options } = await passwordlessOptions(client);
    // The user handle is not covered by the signature, so an attacker can change it: the server must not trust it.
    const swapped = await passwordlessLogin(client, challengeId, a.authenticator.assert(options, { userHandle: bHandle }));
    expect(swapped.json().code).toBe('passkey_failed');
    expect(client.cookies.has('__Host-koban_session')).toBe(false);
  });

  it("customer A's passkey cannot answer customer B's second-factor challenge", async () => {
    const a = await customerWithPasskey();
    const b = await customerWithPasskey();
    const attacker = newClient(env.koban, '203.0.113.146');
    const login = await attacker.request({ method: 'POST', url: '/v1/customer/login', body: { identifier: b.customer.email, password: b.customer.password } });
    const { challengeId } = login.json();
    const options = (await attacker.request({ method: 'POST', url: '/v1/customer/login/second-factor/passkey-options', body: { challengeId } })).json();
    const credential = a.authenticator.assert(options.options, { credential: a.authenticator.credentials[0] });
    const response = await attacker.request({ method: 'POST', url: '/v1/customer/login/second-factor', body: { challengeId, method: 'passkey', webauthnChallengeId: options.challengeId, credential } });
    expect(response.statusCode).toBe(401);
    expect(response.json().code).toBe('second_factor_failed');
    expect(attacker.cookies.has('__Host-koban_session')).toBe(false);
  });

  it('the same credential id cannot be registered twice, to another customer or to the same one (WA-03)', async () => {
    const a = await customerWithPasskey();
    const stolenId = a.authenticator.credentials[0]?.id;
    expect(stolenId).toBeDefined();
    const b = await signUp(env.koban);
    const attacker = createSoftAuthenticator(PUBLIC_URL);
    const other = await registrationOptions(b);
    const response = await finishRegistration(b, other.challengeId, attacker.register(other.options, { credentialId: stolenId }));
    expect(response.statusCode).toBe(409);
    expect(response.json().code).toBe('passkey_already_registered');
    const again = await registrationOptions(a.customer, a.authenticator);
    expect(again.options.excludeCredentials?.map((c) => c.id)).toEqual([stolenId?.toString('base64url')]);
    expect((await finishRegistration(a.customer, again.challengeId, attacker.register(again.options, { credentialId: stolenId }))).json().code).toBe('passkey_already_registered');
    const owners = await env.db.pool.query<{ customer_id: string }>('select customer_id from passkeys where credential_id = $1', [stolenId?.toString('base64url')]);
    expect(owners.rows).toEqual([{ customer_id: a.customer.customerId }]);
  });

  it('refuses a signature counter that goes backwards (a cloned authenticator) and records it (WA-04)', async () => {
    const { customer, authenticator } = await customerWithPasskey();
    const phone = newClient(env.koban, '198.51.100.147');
    const first = await passwordlessOptions(phone);
    expect((await passwordlessLogin(phone, first.challengeId, authenticator.assert(first.options, { signCount: 7 }))).statusCode).toBe(200);
    const client = newClient(env.koban, '198.51.100.148');
    const cloned = await passwordlessOptions(client);
    const response = await passwordlessLogin(client, cloned.challengeId, authenticator.assert(cloned.options, { signCount: 7 }));
    expect(response.json().code).toBe('passkey_failed');
    const events = await env.db.pool.query(`select 1 from security_events where customer_id = $1 and event_type = 'passkey.counter_regression'`, [customer.customerId]);
    expect(events.rowCount).toBe(1);
    const stored = await env.db.pool.query<{ counter: bigint }>('select counter from passkeys where customer_id = $1', [customer.customerId]);
    expect(stored.rows[0]?.counter).toBe(7n);
  });

  it('accepts a synced passkey that always reports counter 0', async () => {
    const customer = await signUp(env.koban);
    const authenticator = createSoftAuthenticator(PUBLIC_URL);
    const { challengeId, options } = await registrationOptions(customer);
    expect((await finishRegistration(customer, challengeId, authenticator.register(options, { backedUp: true }))).statusCode).toBe(201);
    for (let i = 0; i < 2; i++) {
      const client = newClient(env.koban, `198.51.100.${150 + i}`);
      const login = await passwordlessOptions(client);
      expect((await passwordlessLogin(client, login.challengeId, authenticator.assert(login.options, { signCount: 0, backedUp: true }))).statusCode).toBe(200);
    }
  });
});

describe('passkey as second factor and for step-up', () => {
  it('answers the second factor on a new device after the password, and remembers the device', async () => {
    const { customer, authenticator } = await customerWithPasskey();
    const laptop = newClient(env.koban, '198.51.100.160');
    const login = (await laptop.request({ method: 'POST', url: '/v1/customer/login', body: { identifier: customer.email, password: customer.password } })).json();
    expect(login.status).toBe('second_factor_required');
    expect(login.methods).toContain('passkey');
    const options = await laptop.request({ method: 'POST', url: '/v1/customer/login/second-factor/passkey-options', body: { challengeId: login.challengeId } });
    const { challengeId: webauthnChallengeId, options: requestOptions } = options.json();
    // Discoverable: a list of the account's credentials would tell a stranger the password was right.
    expect(requestOptions.allowCredentials ?? []).toEqual([]);
    const done = await laptop.request({ method: 'POST', url: '/v1/customer/login/second-factor', body: { challengeId: login.challengeId, method: 'passkey', webauthnChallengeId, credential: authenticator.assert(requestOptions) } });
    expect(done.statusCode).toBe(200);
    expect(done.json().status).toBe('signed_in');
    const again = await laptop.request({ method: 'POST', url: '/v1/customer/login', body: { identifier: customer.email, password: customer.password } });
    expect(again.json().status).toBe('signed_in');
  });

  it('a second-factor passkey assertion from another device is refused (challenge bound to the device)', async () => {
    const { customer, authenticator } = await customerWithPasskey();
    const laptop = newClient(env.koban, '198.51.100.161');
    const login = (await laptop.request({ method: 'POST', url: '/v1/customer/login', body: { identifier: customer.email, password: customer.password } })).json();
    const options = (await laptop.request({ method: 'POST', url: '/v1/customer/login/second-factor/passkey-options', body: { challengeId: login.challengeId } })).json();
    const other = newClient(env.koban, '198.51.100.162');
    const response = await other.request({ method: 'POST', url: '/v1/customer/login/second-factor', body: { challengeId: login.challengeId, method: 'passkey', webauthnChallengeId: options.challengeId, credential: authenticator.assert(options.options) } });
    expect(response.json().code).toBe('login_challenge_invalid');
  });

  it('a passkey step-up yields a grant bound to its action, and its assertion cannot serve another step-up', async () => {
    const { customer, authenticator } = await customerWithPasskey();
    const start = async (action: string, params: Record<string, string | number>) => {
      const started = (await customer.client.request({ method: 'POST', url: '/v1/customer/step-up', body: { action, params } })).json();
      expect(started.methods).toContain('passkey');
      const options = (await customer.client.request({ method: 'POST', url: `/v1/customer/step-up/${started.stepUpId}/passkey-options`, body: {} })).json();
      return { stepUpId: started.stepUpId as string, challengeId: options.challengeId as string, options: options.options as PublicKeyCredentialRequestOptionsJSON };
    };
    const topUp = await start('top_up', { amountMinor: 5000, fundingSourceId: 'card-1' });
    const unlink = await start('unlink_social', { identityId: 'x' });
    const assertion = authenticator.assert(topUp.options);
    // The top-up assertion, offered to the unlink step-up, fails: its challenge is bound to the other request.
    const crossed = await customer.client.request({ method: 'POST', url: `/v1/customer/step-up/${unlink.stepUpId}/verify`, body: { method: 'passkey', webauthnChallengeId: topUp.challengeId, credential: assertion } });
    expect(crossed.json().code).toBe('step_up_failed');
    // The failed try burnt that challenge too (WA-01): the top-up needs a fresh one.
    const burnt = await customer.client.request({ method: 'POST', url: `/v1/customer/step-up/${topUp.stepUpId}/verify`, body: { method: 'passkey', webauthnChallengeId: topUp.challengeId, credential: assertion } });
    expect(burnt.json().code).toBe('step_up_failed');
    const options = (await customer.client.request({ method: 'POST', url: `/v1/customer/step-up/${topUp.stepUpId}/passkey-options`, body: {} })).json();
    const verified = await customer.client.request({ method: 'POST', url: `/v1/customer/step-up/${topUp.stepUpId}/verify`, body: { method: 'passkey', webauthnChallengeId: options.challengeId, credential: authenticator.assert(options.options) } });
    expect(verified.statusCode).toBe(200);
    const { grant } = verified.json();
    const session = await env.koban.identity.guard({ cookies: { '__Host-koban_session': customer.client.cookies.get('__Host-koban_session') }, headers: {}, method: 'GET' } as never);
    await expect(env.koban.identity.requireStepUp(env.db.pool, session, grant, 'top_up', { amountMinor: 5001n, fundingSourceId: 'card-1' })).rejects.toMatchObject({ code: 'step_up_required' });
    await expect(env.koban.identity.requireStepUp(env.db.pool, session, grant, 'add_funding_source', { amountMinor: 5000n, fundingSourceId: 'card-1' })).rejects.toMatchObject({ code: 'step_up_required' });
    await expect(env.koban.identity.requireStepUp(env.db.pool, session, grant, 'top_up', { amountMinor: 5000n, fundingSourceId: 'card-1' })).resolves.toBeUndefined();
    const method = await env.db.pool.query<{ method: string }>('select method from step_up_grants where customer_id = $1', [customer.customerId]);
    expect(method.rows.map((r) => r.method)).toContain('passkey');
  });

  it('a step-up passkey assertion without user verification is refused (WA-05)', async () => {
    const { customer, authenticator } = await customerWithPasskey();
    const started = (await customer.client.request({ method: 'POST', url: '/v1/customer/step-up', body: { action: 'change_password', params: {} } })).json();
    const options = (await customer.client.request({ method: 'POST', url: `/v1/customer/step-up/${started.stepUpId}/passkey-options`, body: {} })).json();
    const response = await customer.client.request({ method: 'POST', url: `/v1/customer/step-up/${started.stepUpId}/verify`, body: { method: 'passkey', webauthnChallengeId: options.challengeId, credential: authenticator.assert(options.options, { userVerified: false }) } });
    expect(response.json().code).toBe('step_up_failed');
  });
});

describe('schema limits on every WebAuthn field (issue 14)', () => {
  const passkeyCount = async (customerId: string) => Number((await env.db.pool.query<{ n: string }>('select count(*) as n from passkeys where customer_id = $1', [customerId])).rows[0]?.n);

  it('a 1,030-byte credential id at registration is a 400 naming the field, not a 500, and stores nothing', async () => {
    const customer = await signUp(env.koban);
    const { challengeId, options } = await registrationOptions(customer);
    const oversized = createSoftAuthenticator(PUBLIC_URL).register(options, { credentialId: Buffer.alloc(1030, 7) });
    const response = await finishRegistration(customer, challengeId, oversized);
    expect(response.statusCode).toBe(400);
    expect(response.json().code).toBe('validation_failed');
    expect(JSON.stringify(response.json().errors)).toContain('/body/credential/id');
    expect(await passkeyCount(customer.customerId)).toBe(0);
    const events = await env.db.pool.query(`select 1 from security_events where customer_id = $1 and event_type = 'factor.passkey_added'`, [customer.customerId]);
    expect(events.rowCount).toBe(0);
  });

  it('a credential id of exactly 1,023 bytes is still accepted (the WebAuthn maximum)', async () => {
    const customer = await signUp(env.koban);
    const { challengeId, options } = await registrationOptions(customer);
    const largest = createSoftAuthenticator(PUBLIC_URL).register(options, { credentialId: Buffer.alloc(1023, 9) });
    expect((await finishRegistration(customer, challengeId, largest)).statusCode).toBe(201);
  });

  it.each([
    ['an unknown field in the response', (c: RegistrationResponseJSON) => ({ ...c, response: { ...c.response, smuggled: 'x' } })],
    ['a credential id that is not base64url', (c: RegistrationResponseJSON) => ({ ...c, id: `${c.id}+/=`, rawId: `${c.rawId}+/=` })],
    ['an unknown transport', (c: RegistrationResponseJSON) => ({ ...c, response: { ...c.response, transports: ['carrier-pigeon'] } })],
    ['an attestation object above 64 KiB', (c: RegistrationResponseJSON) => ({ ...c, response: { ...c.response, attestationObject: 'A'.repeat(65537) } })],
  ])('registration with %s is a 400', async (_name, corrupt) => {
    const customer = await signUp(env.koban);
    const { challengeId, options } = await registrationOptions(customer);
    const response = await finishRegistration(customer, challengeId, corrupt(createSoftAuthenticator(PUBLIC_URL).register(options)) as RegistrationResponseJSON);
    expect(response.statusCode).toBe(400);
    expect(response.json().code).toBe('validation_failed');
    expect(await passkeyCount(customer.customerId)).toBe(0);
  });

  it('an assertion with a user handle above 64 bytes or a huge signature is a 400', async () => {
    const { authenticator } = await customerWithPasskey();
    const client = newClient(env.koban, '198.51.100.190');
    const { challengeId, options } = await passwordlessOptions(client);
    const assertion = authenticator.assert(options);
    const longHandle = await passwordlessLogin(client, challengeId, { ...assertion, response: { ...assertion.response, userHandle: 'A'.repeat(87) } });
    expect(longHandle.statusCode).toBe(400);
    const hugeSignature = await passwordlessLogin(client, challengeId, { ...assertion, response: { ...assertion.response, signature: 'A'.repeat(8193) } });
    expect(hugeSignature.statusCode).toBe(400);
    expect(client.cookies.has('__Host-koban_session')).toBe(false);
  });
});
