// Changing the e-mail or phone of record (REC-08) and the password while signed in: each needs a
// fresh step-up for exactly that change; a new contact counts only once its code is entered; the
// old contact is told and can undo; both contacts never change in one go.
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startTestKoban } from '../support/koban.ts';
import { lastCode, messagesTo, newClient, PUBLIC_URL, signUp, stepUpBySms, uniqueContacts, type Customer } from './support.ts';

let env: Awaited<ReturnType<typeof startTestKoban>>;
beforeAll(async () => {
  env = await startTestKoban({ env: { KOBAN_PUBLIC_URL: PUBLIC_URL } });
});
afterAll(async () => {
  await env?.close();
});

async function contacts(customer: Customer): Promise<Array<{ kind: string; value: string }>> {
  const me = await customer.client.request({ method: 'GET', url: '/v1/customer/me' });
  expect(me.statusCode).toBe(200);
  return me.json().contacts;
}

async function startChange(customer: Customer, kind: 'email' | 'phone', value: string, grant?: string) {
  return customer.client.request({ method: 'POST', url: `/v1/customer/contacts/${kind}`, body: { [kind]: value }, headers: grant === undefined ? {} : { 'x-step-up-grant': grant } });
}

/** Step-up, start and confirm with the code from the new contact; returns the report token sent to the old one. */
async function changeContact(customer: Customer, kind: 'email' | 'phone', value: string): Promise<string> {
  const old = customer[kind];
  const grant = await stepUpBySms(env.koban, customer, kind === 'email' ? 'change_email' : 'change_phone', { [kind]: value });
  const started = await startChange(customer, kind, value, grant);
  expect(started.statusCode).toBe(202);
  const confirmed = await customer.client.request({ method: 'POST', url: `/v1/customer/contacts/changes/${started.json().changeId}/confirm`, body: { code: await lastCode(env.koban, value) } });
  expect(confirmed.statusCode).toBe(200);
  customer[kind] = value;
  const report = (await messagesTo(env.koban, old)).find((m) => m.kind === 'contact_changed_report');
  const token = /report code: ([A-Za-z0-9_-]{43})/.exec(report?.body ?? '')?.[1];
  expect(token).toBeDefined();
  return token ?? '';
}

