/**
 * Passwordless sign-in with a discoverable passkey. A passkey with user verification is two factors
 * in one (possession + biometric/PIN), so it signs in on any device and remembers it. A risk
 * `challenge` is therefore already met; `deny` and `review` refuse, as for a password (login.ts).
 */
import type { AuthenticationResponseJSON } from '@simplewebauthn/server';
import { withTransaction } from '../../platform/db/database.ts';
import { recordSecurityEvent, type RequestOrigin } from '../../platform/audit/security-log.ts';
import type { IdentityDeps } from '../deps.ts';
import { assertionOptions, verifyAssertion } from '../factors/passkeys.ts';
import { sha256 } from '../secrets.ts';
import { rememberDevice } from '../sessions/devices.ts';
import { createSession } from '../sessions/sessions.ts';
import { announceSecurityEvent } from '../security-alerts.ts';
import { signInRisk } from './login.ts';

export function passkeyLoginOptions(deps: IdentityDeps, deviceToken: string) {
  return assertionOptions(deps, { ceremony: 'login', deviceHash: sha256(deviceToken) });
}

export async function loginWithPasskey(deps: IdentityDeps, challengeId: string, credential: AuthenticationResponseJSON, deviceToken: string, origin: RequestOrigin): Promise<{ customerId: string; sessionId: string; sessionToken: string }> {
  // Outside the transaction: the challenge is consumed even when verification fails (WA-01).
  const customerId = await verifyAssertion(deps.db.pool, deps, challengeId, { ceremony: 'login', deviceHash: sha256(deviceToken) }, credential);
  await signInRisk(deps, customerId, deviceToken, origin);
  return withTransaction(deps.db, async (client) => {
    const device = await rememberDevice(client, customerId, deviceToken, origin.userAgent);
    const session = await createSession(client, { customerId, deviceId: device.id, authMethods: ['passkey'], origin });
    if (device.isNew) await announceSecurityEvent(client, { customerId, type: 'login.new_device', origin, sessionId: session.id, details: { method: 'passkey' } });
    await recordSecurityEvent(client, { type: 'login', outcome: 'success', actor: 'customer', customerId, sessionId: session.id, origin, reasons: ['passkey'] });
    return { customerId, sessionId: session.id, sessionToken: session.token };
  });
}
