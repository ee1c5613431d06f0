/**
 * Credential and contact changes are sensitive actions (issue 13), on the real identity, risk engine and
 * payments: each is scored (a blocked device cannot make one), a password or contact change starts a
 * cool-down in which money leaves only in small amounts unless the customer confirms on an established
 * phone, and a locked charge PIN is not reset with an SMS code alone (what a SIM swap gives a thief).
 */
import { createHash, randomBytes } from 'node:crypto';
import { generate } from 'otplib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { PLATFORM_ACCOUNTS } from '../../src/ledger/platform-accounts.ts';
import { Ledgers, TransferCodes } from '../../src/ledger/types.ts';
import { buildStaticQrPayload } from '../../src/payments/emvco.ts';
import { uuidv7 } from '../../src/platform/ids.ts';
import { createTestMerchant, type TestMerchant } from '../payments/merchant-fixtures.ts';
import { customerWithPin, PIN, startWalletEnv, type WalletEnv } from '../wallet/support.ts';
import { lastCode, stepUpBySms, uniqueContacts, type Customer } from './support.ts';

let w: WalletEnv;
let merchant: TestMerchant;

beforeAll(async () => {
  w = await startWalletEnv();
  merchant = await createTestMerchant(w.db, w.koban.ledger, 'Corner Shop');
});
afterAll(async () => w.close());

async function fund(customer: Customer, amountMinor: bigint): Promise<void> {
  await customer.client.request({ method: 'POST', url: '/v1/wallet/payment-codes', body: {} });
  const wallet = (await w.db.pool.query<{ account_id: string }>('select account_id from customer_wallets where customer_id = $1', [customer.customerId])).rows[0]?.account_id ?? '';
  await w.koban.ledger.createTransfers([{ id: uuidv7(), debitAccountId: PLATFORM_ACCOUNTS.cardClearing, creditAccountId: wallet, amount: amountMinor, pendingId: null, ledger: Ledgers.JPY, code: TransferCodes.topUp, flags: 0, timeoutSeconds: 0, reference: 'test funding' }]);
}

const payQr = (customer: Customer, amount: string) => customer.client.request({ method: 'POST', url: '/v1/wallet/static-qr/pay', body: {
  payload: buildStaticQrPayload({ merchantId: merchant.merchantId, storeId: merchant.storeId, categoryCode: '5411', merchantName: 'Corner Shop', merchantCity: 'Chiyoda-ku', postalCode: '100-0001' }),
  amount, idempotencyKey: `cc-${randomBytes(6).toString('hex')}`, pin: PIN,
} });

async function changePassword(customer: Customer, newPassword: string) {
  const grant = await stepUpBySms(w.koban, customer, 'change_password', {});
  return customer.client.request({ method: 'POST', url: '/v1/customer/password', body: { currentPassword: customer.password, newPassword }, headers: { 'x-step-up-grant': grant } });
}