describe('changing the e-mail or phone of record (REC-08)', () => {
  it('refuses a change without a step-up, or with a grant for another address, sending nothing', async () => {
    const owner = await signUp(env.koban);
    const target = uniqueContacts().email;
    const bare = await startChange(owner, 'email', target);
    expect(bare.statusCode).toBe(403);
    expect(bare.json().code).toBe('step_up_required');
    const grant = await stepUpBySms(env.koban, owner, 'change_email', { email: 'someone-else@example.com' });
    expect((await startChange(owner, 'email', target, grant)).json().code).toBe('step_up_required');
    const phoneGrant = await stepUpBySms(env.koban, owner, 'change_phone', { email: target });
    expect((await startChange(owner, 'email', target, phoneGrant)).json().code).toBe('step_up_required');
    expect(await messagesTo(env.koban, target)).toEqual([]);
    expect(await contacts(owner)).toContainEqual({ kind: 'email', value: owner.email });
  });

  it('the new e-mail replaces the old one only after its code; the old one is told and stops working as an identifier', async () => {
    const owner = await signUp(env.koban);
    const oldEmail = owner.email;
    const newEmail = uniqueContacts().email;
    const grant = await stepUpBySms(env.koban, owner, 'change_email', { email: newEmail });
    const started = await startChange(owner, 'email', newEmail, grant);
    expect(started.statusCode).toBe(202);
    expect(await contacts(owner)).toContainEqual({ kind: 'email', value: oldEmail });
    const { changeId } = started.json();
    const code = await lastCode(env.koban, newEmail);
    const wrong = await owner.client.request({ method: 'POST', url: `/v1/customer/contacts/changes/${changeId}/confirm`, body: { code: code === '000000' ? '111111' : '000000' } });
    expect(wrong.json().code).toBe('verification_failed');
    expect(await contacts(owner)).toContainEqual({ kind: 'email', value: oldEmail });
    // The code is bound to the session that started the change.
    const elsewhere = await signUp(env.koban);
    expect((await elsewhere.client.request({ method: 'POST', url: `/v1/customer/contacts/changes/${changeId}/confirm`, body: { code } })).json().code).toBe('verification_failed');
    expect((await owner.client.request({ method: 'POST', url: `/v1/customer/contacts/changes/${changeId}/confirm`, body: { code } })).statusCode).toBe(200);
    expect(await contacts(owner)).toEqual([{ kind: 'email', value: newEmail }, { kind: 'phone', value: owner.phone }]);
    const toOld = await messagesTo(env.koban, oldEmail);
    expect(toOld[0]?.kind).toBe('contact_changed_report');
    expect(toOld[0]?.body).toContain("If this wasn't you");
    expect(toOld[0]?.body).not.toContain(newEmail);
    expect((await messagesTo(env.koban, owner.phone)).some((m) => m.kind === 'security_alert' && m.body.includes('phone number or e-mail address of your Koban account was changed'))).toBe(true);
    const client = newClient(env.koban, '198.51.100.201');
    // The old e-mail names no account any more: a decoy challenge (login/decoy.ts), which nothing can complete.
    const old = (await client.request({ method: 'POST', url: '/v1/customer/login', body: { identifier: oldEmail, password: owner.password } })).json() as { challengeId: string };
    expect((await env.db.pool.query('select decoy from login_challenges where id = $1', [old.challengeId])).rows[0]?.decoy).toBe(true);
    expect((await client.request({ method: 'POST', url: '/v1/customer/login', body: { identifier: newEmail, password: owner.password } })).json().status).toBe('second_factor_required');
  });

  it('a new phone becomes the only destination of SMS codes (OTP-03)', async () => {
    const owner = await signUp(env.koban);
    const oldPhone = owner.phone;
    const newPhone = uniqueContacts().phone;
    await changeContact(owner, 'phone', newPhone);
    const before = (await messagesTo(env.koban, oldPhone)).length;
    await stepUpBySms(env.koban, owner, 'change_password', {});
    expect((await messagesTo(env.koban, oldPhone)).length).toBe(before);
  });

  it('an address that belongs to another account gets a notice and no code, and the answer is the same', async () => {
    const owner = await signUp(env.koban);
    const other = await signUp(env.koban);
    const grant = await stepUpBySms(env.koban, owner, 'change_email', { email: other.email });
    const started = await startChange(owner, 'email', other.email, grant);
    expect(started.statusCode).toBe(202);
    expect(Object.keys(started.json())).toEqual(['changeId']);
    const notice = (await messagesTo(env.koban, other.email))[0];
    expect(notice?.kind).toBe('contact_change_already_registered');
    expect(notice?.body).not.toMatch(/\b[0-9]{6}\b/);
    const guess = await owner.client.request({ method: 'POST', url: `/v1/customer/contacts/changes/${started.json().changeId}/confirm`, body: { code: '123456' } });
    expect(guess.json().code).toBe('verification_failed');
    expect(await contacts(owner)).toContainEqual({ kind: 'email', value: owner.email });
  });

  it('never changes both contacts in one go: after the e-mail, the phone waits out the cool-down', async () => {
    const owner = await signUp(env.koban);
    await changeContact(owner, 'email', uniqueContacts().email);
    const phone = uniqueContacts().phone;
    const grant = await stepUpBySms(env.koban, owner, 'change_phone', { phone });
    const refused = await startChange(owner, 'phone', phone, grant);
    expect(refused.statusCode).toBe(409);
    expect(refused.json().code).toBe('contact_change_cooldown');
    await env.db.pool.query(`update contact_changes set completed_at = now() - interval '25 hours' where customer_id = $1`, [owner.customerId]);
    // The refused start did not spend the grant: bad timing changes nothing.
    expect((await startChange(owner, 'phone', phone, grant)).statusCode).toBe(202);
  });

  it('two changes of different kinds started together cannot both complete', async () => {
    const owner = await signUp(env.koban);
    const { email, phone } = uniqueContacts();
    const emailGrant = await stepUpBySms(env.koban, owner, 'change_email', { email });
    const emailChange = (await startChange(owner, 'email', email, emailGrant)).json().changeId;
    const phoneGrant = await stepUpBySms(env.koban, owner, 'change_phone', { phone });
    const phoneChange = (await startChange(owner, 'phone', phone, phoneGrant)).json().changeId;
    expect((await owner.client.request({ method: 'POST', url: `/v1/customer/contacts/changes/${emailChange}/confirm`, body: { code: await lastCode(env.koban, email) } })).statusCode).toBe(200);
    const second = await owner.client.request({ method: 'POST', url: `/v1/customer/contacts/changes/${phoneChange}/confirm`, body: { code: await lastCode(env.koban, phone) } });
    expect(second.json().code).toBe('contact_change_cooldown');
    expect(await contacts(owner)).toContainEqual({ kind: 'phone', value: owner.phone });
  });

  it('"this wasn\'t me" from the old contact restores it, ends every session, forgets devices and pauses top-ups; the token works once', async () => {
    const owner = await signUp(env.koban);
    const oldEmail = owner.email;
    const token = await changeContact(owner, 'email', uniqueContacts().email);
    const reporter = newClient(env.koban, '198.51.100.202');
    expect((await reporter.request({ method: 'POST', url: '/v1/customer/contacts/changes/report', body: { token } })).statusCode).toBe(200);
    expect((await owner.client.request({ method: 'GET', url: '/v1/customer/me' })).statusCode).toBe(401);
    const restored = await env.db.pool.query<{ value: string }>(`select value from customer_contacts where customer_id = $1 and kind = 'email'`, [owner.customerId]);
    expect(restored.rows[0]?.value).toBe(oldEmail);
    expect(await env.koban.identity.isInRecoveryCooldown(owner.customerId)).toBe(true);
    // The hijacker's remembered device now needs a second factor, which goes to the owner's contacts.
    const again = await owner.client.request({ method: 'POST', url: '/v1/customer/login', body: { identifier: oldEmail, password: owner.password } });
    expect(again.json().status).toBe('second_factor_required');
    expect((await messagesTo(env.koban, oldEmail)).some((m) => m.body.includes('You reported a contact change'))).toBe(true);
    expect((await reporter.request({ method: 'POST', url: '/v1/customer/contacts/changes/report', body: { token } })).json().code).toBe('verification_failed');
    expect((await reporter.request({ method: 'POST', url: '/v1/customer/contacts/changes/report', body: { token: 'x'.repeat(43) } })).json().code).toBe('verification_failed');
  });

  it('refuses a malformed new contact without spending the grant', async () => {
    const owner = await signUp(env.koban);
    const grant = await stepUpBySms(env.koban, owner, 'change_phone', { phone: '12345' });
    const response = await startChange(owner, 'phone', '12345', grant);
    expect(response.statusCode).toBe(400);
    expect(response.json().code).toBe('invalid_phone');
    const unspent = await env.db.pool.query(`select 1 from step_up_grants where customer_id = $1 and action = 'change_phone' and consumed_at is null`, [owner.customerId]);
    expect(unspent.rowCount).toBe(1);
  });
});

