/**
 * Merchant staff passkeys (issue 16), with a software authenticator (real P-256 keys, real attestation and
 * assertions): enrol after password + TOTP, sign in with the passkey alone, list and remove, audited — and one
 * test per threat the merchant realm must refuse.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { Client } from '../identity/support.ts';
import { PUBLIC_URL, signUp, stepUpBySms } from '../identity/support.ts';
import { createSoftAuthenticator, type SoftAuthenticator } from '../identity/support/soft-authenticator.ts';
import { signInAs, type SignedInOperator } from '../operations/support.ts';
import { startTestKoban } from '../support/koban.ts';
import { addStaff, approvedMerchant, freshClient } from './portal-support.ts';

let env: Awaited<ReturnType<typeof startTestKoban>>;
let reviewer: SignedInOperator;
beforeAll(async () => {
  env = await startTestKoban({ env: { KOBAN_PUBLIC_URL: PUBLIC_URL } });
  reviewer = await signInAs(env.koban, 'support');
});
afterAll(async () => {
  await env?.close();
});

async function enrol(staff: Client, authenticator = createSoftAuthenticator(PUBLIC_URL)): Promise<SoftAuthenticator> {
  const options = await staff.request({ method: 'POST', url: '/v1/merchant/passkeys/registration-options' });
  expect(options.statusCode, options.body).toBe(200);
  expect(options.json().options.authenticatorSelection).toMatchObject({ residentKey: 'required', userVerification: 'required' });
  const added = await staff.request({ method: 'POST', url: '/v1/merchant/passkeys', body: { challengeId: options.json().challengeId, response: authenticator.register(options.json().options), name: 'レジ横のタブレット' } });
  expect(added.statusCode, added.body).toBe(201);
  return authenticator;
}

async function passkeySignIn(authenticator: SoftAuthenticator, overrides: Parameters<SoftAuthenticator['assert']>[1] = {}) {
  const client = freshClient(env.koban);
  const options = await client.request({ method: 'POST', url: '/v1/merchant/session/passkey-options' });
  expect(options.statusCode, options.body).toBe(200);
  expect(options.json().options.userVerification).toBe('required');
  const response = await client.request({ method: 'POST', url: '/v1/merchant/session/passkey', body: { challengeId: options.json().challengeId, response: authenticator.assert(options.json().options, overrides) } });
  return { client, response };
}

const auditOf = async (userId: string, action: string) =>
  (await env.db.pool.query<{ outcome: string; why: string | null; method: string | null }>(
    `select outcome, details->>'why' as why, details->>'method' as method from audit_events where actor_kind = 'merchant_user' and actor_id = $1 and action = $2 order by id`, [userId, action])).rows;

describe('merchant staff passkeys', () => {
  it('a staff member enrols a passkey after password + TOTP, then signs in with the passkey alone, lists and removes it; each step audited', async () => {
    const merchant = await approvedMerchant(env.koban, reviewer);
    const me = (await merchant.owner.request({ method: 'GET', url: '/v1/merchant/session' })).json().user as { id: string };
    const authenticator = await enrol(merchant.owner);

    const { client, response } = await passkeySignIn(authenticator);
    expect(response.statusCode, response.body).toBe(200);
    expect(response.headers['set-cookie']).toMatch(/^__Host-koban_merchant=.+; Path=\/; Secure; HttpOnly; SameSite=Strict$/);
    const session = await client.request({ method: 'GET', url: '/v1/merchant/session' });
    expect(session.json()).toMatchObject({ user: { id: me.id, role: 'owner' }, merchant: { id: merchant.merchantId } });

    const listed = await client.request({ method: 'GET', url: '/v1/merchant/passkeys' });
    expect(listed.json().passkeys).toEqual([expect.objectContaining({ name: 'レジ横のタブレット', lastUsedAt: expect.any(String) })]);
    const credentialId = listed.json().passkeys[0].credentialId as string;
    const removed = await client.request({ method: 'POST', url: '/v1/merchant/passkeys/remove', body: { credentialId } });
    expect(removed.statusCode, removed.body).toBe(204);
    expect((await client.request({ method: 'GET', url: '/v1/merchant/passkeys' })).json().passkeys).toEqual([]);
    // A removed passkey signs nobody in.
    expect((await passkeySignIn(authenticator)).response.json().code).toBe('passkey_failed');

    expect(await auditOf(me.id, 'merchant_user.passkey_added')).toEqual([{ outcome: 'success', why: null, method: null }]);
    expect(await auditOf(me.id, 'merchant_user.passkey_removed')).toEqual([{ outcome: 'success', why: null, method: null }]);
    expect(await auditOf(me.id, 'merchant_user.sign_in')).toEqual([
      { outcome: 'success', why: null, method: 'password_totp' }, { outcome: 'success', why: null, method: 'passkey' },
    ]);
  });

  it('a passkey without user verification (no biometric or PIN) is neither enrolled nor accepted for sign-in', async () => {
    const merchant = await approvedMerchant(env.koban, reviewer);
    const options = await merchant.owner.request({ method: 'POST', url: '/v1/merchant/passkeys/registration-options' });
    const unverified = await merchant.owner.request({ method: 'POST', url: '/v1/merchant/passkeys',
      body: { challengeId: options.json().challengeId, response: createSoftAuthenticator(PUBLIC_URL).register(options.json().options, { userVerified: false }) } });
    expect(unverified.json().code).toBe('passkey_failed');
    const authenticator = await enrol(merchant.owner);
    const { response } = await passkeySignIn(authenticator, { userVerified: false });
    expect(response.statusCode).toBe(401);
    expect(response.json().code).toBe('passkey_failed');
    expect(response.headers['set-cookie']).toBeUndefined();
  });

  it('a passkey assertion made on a look-alike origin is refused', async () => {
    const merchant = await approvedMerchant(env.koban, reviewer);
    const authenticator = await enrol(merchant.owner);
    const { response } = await passkeySignIn(authenticator, { origin: 'https://koban.test.evil.example' });
    expect(response.json().code).toBe('passkey_failed');
  });

  it('a passkey of merchant A\'s staff cannot sign in to merchant B', async () => {
    const a = await approvedMerchant(env.koban, reviewer);
    const b = await approvedMerchant(env.koban, reviewer);
    const bUser = (await b.owner.request({ method: 'GET', url: '/v1/merchant/session' })).json().user as { id: string };
    const aKey = await enrol(a.owner);
    // Naming B's owner in the user handle does not make A's credential theirs.
    const swapped = await passkeySignIn(aKey, { userHandle: Buffer.from(bUser.id, 'utf8').toString('base64url') });
    expect(swapped.response.statusCode).toBe(401);
    expect(swapped.response.json().code).toBe('passkey_failed');
    // B's owner cannot register A's credential id as their own.
    const options = await b.owner.request({ method: 'POST', url: '/v1/merchant/passkeys/registration-options' });
    const stolen = await b.owner.request({ method: 'POST', url: '/v1/merchant/passkeys',
      body: { challengeId: options.json().challengeId, response: createSoftAuthenticator(PUBLIC_URL).register(options.json().options, { credentialId: aKey.credentials[0]?.id }) } });
    expect(stolen.json().code).toBe('passkey_already_registered');
    // A's passkey opens A's session, which sees none of B (and B's owner cannot remove A's passkey).
    const { client } = await passkeySignIn(aKey);
    expect((await client.request({ method: 'GET', url: '/v1/merchant/session' })).json().merchant.id).toBe(a.merchantId);
    const bStore = await b.owner.request({ method: 'POST', url: '/v1/merchant/stores', body: { name: 'B店', address: '1-1', city: 'Chiyoda-ku', cityLocal: null, postalCode: '100-0001' } });
    expect((await client.request({ method: 'POST', url: `/v1/merchant/stores/${bStore.json().id}`, body: { name: '乗っ取り' } })).json().code).toBe('store_not_found');
    const credentialId = aKey.credentials[0]?.id.toString('base64url');
    expect((await b.owner.request({ method: 'POST', url: '/v1/merchant/passkeys/remove', body: { credentialId } })).json().code).toBe('passkey_not_found');
    expect(await auditOf(bUser.id, 'merchant_user.sign_in')).not.toContainEqual(expect.objectContaining({ method: 'passkey', outcome: 'success' }));
  });

  it('an operator\'s or customer\'s passkey is not accepted in the merchant realm', async () => {
    const operator = await signInAs(env.koban, 'administrator');
    const operatorKey = operator.authenticator;
    const byOperator = await passkeySignIn(operatorKey);
    expect(byOperator.response.statusCode).toBe(401);
    expect(byOperator.response.json().code).toBe('passkey_failed');

    const customer = await signUp(env.koban);
    const customerKey = createSoftAuthenticator(PUBLIC_URL);
    const grant = await stepUpBySms(env.koban, customer, 'change_factors', { factor: 'passkey' });
    const options = await customer.client.request({ method: 'POST', url: '/v1/customer/passkeys/registration/options', body: {}, headers: { 'x-step-up-grant': grant } });
    const registered = await customer.client.request({ method: 'POST', url: '/v1/customer/passkeys/registration',
      body: { webauthnChallengeId: options.json().challengeId, credential: customerKey.register(options.json().options), name: 'phone' } });
    expect(registered.statusCode, registered.body).toBe(201);
    const byCustomer = await passkeySignIn(customerKey);
    expect(byCustomer.response.statusCode).toBe(401);
    expect(byCustomer.response.json().code).toBe('passkey_failed');
    const refusals = await env.db.pool.query<{ why: string }>(`select details->>'why' as why from audit_events where actor_id = 'unknown:passkey' and action = 'merchant_user.sign_in'`);
    expect(refusals.rows.filter((r) => r.why === 'unknown_credential').length).toBeGreaterThanOrEqual(2);
  });

  it('a disabled staff member\'s passkey is refused', async () => {
    const merchant = await approvedMerchant(env.koban, reviewer);
    const clerk = await addStaff(env.koban, merchant.owner, 'clerk');
    const clerkKey = await enrol(clerk.client);
    expect((await passkeySignIn(clerkKey)).response.statusCode).toBe(200);
    expect((await merchant.owner.request({ method: 'POST', url: `/v1/merchant/users/${clerk.id}/disable` })).statusCode).toBe(200);
    const { response } = await passkeySignIn(clerkKey);
    expect(response.statusCode).toBe(401);
    expect(response.json().code).toBe('passkey_failed');
    expect(await auditOf(clerk.id, 'merchant_user.sign_in')).toContainEqual({ outcome: 'failure', why: 'disabled', method: 'passkey' });
  });

  it('a replayed or cloned passkey assertion (counter not going up) is refused', async () => {
    const merchant = await approvedMerchant(env.koban, reviewer);
    const authenticator = await enrol(merchant.owner);
    expect((await passkeySignIn(authenticator)).response.statusCode).toBe(200);
    expect((await passkeySignIn(authenticator, { signCount: 1 })).response.json().code).toBe('passkey_failed');
  });

  it('enrolling needs a staff session: a challenge from another session is refused', async () => {
    const merchant = await approvedMerchant(env.koban, reviewer);
    const anonymous = await freshClient(env.koban).request({ method: 'POST', url: '/v1/merchant/passkeys/registration-options' });
    expect(anonymous.statusCode).toBe(401);
    const options = await merchant.owner.request({ method: 'POST', url: '/v1/merchant/passkeys/registration-options' });
    const other = await approvedMerchant(env.koban, reviewer);
    const hijacked = await other.owner.request({ method: 'POST', url: '/v1/merchant/passkeys', body: { challengeId: options.json().challengeId, response: createSoftAuthenticator(PUBLIC_URL).register(options.json().options) } });
    expect(hijacked.json().code).toBe('passkey_failed');
  });
});