describe('credential changes (issue 13)', () => {
  it('a thief who changes the password cannot move more than a small amount afterwards: larger payments need the PIN on a phone the account has had for a day plus a code e-mailed to a settled address', async () => {
    const customer = await customerWithPin(w.koban);
    await fund(customer, 30_000n);
    const changed = await changePassword(customer, 'lanterns drift past the quiet harbour');
    expect(changed.statusCode, changed.body).toBe(200);
    const events = await w.db.pool.query(`select event_ref from risk_events where account_id = $1 and kind = 'credential_change'`, [customer.customerId]);
    expect(events.rows).toEqual([{ event_ref: 'change_password' }]);
    // A small amount passes; a larger one waits for a strong confirmation (the hold) instead of paying.
    expect((await payQr(customer, '800')).json()).toMatchObject({ status: 'COMPLETED' });
    const large = await payQr(customer, '3000');
    expect(large.statusCode).toBe(202);
    expect(large.json()).toMatchObject({ status: 'CREATED' });
    // The small amount is the allowance for the whole cool-down, not per payment: steps under it do not add up.
    const step = await payQr(customer, '300');
    expect(step.statusCode).toBe(202);
    expect(step.json()).toMatchObject({ status: 'CREATED' });
    // The customer's own phone, remembered for days, releases the larger one with the PIN plus the code e-mailed
    // to the address the account has had for days (the password changed, not the address).
    await w.db.pool.query(`update devices set created_at = now() - interval '3 days' where customer_id = $1`, [customer.customerId]);
    await w.db.pool.query(`update customer_contacts set verified_at = now() - interval '3 days' where customer_id = $1`, [customer.customerId]);
    const paymentId = large.json().paymentId as string;
    expect((await customer.client.request({ method: 'POST', url: `/v1/wallet/confirmations/${paymentId}/email-code`, body: {} })).statusCode).toBe(202);
    const confirmed = await customer.client.request({ method: 'POST', url: `/v1/wallet/confirmations/${paymentId}/confirm`, body: { pin: PIN, emailCode: await lastCode(w.koban, customer.email) } });
    expect(confirmed.json()).toMatchObject({ status: 'COMPLETED' });
  });

  it('a credential change from a blocked device is refused and changes nothing', async () => {
    const customer = await customerWithPin(w.koban);
    const key = createHash('sha256').update(customer.client.cookies.get('__Host-koban_device') ?? '').digest('hex');
    await w.koban.risk.settings.addToList('blocked_device', key, 'reported stolen', { kind: 'operator', id: 'op-cred-tests' });
    const refused = await changePassword(customer, 'seven herons over a frozen pond');
    expect(refused.statusCode).toBe(403);
    expect(refused.json()).toMatchObject({ code: 'risk_denied' });
    const stillOld = await w.koban.app.inject({ method: 'POST', url: '/v1/customer/login', remoteAddress: '198.51.100.77', payload: { identifier: customer.email, password: customer.password } });
    expect(stillOld.json()).toMatchObject({ status: 'second_factor_required' });
  });

  it('a locked charge PIN cannot be reset with an SMS step-up alone (a SIM swap gives SMS); after an account recovery it can', async () => {
    const customer = await customerWithPin(w.koban);
    await w.db.pool.query('update charge_pins set locked_at = now(), failures = 5 where customer_id = $1', [customer.customerId]);
    const grant = await stepUpBySms(w.koban, customer, 'change_factors', { factor: 'charge_pin' });
    const bySms = await customer.client.request({ method: 'PUT', url: '/v1/customer/pin', body: { pin: '905172' }, headers: { 'x-step-up-grant': grant } });
    expect(bySms.statusCode).toBe(403);
    expect(bySms.json()).toMatchObject({ code: 'pin_reset_needs_strong_factor' });
    expect((await w.db.pool.query('select locked_at is not null as locked from charge_pins where customer_id = $1', [customer.customerId])).rows).toEqual([{ locked: true }]);
    // The refused attempt did not spend the grant; a completed recovery (SMS and e-mail codes) lets the same reset through.
    await w.db.pool.query(`insert into recovery_requests (id, customer_id, expires_at, completed_at) values ($1, $2, now() + interval '10 minutes', now() + interval '1 second')`, [uuidv7(), customer.customerId]);
    const afterRecovery = await customer.client.request({ method: 'PUT', url: '/v1/customer/pin', body: { pin: '905172' }, headers: { 'x-step-up-grant': grant } });
    expect(afterRecovery.statusCode, afterRecovery.body).toBe(200);
    expect((await w.db.pool.query(`select 1 from risk_events where account_id = $1 and kind = 'credential_change' and event_ref = 'set_charge_pin'`, [customer.customerId])).rowCount).toBe(1);
  });

  it('an authenticator app enrolled before the lock resets a locked PIN; one enrolled after it with an SMS code (a SIM swapper\'s detour) does not', async () => {
    const enrolTotp = async (customer: Customer): Promise<string> => {
      const grant = await stepUpBySms(w.koban, customer, 'change_factors', { factor: 'totp' });
      const { secret } = (await customer.client.request({ method: 'POST', url: '/v1/customer/totp', body: {}, headers: { 'x-step-up-grant': grant } })).json() as { secret: string };
      expect((await customer.client.request({ method: 'POST', url: '/v1/customer/totp/confirm', body: { code: await generate({ secret }) } })).statusCode).toBe(200);
      return secret;
    };
    const stepUpByTotp = async (customer: Customer, secret: string): Promise<string> => {
      const started = await customer.client.request({ method: 'POST', url: '/v1/customer/step-up', body: { action: 'change_factors', params: { factor: 'charge_pin' } } });
      const verified = await customer.client.request({ method: 'POST', url: `/v1/customer/step-up/${started.json().stepUpId}/verify`, body: { method: 'totp', code: await generate({ secret, epoch: Math.floor(Date.now() / 1000) + 30 }) } });
      expect(verified.statusCode, verified.body).toBe(200);
      return (verified.json() as { grant: string }).grant;
    };
    const lock = (customer: Customer) => w.db.pool.query(`update charge_pins set locked_at = now() - interval '1 minute', failures = 5 where customer_id = $1`, [customer.customerId]);

    const prepared = await customerWithPin(w.koban);
    const secret = await enrolTotp(prepared);
    await w.db.pool.query(`update totp_factors set confirmed_at = now() - interval '1 day' where customer_id = $1`, [prepared.customerId]);
    await lock(prepared);
    expect((await prepared.client.request({ method: 'PUT', url: '/v1/customer/pin', body: { pin: '905172' }, headers: { 'x-step-up-grant': await stepUpByTotp(prepared, secret) } })).statusCode).toBe(200);

    const swapped = await customerWithPin(w.koban);
    await lock(swapped);
    const lateSecret = await enrolTotp(swapped);
    const refused = await swapped.client.request({ method: 'PUT', url: '/v1/customer/pin', body: { pin: '905172' }, headers: { 'x-step-up-grant': await stepUpByTotp(swapped, lateSecret) } });
    expect(refused.json()).toMatchObject({ code: 'pin_reset_needs_strong_factor' });
  });

  it('a thief who moved the phone of record to their own number cannot then change the password or PIN with codes to it: a factor from before the change is needed', async () => {
    const enrolTotpBefore = async (customer: Customer): Promise<string> => {
      const grant = await stepUpBySms(w.koban, customer, 'change_factors', { factor: 'totp' });
      const { secret } = (await customer.client.request({ method: 'POST', url: '/v1/customer/totp', body: {}, headers: { 'x-step-up-grant': grant } })).json() as { secret: string };
      expect((await customer.client.request({ method: 'POST', url: '/v1/customer/totp/confirm', body: { code: await generate({ secret }) } })).statusCode).toBe(200);
      await w.db.pool.query(`update totp_factors set confirmed_at = now() - interval '1 day' where customer_id = $1`, [customer.customerId]);
      return secret;
    };
    const movePhone = async (customer: Customer): Promise<void> => {
      const phone = uniqueContacts().phone;
      const grant = await stepUpBySms(w.koban, customer, 'change_phone', { phone });
      const started = await customer.client.request({ method: 'POST', url: '/v1/customer/contacts/phone', body: { phone }, headers: { 'x-step-up-grant': grant } });
      expect(started.statusCode, started.body).toBe(202);
      const confirmed = await customer.client.request({ method: 'POST', url: `/v1/customer/contacts/changes/${started.json().changeId}/confirm`, body: { code: await lastCode(w.koban, phone) } });
      expect(confirmed.statusCode, confirmed.body).toBe(200);
      customer.phone = phone;
    };
    const stepUpByTotp = async (customer: Customer, secret: string, action: string, params: Record<string, string>): Promise<string> => {
      const started = await customer.client.request({ method: 'POST', url: '/v1/customer/step-up', body: { action, params } });
      const verified = await customer.client.request({ method: 'POST', url: `/v1/customer/step-up/${started.json().stepUpId}/verify`, body: { method: 'totp', code: await generate({ secret, epoch: Math.floor(Date.now() / 1000) + 30 }) } });
      expect(verified.statusCode, verified.body).toBe(200);
      return (verified.json() as { grant: string }).grant;
    };

    const victim = await customerWithPin(w.koban);
    const secret = await enrolTotpBefore(victim);
    await movePhone(victim);
    const credentials = async () => (await w.db.pool.query<{ password_hash: string; pin_hash: string }>(
      'select p.password_hash, c.pin_hash from password_credentials p join charge_pins c on c.customer_id = p.customer_id where p.customer_id = $1', [victim.customerId])).rows[0];
    const before = await credentials();
    // Codes to the new phone do not change the password or the PIN, and nothing changes.
    const refused = await changePassword(victim, 'the thief chose this passphrase');
    expect(refused.statusCode, refused.body).toBe(403);
    expect(refused.json()).toMatchObject({ code: 'credential_change_needs_old_factor' });
    const pinGrant = await stepUpBySms(w.koban, victim, 'change_factors', { factor: 'charge_pin' });
    const pin = await victim.client.request({ method: 'PUT', url: '/v1/customer/pin', body: { pin: '905172', currentPin: PIN }, headers: { 'x-step-up-grant': pinGrant } });
    expect(pin.json()).toMatchObject({ code: 'credential_change_needs_old_factor' });
    expect(await credentials()).toEqual(before);
    // The owner, with the authenticator app they had before the change, still can.
    const grant = await stepUpByTotp(victim, secret, 'change_password', {});
    const changed = await victim.client.request({ method: 'POST', url: '/v1/customer/password', body: { currentPassword: victim.password, newPassword: 'the owner chose this passphrase' }, headers: { 'x-step-up-grant': grant } });
    expect(changed.statusCode, changed.body).toBe(200);
    expect((await credentials())?.password_hash).not.toBe(before?.password_hash);

    // A customer whose phone did not change is not affected.
    const ordinary = await customerWithPin(w.koban);
    expect((await changePassword(ordinary, 'an ordinary new passphrase')).statusCode).toBe(200);
  });
});