describe('changing the password while signed in', () => {
  it('needs a step-up and the current password; a wrong current password spends the step-up', async () => {
    const owner = await signUp(env.koban);
    const body = { currentPassword: owner.password, newPassword: 'a brand new long passphrase' };
    const bare = await owner.client.request({ method: 'POST', url: '/v1/customer/password', body });
    expect(bare.json().code).toBe('step_up_required');
    const grant = await stepUpBySms(env.koban, owner, 'change_password', {});
    const wrong = await owner.client.request({ method: 'POST', url: '/v1/customer/password', body: { ...body, currentPassword: 'not my password at all' }, headers: { 'x-step-up-grant': grant } });
    expect(wrong.statusCode).toBe(403);
    expect(wrong.json().code).toBe('current_password_wrong');
    // One step-up buys one guess at the current password.
    expect((await owner.client.request({ method: 'POST', url: '/v1/customer/password', body, headers: { 'x-step-up-grant': grant } })).json().code).toBe('step_up_required');
    const client = newClient(env.koban, '198.51.100.203');
    expect((await client.request({ method: 'POST', url: '/v1/customer/login', body: { identifier: owner.email, password: owner.password } })).json().status).toBe('second_factor_required');
  });

  it('refuses a blocklisted new password without spending the step-up', async () => {
    const owner = await signUp(env.koban);
    const grant = await stepUpBySms(env.koban, owner, 'change_password', {});
    const weak = await owner.client.request({ method: 'POST', url: '/v1/customer/password', body: { currentPassword: owner.password, newPassword: 'password123' }, headers: { 'x-step-up-grant': grant } });
    expect(weak.json().code).toBe('password_blocklisted');
    const ok = await owner.client.request({ method: 'POST', url: '/v1/customer/password', body: { currentPassword: owner.password, newPassword: 'another fine passphrase' }, headers: { 'x-step-up-grant': grant } });
    expect(ok.statusCode).toBe(200);
  });

  it('changes the password, ends every other session, keeps this one, and tells every contact', async () => {
    const owner = await signUp(env.koban);
    const tablet = newClient(env.koban, owner.client.ip);
    for (const [name, value] of owner.client.cookies) if (name !== '__Host-koban_session') tablet.cookies.set(name, value);
    expect((await tablet.request({ method: 'POST', url: '/v1/customer/login', body: { identifier: owner.email, password: owner.password } })).json().status).toBe('signed_in');
    const grant = await stepUpBySms(env.koban, owner, 'change_password', {});
    const newPassword = 'quite a different passphrase';
    const changed = await owner.client.request({ method: 'POST', url: '/v1/customer/password', body: { currentPassword: owner.password, newPassword }, headers: { 'x-step-up-grant': grant } });
    expect(changed.statusCode).toBe(200);
    expect(changed.json().sessionsRevoked).toBe(1);
    expect((await tablet.request({ method: 'GET', url: '/v1/customer/me' })).statusCode).toBe(401);
    expect((await owner.client.request({ method: 'GET', url: '/v1/customer/me' })).statusCode).toBe(200);
    for (const to of [owner.email, owner.phone]) expect((await messagesTo(env.koban, to)).some((m) => m.body.includes('password of your Koban account was changed'))).toBe(true);
    const client = newClient(env.koban, '198.51.100.204');
    // The old password, on the owner's own phone (a new device would get a decoy challenge).
    expect((await owner.client.request({ method: 'POST', url: '/v1/customer/login', body: { identifier: owner.email, password: owner.password } })).json().code).toBe('invalid_credentials');
    expect((await client.request({ method: 'POST', url: '/v1/customer/login', body: { identifier: owner.email, password: newPassword } })).json().status).toBe('second_factor_required');
  });
});
