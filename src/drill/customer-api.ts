/**
 * The customer API as a phone uses it: sign-up with codes, sign-in (second factor on a new device),
 * step-up by SMS, charge PIN, cards, top-ups (with the sandbox's 3-D Secure page when asked), payment
 * codes. Each call answers an `Outcome`: ok, or the problem code Koban answered, so the drill can count
 * what was refused and by what.
 */
import { randomUUID } from 'node:crypto';
import type { PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/server';
import { problemCode, type Browser, type HttpResponse, type Transport } from './http.ts';
import type { Outbox } from './outbox.ts';
import { sleep } from './outbox.ts';
import type { SoftAuthenticator } from './soft-authenticator.ts';

export type Outcome<T = undefined> = { ok: true; value: T } | { ok: false; code: string };

export interface Person {
  readonly email: string;
  readonly phone: string;
  password: string;
  readonly pin: string;
  customerId: string;
}

/** The sandbox acquirer's 3-D Secure code (sandbox/acquirer/README.md): the cardholder's, never the attacker's. */
export const SANDBOX_3DS_CODE = '123456';

function refused<T>(response: HttpResponse): Outcome<T> {
  return { ok: false, code: problemCode(response) };
}

export async function signUp(browser: Browser, outbox: Outbox, person: Person): Promise<Outcome> {
  let signupId = '';
  const emailCode = await outbox.expectCode(person.email, async () => {
    const started = await browser.request('POST', '/v1/customer/signup', { email: person.email, phone: person.phone, password: person.password });
    if (started.status !== 202) throw new Error(`sign-up refused: ${started.status} ${problemCode(started)}`);
    signupId = (started.body as { signupId: string }).signupId;
  });
  const phoneCode = await outbox.firstCode(person.phone);
  const first = await browser.request('POST', '/v1/customer/signup/verify', { signupId, channel: 'email', code: emailCode });
  if (first.status !== 200) return refused(first);
  const done = await browser.request('POST', '/v1/customer/signup/verify', { signupId, channel: 'phone', code: phoneCode });
  if (done.status !== 200) return refused(done);
  person.customerId = (done.body as { customerId: string }).customerId;
  return { ok: true, value: undefined };
}

/**
 * A step-up by SMS for the action with its exact parameters; answers the single-use grant. With
 * `useSetupWindow` (the wallet asks for it on a sign-up's first setup steps) the grant may come at once.
 */
export async function stepUp(browser: Browser, outbox: Outbox, phone: string, action: string, params: Record<string, string>, options: { useSetupWindow?: boolean } = {}): Promise<Outcome<string>> {
  const started = await browser.request('POST', '/v1/customer/step-up', { action, params, ...(options.useSetupWindow === true ? { useSetupWindow: true } : {}) });
  if (started.status !== 200) return refused(started);
  const { stepUpId, grant: atOnce } = started.body as { stepUpId: string; grant?: string };
  if (typeof atOnce === 'string') return { ok: true, value: atOnce };
  let sendFailed: HttpResponse | null = null;
  let code: string;
  try {
    code = await outbox.expectCode(phone, async () => {
      const sent = await browser.request('POST', `/v1/customer/step-up/${stepUpId}/sms`, {});
      if (sent.status !== 202) {
        sendFailed = sent;
        throw new Error('step-up SMS refused');
      }
    });
  } catch (error) {
    if (sendFailed !== null) return refused(sendFailed);
    throw error;
  }
  const verified = await browser.request('POST', `/v1/customer/step-up/${stepUpId}/verify`, { method: 'sms', code });
  if (verified.status !== 200) return refused(verified);
  return { ok: true, value: (verified.body as { grant: string }).grant };
}

export async function setPin(browser: Browser, outbox: Outbox, person: Person): Promise<Outcome> {
  const grant = await stepUp(browser, outbox, person.phone, 'change_factors', { factor: 'charge_pin' });
  if (!grant.ok) return grant;
  const set = await browser.request('PUT', '/v1/customer/pin', { pin: person.pin }, { 'x-step-up-grant': grant.value });
  return set.status === 200 ? { ok: true, value: undefined } : refused(set);
}

export async function addCard(browser: Browser, outbox: Outbox, phone: string, number: string, holderName: string): Promise<Outcome<string>> {
  const grant = await stepUp(browser, outbox, phone, 'add_funding_source', { kind: 'card', last4: number.slice(-4) });
  if (!grant.ok) return grant;
  const added = await browser.request('POST', '/v1/customer/funding-sources/cards',
    { number, expMonth: 12, expYear: new Date().getUTCFullYear() + 3, cvv: '123', holderName }, { 'x-step-up-grant': grant.value });
  return added.status === 201 ? { ok: true, value: (added.body as { fundingSourceId: string }).fundingSourceId } : refused(added);
}

interface TopUpView { topUpId: string; status: string; challengeUrl: string | null; failureCode: string | null }

/**
 * One top-up: step-up for the exact amount and source, the charge PIN, an idempotency key. With
 * `passThreeDSecure` the cardholder answers the acquirer's challenge (setup only: an attacker holding a
 * stolen card number does not get the cardholder's 3-D Secure code). Answers ok once Koban says completed.
 */
export async function topUp(browser: Browser, outbox: Outbox, transport: Transport, person: Person, input: { fundingSourceId: string; amountMinor: number; passThreeDSecure: boolean }): Promise<Outcome> {
  const grant = await stepUp(browser, outbox, person.phone, 'top_up', { amountMinor: String(input.amountMinor), fundingSourceId: input.fundingSourceId });
  if (!grant.ok) return grant;
  const started = await browser.request('POST', '/v1/customer/top-ups',
    { fundingSourceId: input.fundingSourceId, amount: String(input.amountMinor), pin: person.pin, threeDSecure: input.passThreeDSecure },
    { 'x-step-up-grant': grant.value, 'idempotency-key': `drill-${randomUUID()}` });
  if (started.status !== 201 && started.status !== 200) return refused(started);
  let view = started.body as TopUpView;
  if (view.status === 'requires_action' && view.challengeUrl !== null) {
    if (!input.passThreeDSecure) return { ok: false, code: 'three_d_secure_required' };
    const answered = await transport.send({ method: 'POST', url: view.challengeUrl, body: { code: SANDBOX_3DS_CODE }, localAddress: browser.address });
    if (answered.status >= 300) return { ok: false, code: `acquirer_${answered.status}` };
    await browser.request('GET', `/v1/top-ups/${view.topUpId}/3ds-return`);
  }
  for (let i = 0; i < 50 && view.status !== 'completed' && view.status !== 'failed'; i++) {
    await sleep(200);
    const read = await browser.request('GET', `/v1/customer/top-ups/${view.topUpId}`);
    if (read.status !== 200) return refused(read);
    view = read.body as TopUpView;
  }
  if (view.status === 'completed') return { ok: true, value: undefined };
  return { ok: false, code: view.failureCode ?? `top_up_${view.status}` };
}

export type SignInResult = { status: 'signed_in' } | { status: 'second_factor_required'; challengeId: string };

export async function signIn(browser: Browser, identifier: string, password: string): Promise<Outcome<SignInResult>> {
  const response = await browser.request('POST', '/v1/customer/login', { identifier, password });
  if (response.status !== 200) return refused(response);
  const body = response.body as { status: string; challengeId?: string };
  return { ok: true, value: body.status === 'signed_in' ? { status: 'signed_in' } : { status: 'second_factor_required', challengeId: body.challengeId ?? '' } };
}

/**
 * Completes a sign-in challenge with the SMS code sent to the verified phone. With `noSmsAfterMs`, the phone's
 * holder also reads silence: a challenge after a wrong password is a decoy whose SMS never comes (`no_sms`).
 */
export async function completeSignInBySms(browser: Browser, outbox: Outbox, phone: string, challengeId: string, noSmsAfterMs?: number): Promise<Outcome> {
  let sendFailed: HttpResponse | null = null;
  let code: string | null;
  const send = async () => {
    const sent = await browser.request('POST', '/v1/customer/login/second-factor/sms', { challengeId });
    if (sent.status !== 202) {
      sendFailed = sent;
      throw new Error('sign-in SMS refused');
    }
  };
  try {
    code = noSmsAfterMs === undefined ? await outbox.expectCode(phone, send) : await outbox.maybeCode(phone, send, noSmsAfterMs);
  } catch (error) {
    if (sendFailed !== null) return refused(sendFailed);
    throw error;
  }
  if (code === null) return { ok: false, code: 'no_sms' };
  const done = await browser.request('POST', '/v1/customer/login/second-factor', { challengeId, method: 'sms', code });
  return done.status === 200 ? { ok: true, value: undefined } : refused(done);
}

/**
 * A step-up proved with the customer's passkey (user verification on their own authenticator): start,
 * WebAuthn options, assertion, verify. The verify rotates the session; the Browser keeps the new cookie
 * and CSRF token. Refusals answer `step_up:<code>`, so a journal tells them from the action's own.
 */
export async function passkeyStepUp(browser: Browser, authenticator: SoftAuthenticator, action: string, params: Record<string, string>): Promise<Outcome<string>> {
  const started = await browser.request('POST', '/v1/customer/step-up', { action, params });
  if (started.status !== 200) return stepUpRefused(started);
  const { stepUpId, methods } = started.body as { stepUpId: string; methods: string[] };
  if (!methods.includes('passkey')) return { ok: false, code: 'step_up:passkey_not_offered' };
  const options = await browser.request('POST', `/v1/customer/step-up/${stepUpId}/passkey-options`, {});
  if (options.status !== 200) return stepUpRefused(options);
  const { challengeId, options: requestOptions } = options.body as { challengeId: string; options: PublicKeyCredentialRequestOptionsJSON };
  const verified = await browser.request('POST', `/v1/customer/step-up/${stepUpId}/verify`,
    { method: 'passkey', webauthnChallengeId: challengeId, credential: authenticator.assert(requestOptions, { backedUp: true }) });
  if (verified.status !== 200) return stepUpRefused(verified);
  return { ok: true, value: (verified.body as { grant: string }).grant };
}

function stepUpRefused<T>(response: HttpResponse): Outcome<T> {
  return { ok: false, code: `step_up:${problemCode(response)}` };
}

/**
 * Adds a synced passkey (BE/BS flags: it follows the person to a new phone) held by `authenticator`: step-up
 * `change_factors {factor: 'passkey'}` (the sign-up's setup window, else SMS: the account has no passkey yet),
 * registration options, the authenticator's answer with user verification, registration.
 */
export async function registerPasskey(browser: Browser, outbox: Outbox, phone: string, authenticator: SoftAuthenticator, name: string): Promise<Outcome> {
  const grant = await stepUp(browser, outbox, phone, 'change_factors', { factor: 'passkey' }, { useSetupWindow: true });
  if (!grant.ok) return grant;
  return registerWithGrant(browser, authenticator, grant.value, name);
}

async function registerWithGrant(browser: Browser, authenticator: SoftAuthenticator, grant: string, name: string): Promise<Outcome> {
  const options = await browser.request('POST', '/v1/customer/passkeys/registration/options', {}, { 'x-step-up-grant': grant });
  if (options.status !== 200) return refused(options);
  const { challengeId, options: creation } = options.body as { challengeId: string; options: PublicKeyCredentialCreationOptionsJSON };
  const registered = await browser.request('POST', '/v1/customer/passkeys/registration',
    { webauthnChallengeId: challengeId, credential: authenticator.register(creation, { backedUp: true }), name });
  return registered.status === 201 ? { ok: true, value: undefined } : refused(registered);
}

/** How many passkeys the signed-in account has (`GET /v1/customer/factors`: counts, never secrets). */
export async function passkeyCount(browser: Browser): Promise<Outcome<number>> {
  const factors = await browser.request('GET', '/v1/customer/factors');
  return factors.status === 200 ? { ok: true, value: (factors.body as { passkeys: number }).passkeys } : refused(factors);
}

/** Mints a payment code; `grant` is a `pay {method: 'code'}` step-up grant (required when the account pays with a passkey). */
export async function mintPaymentCode(browser: Browser, grant: string | null = null): Promise<Outcome<string>> {
  const response = await browser.request('POST', '/v1/wallet/payment-codes', {}, grant === null ? {} : { 'x-step-up-grant': grant });
  return response.status === 200 ? { ok: true, value: (response.body as { code: string }).code } : refused(response);
}

/** The owner minting a code: with a passkey, a `pay` step-up proved with it first (one ordinary action, not two). */
export async function mintAsOwner(browser: Browser, authenticator: SoftAuthenticator | null): Promise<Outcome<string>> {
  if (authenticator === null) return mintPaymentCode(browser);
  const grant = await passkeyStepUp(browser, authenticator, 'pay', { method: 'code' });
  return grant.ok ? mintPaymentCode(browser, grant.value) : grant;
}

/**
 * The owner confirming, with their passkey, every payment waiting for their confirmation: a `confirm_payment
 * {paymentId, amountMinor}` grant each (the PIN is not accepted from an account that pays with a passkey).
 * Answers as `confirmWaitingPayments`.
 */
export async function confirmWaitingByPasskey(browser: Browser, authenticator: SoftAuthenticator): Promise<Outcome<string>> {
  const listed = await browser.request('GET', '/v1/wallet/confirmations');
  if (listed.status !== 200) return refused(listed);
  let status = 'none';
  for (const waiting of (listed.body as { confirmations: Array<{ paymentId: string; amount: string }> }).confirmations) {
    const grant = await passkeyStepUp(browser, authenticator, 'confirm_payment', { paymentId: waiting.paymentId, amountMinor: waiting.amount });
    if (!grant.ok) return grant;
    const confirmed = await browser.request('POST', `/v1/wallet/confirmations/${waiting.paymentId}/confirm`, {}, { 'x-step-up-grant': grant.value });
    if (confirmed.status !== 200) return refused(confirmed);
    status = (confirmed.body as { status: string }).status;
  }
  return { ok: true, value: status };
}

/**
 * Confirms, with the charge PIN, every payment waiting for this customer's confirmation (a till charge above
 * the confirmation amount, or one risk asked about): what an attacker holding the session and the PIN does
 * with a held payment. Answers the first refusal's code, or the last confirmed payment's status
 * (COMPLETED, or FAILED when the ledger refused it, e.g. the balance ran out).
 */
export async function confirmWaitingPayments(browser: Browser, pin: string): Promise<Outcome<string>> {
  const listed = await browser.request('GET', '/v1/wallet/confirmations');
  if (listed.status !== 200) return refused(listed);
  let status = 'none';
  for (const waiting of (listed.body as { confirmations: Array<{ paymentId: string }> }).confirmations) {
    const confirmed = await browser.request('POST', `/v1/wallet/confirmations/${waiting.paymentId}/confirm`, { pin });
    if (confirmed.status !== 200) return refused(confirmed);
    status = (confirmed.body as { status: string }).status;
  }
  return { ok: true, value: status };
}

/**
 * The owner without a passkey confirming every payment waiting for them: the PIN, plus — for one risk held
 * (`strong`) — the code Koban e-mails for it, read from their own mailbox (the development outbox). Malware on
 * the phone holds the PIN but not the mailbox, so it only ever gets as far as `confirmWaitingPayments`.
 * Answers as `confirmWaitingPayments`.
 */
export async function confirmWaitingByEmailCode(browser: Browser, outbox: Outbox, email: string, pin: string): Promise<Outcome<string>> {
  const listed = await browser.request('GET', '/v1/wallet/confirmations');
  if (listed.status !== 200) return refused(listed);
  let status = 'none';
  for (const waiting of (listed.body as { confirmations: Array<{ paymentId: string; strength: string }> }).confirmations) {
    let emailCode: string | undefined;
    if (waiting.strength === 'strong') {
      const code = await emailedCode(browser, outbox, email, waiting.paymentId);
      if (!code.ok) return code;
      emailCode = code.value;
    }
    const confirmed = await browser.request('POST', `/v1/wallet/confirmations/${waiting.paymentId}/confirm`, { pin, ...(emailCode === undefined ? {} : { emailCode }) });
    if (confirmed.status !== 200) return refused(confirmed);
    status = (confirmed.body as { status: string }).status;
  }
  return { ok: true, value: status };
}

/** Asks Koban to e-mail a held payment's code and reads it from the mailbox; a refused request answers its problem at once. */
async function emailedCode(browser: Browser, outbox: Outbox, email: string, paymentId: string): Promise<Outcome<string>> {
  let refusal: HttpResponse | null = null;
  try {
    const code = await outbox.expectCode(email, async () => {
      const sent = await browser.request('POST', `/v1/wallet/confirmations/${paymentId}/email-code`, {});
      if (sent.status !== 202) {
        refusal = sent;
        throw new Error('refused');
      }
    });
    return { ok: true, value: code };
  } catch {
    return refusal === null ? { ok: false, code: 'no_email_code' } : refused(refusal);
  }
}

/**
 * Pays a scanned order QR with the PIN, or with a `pay {method: 'order_qr', codeId}` grant (required, and the strong
 * confirmation, when the account pays with a passkey): answers the payment's status (COMPLETED, or CREATED when it
 * waits for a strong confirmation).
 */
export async function payOrderQr(browser: Browser, codeId: string, proof: { pin: string } | { grant: string }): Promise<Outcome<string>> {
  const paid = 'pin' in proof
    ? await browser.request('POST', `/v1/wallet/qr/${codeId}/pay`, { pin: proof.pin })
    : await browser.request('POST', `/v1/wallet/qr/${codeId}/pay`, {}, { 'x-step-up-grant': proof.grant });
  if (paid.status !== 200 && paid.status !== 202) return refused(paid);
  return { ok: true, value: (paid.body as { status: string }).status };
}

/**
 * Account recovery by someone holding the phone (SIM swap) but not the mailbox: the SMS code alone, with a new
 * password. Koban asks for two proofs, so this is expected to be refused.
 */
export async function recoverWithSmsOnly(browser: Browser, outbox: Outbox, person: Person, newPassword: string): Promise<Outcome> {
  let recoveryId = '';
  const smsCode = await outbox.expectCode(person.phone, async () => {
    const started = await browser.request('POST', '/v1/customer/recovery', { identifier: person.email });
    if (started.status !== 202) throw new Error(`recovery refused: ${started.status} ${problemCode(started)}`);
    recoveryId = (started.body as { recoveryId: string }).recoveryId;
  }).catch(() => null);
  if (smsCode === null) return { ok: false, code: 'no_recovery_sms' };
  const done = await browser.request('POST', '/v1/customer/recovery/complete', { recoveryId, smsCode, newPassword });
  return done.status === 200 ? { ok: true, value: undefined } : refused(done);
}

/** Changes the e-mail to one the caller reads (step-up by SMS, then the code sent to the new address). */
export async function changeEmail(browser: Browser, outbox: Outbox, phone: string, newEmail: string): Promise<Outcome> {
  const grant = await stepUp(browser, outbox, phone, 'change_email', { email: newEmail });
  if (!grant.ok) return grant;
  let changeId = '';
  let startFailed: HttpResponse | null = null;
  const code = await outbox.expectCode(newEmail, async () => {
    const started = await browser.request('POST', '/v1/customer/contacts/email', { email: newEmail }, { 'x-step-up-grant': grant.value });
    if (started.status !== 202) {
      startFailed = started;
      throw new Error('e-mail change refused');
    }
    changeId = (started.body as { changeId: string }).changeId;
  }).catch(() => null);
  if (code === null) return startFailed === null ? { ok: false, code: 'no_code_to_new_email' } : refused(startFailed);
  const confirmed = await browser.request('POST', `/v1/customer/contacts/changes/${changeId}/confirm`, { code });
  return confirmed.status === 200 ? { ok: true, value: undefined } : refused(confirmed);
}

/** Changes the password (step-up by SMS plus the current password): every other session ends. */
export async function changePassword(browser: Browser, outbox: Outbox, person: Person, newPassword: string): Promise<Outcome> {
  const grant = await stepUp(browser, outbox, person.phone, 'change_password', {});
  if (!grant.ok) return grant;
  const changed = await browser.request('POST', '/v1/customer/password', { currentPassword: person.password, newPassword }, { 'x-step-up-grant': grant.value });
  return changed.status === 200 ? { ok: true, value: undefined } : refused(changed);
}

/** What makes a drill customer established (POST /dev/drill/established-customers, never in production). */
export interface Establishment {
  readonly ageDays: number;
  readonly dailySpendMinor: number;
  readonly paymentsPerDay: number;
  readonly storeIds: readonly string[];
}

/**
 * Ages a customer made minutes ago: their phone remembered `ageDays` ago, their networks, card and usual stores
 * known as long, and a spending history (Koban's development-only route; the ledger is not rewritten).
 */
export async function establish(staff: Browser, customerId: string, how: Establishment): Promise<Outcome> {
  const response = await staff.request('POST', '/dev/drill/established-customers', {
    customerId, ageDays: how.ageDays, dailySpendMinor: String(how.dailySpendMinor), paymentsPerDay: how.paymentsPerDay, storeIds: [...how.storeIds],
  });
  return response.status === 200 ? { ok: true, value: undefined } : refused(response);
}
