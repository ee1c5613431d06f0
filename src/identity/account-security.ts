/**
 * What a signed-in customer changes about their own security, each as one rule in one place: which
 * changes need a fresh step-up (a passkey added or removed, an authenticator app, new recovery codes),
 * which run in one transaction, and which tell the customer (every one of them, on every verified contact).
 * Also the session a finished sign-up starts and a sign-out. The routes (`http/security-routes.ts`,
 * `http/account-routes.ts`) parse, call these and map the answer.
 */
import type { RegistrationResponseJSON } from '@simplewebauthn/server';
import { recordSecurityEvent, type RequestOrigin } from '../platform/audit/security-log.ts';
import { withTransaction } from '../platform/db/database.ts';
import { KobanError } from '../platform/errors.ts';
import { verifiedContacts } from './contacts/contacts.ts';
import type { IdentityDeps } from './deps.ts';
import { finishRegistration, listPasskeys, registrationOptions, removePasskey } from './factors/passkeys.ts';
import { generateRecoveryCodes, unusedRecoveryCodes } from './factors/recovery-codes.ts';
import { acceptTotp, beginTotpEnrollment, hasTotp } from './factors/totp.ts';
import { chargePinStatus } from './pin/charge-pin.ts';
import { announceSecurityEvent } from './security-alerts.ts';
import { rememberDevice, removeDevice } from './sessions/devices.ts';
import { createSession, revokeAllSessions, revokeSession, type Session } from './sessions/sessions.ts';
import { requireStepUp } from './step-up/step-up.ts';
import { openSetupWindow } from './step-up/setup-window.ts';
import { paysWithPasskey } from './payment-passkey.ts';

const factorStepUp = (factor: string) => ({ factor });

/** Counts and states of the customer's factors and charge PIN, never a secret. */
export async function factorSummary(deps: IdentityDeps, customerId: string) {
  const db = deps.db.pool;
  const [passkeys, totp, recoveryCodesLeft, chargePin, paysWith] = await Promise.all([
    listPasskeys(db, customerId), hasTotp(db, customerId), unusedRecoveryCodes(db, customerId), chargePinStatus(db, customerId), paysWithPasskey(db, customerId),
  ]);
  return { passkeys: passkeys.length, totp, recoveryCodesLeft, chargePin, paysWithPasskey: paysWith };
}

/** Signs out everywhere, this session included, and tells the customer. */
export async function signOutEverywhere(deps: IdentityDeps, session: Session, origin: RequestOrigin): Promise<void> {
  await withTransaction(deps.db, async (client) => {
    await revokeAllSessions(client, session.customerId);
    await announceSecurityEvent(client, { customerId: session.customerId, type: 'sessions.revoked_all', origin, sessionId: session.id });
  });
}

/** Forgets a remembered device (its sessions end with it) and tells the customer. */
export async function forgetDevice(deps: IdentityDeps, session: Session, deviceId: string, origin: RequestOrigin): Promise<void> {
  await withTransaction(deps.db, async (client) => {
    if (!(await removeDevice(client, session.customerId, deviceId))) throw new KobanError('device_not_found');
    await announceSecurityEvent(client, { customerId: session.customerId, type: 'device.removed', origin, sessionId: session.id });
  });
}

/** WebAuthn options for a new passkey, behind a step-up `change_factors {factor: "passkey"}`. */
export async function startPasskeyRegistration(deps: IdentityDeps, session: Session, grant: string | undefined) {
  await requireStepUp(deps.db.pool, session, grant, 'change_factors', factorStepUp('passkey'));
  const email = (await verifiedContacts(deps.db.pool, session.customerId)).find((c) => c.kind === 'email')?.value ?? session.customerId;
  return registrationOptions(deps, session.customerId, session.id, email);
}

/** Adds a passkey; from now on the customer pays with it unless they opted out (payment-passkey.ts). */
export async function addPasskey(deps: IdentityDeps, session: Session, input: { challengeId: string; response: RegistrationResponseJSON; name: string }, origin: RequestOrigin): Promise<string> {
  const passkeyId = await finishRegistration(deps.db.pool, deps, { customerId: session.customerId, sessionId: session.id, ...input });
  await announceSecurityEvent(deps.db.pool, { customerId: session.customerId, type: 'factor.passkey_added', origin, sessionId: session.id });
  return passkeyId;
}

/** Removes a passkey, behind a step-up naming that passkey. */
export async function removeOwnPasskey(deps: IdentityDeps, session: Session, passkeyId: string, grant: string | undefined, origin: RequestOrigin): Promise<void> {
  await withTransaction(deps.db, async (client) => {
    await requireStepUp(client, session, grant, 'change_factors', { factor: 'passkey', passkeyId });
    if (!(await removePasskey(client, session.customerId, passkeyId))) throw new KobanError('passkey_not_found');
    await announceSecurityEvent(client, { customerId: session.customerId, type: 'factor.passkey_removed', origin, sessionId: session.id });
  });
}

export async function startTotpEnrollment(deps: IdentityDeps, session: Session, grant: string | undefined): Promise<{ secret: string; uri: string }> {
  return withTransaction(deps.db, async (client) => {
    await requireStepUp(client, session, grant, 'change_factors', factorStepUp('totp'));
    return beginTotpEnrollment(client, deps.secrets, session.customerId, session.customerId);
  });
}

/** The authenticator app's first code turns it on. */
export async function confirmTotp(deps: IdentityDeps, session: Session, code: string, origin: RequestOrigin): Promise<void> {
  if (!(await acceptTotp(deps.db.pool, deps.secrets, session.customerId, code, 'pending'))) throw new KobanError('verification_failed');
  await announceSecurityEvent(deps.db.pool, { customerId: session.customerId, type: 'factor.totp_enabled', origin, sessionId: session.id });
}

/** Ten new recovery codes (the old ones stop working), shown once. */
export async function newRecoveryCodes(deps: IdentityDeps, session: Session, grant: string | undefined, origin: RequestOrigin): Promise<string[]> {
  return withTransaction(deps.db, async (client) => {
    await requireStepUp(client, session, grant, 'change_factors', factorStepUp('recovery_codes'));
    const codes = await generateRecoveryCodes(client, deps.secrets, session.customerId);
    await announceSecurityEvent(client, { customerId: session.customerId, type: 'factor.recovery_codes_generated', origin, sessionId: session.id });
    return codes;
  });
}

/**
 * The session a finished sign-up starts. The phone code just entered on this device is the second
 * factor, so the device is remembered with it, in one transaction.
 */
export async function startSignedUpSession(deps: IdentityDeps, customerId: string, deviceToken: string, origin: RequestOrigin): Promise<{ id: string; token: string }> {
  return withTransaction(deps.db, async (client) => {
    const device = await rememberDevice(client, customerId, deviceToken, origin.userAgent);
    const session = await createSession(client, { customerId, deviceId: device.id, authMethods: ['signup'], origin });
    await openSetupWindow(client, { id: session.id, customerId, deviceId: device.id }, origin);
    return session;
  });
}

/** Ends this session and logs the sign-out. */
export async function signOut(deps: IdentityDeps, session: Session, origin: RequestOrigin): Promise<void> {
  await revokeSession(deps.db.pool, session.customerId, session.id);
  await recordSecurityEvent(deps.db.pool, { type: 'logout', outcome: 'success', actor: 'customer', customerId: session.customerId, sessionId: session.id, origin });
}
