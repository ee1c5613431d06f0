/**
 * Paying with a passkey (issue 13: no wallet emptied by a thief who got in anyway).
 *
 * Malware on the customer's own, long-known phone holds everything the phone holds: the session cookie, the
 * device key (it signs through the browser) and the charge PIN it watched being typed. Nothing in the context
 * differs from the owner's, so no rule can tell its payments from theirs. What it cannot give is a passkey's
 * user verification: the authenticator asks the person (a fingerprint, a face, the device's own lock), not
 * the page. So a customer who has a passkey **pays with it**:
 *
 * - each payment code minted (`pay {method: code}`), order QR paid (`pay {method: order_qr, codeId}`) and store
 *   QR paid (`pay {method: store_qr, amountMinor}`) consumes a fresh, single-use step-up grant made with the
 *   passkey (policy.ts: `pay` accepts nothing else), bound to this session;
 * - a held payment is released with a passkey only (`confirm_payment`); the PIN no longer confirms anything;
 * - a payment attempted without the proof is refused (`payment_passkey_required`) and reported to risk as a
 *   security signal: the wallet app always asks for the passkey first, so a request without it was scripted.
 *
 * On while the customer has a passkey, unless they opted out (`PAYS_WITH_PASSKEY_SQL`, read with the session so
 * a payment costs no statement more). The customer may opt out with the passkey itself (step-up `change_factors {factor: payment_passkey}`, which accepts
 * only a passkey once one exists): the malware cannot. Every change is told on every verified contact.
 */
import type { RequestOrigin } from '../platform/audit/security-log.ts';
import type { Queryable } from '../platform/db/database.ts';
import { withTransaction } from '../platform/db/database.ts';
import { isKobanError, KobanError } from '../platform/errors.ts';
import type { IdentityDeps } from './deps.ts';
import { announceSecurityEvent } from './security-alerts.ts';
import { PAYS_WITH_PASSKEY_SQL, type Session } from './sessions/sessions.ts';
import { createSignalPace } from './signal-pace.ts';
import type { StepUpParams } from './step-up/actions.ts';
import { requireStepUp } from './step-up/step-up.ts';

/** What a payment names in its `pay` grant (the wallet asks for the passkey with exactly these; payments' context.ts has the same shape). */
export type PaymentPasskeyParams =
  | { readonly method: 'code' }
  | { readonly method: 'order_qr'; readonly codeId: string }
  | { readonly method: 'store_qr'; readonly amountMinor: bigint };

/** At most one risk signal per customer in this window: a script retrying every second is one alert, not hundreds. */
export const PAYMENT_PASSKEY_SIGNAL_EVERY_MS = 10 * 60_000;
/** A limit on the memory of who was signalled (the oldest entries go first). */
export const PAYMENT_PASSKEY_SIGNALLED_MAX = 10_000;

export interface PaymentPasskeyGate {
  /**
   * Consumes the `pay` grant sent with this payment, or throws `payment_passkey_required` (403) after reporting
   * the attempt to risk. Only for a session whose customer pays with a passkey (`Session.paysWithPasskey`).
   */
  requirePaymentPasskey(session: Pick<Session, 'id' | 'customerId'>, grant: string | undefined, params: PaymentPasskeyParams, origin: { ip: string | null }): Promise<void>;
  /** A held payment's release: the PIN is refused for a customer who pays with a passkey (the passkey grant is checked by the caller). */
  refusePinConfirmation(customerId: string, origin: { ip: string | null }): Promise<never>;
}

export function createPaymentPasskeyGate(deps: IdentityDeps, nowMs: () => number = Date.now): PaymentPasskeyGate {
  const pace = createSignalPace(PAYMENT_PASSKEY_SIGNAL_EVERY_MS, PAYMENT_PASSKEY_SIGNALLED_MAX, nowMs);
  const report = async (customerId: string, ip: string | null, what: string): Promise<void> => {
    if (!pace.due(customerId)) return;
    await deps.risk.recordSignal({ signal: 'payment_passkey_missing', accountId: customerId, ip, ref: what,
      message: `${what} without the passkey this customer pays with: the wallet app always asks for it, so the request was scripted (malware holding the session?)` });
  };
  return {
    async requirePaymentPasskey(session, grant, params, origin) {
      try {
        await requireStepUp(deps.db.pool, session, grant, 'pay', grantParams(params));
      } catch (error) {
        if (!isKobanError(error) || error.code !== 'step_up_required') throw error;
        await report(session.customerId, origin.ip, params.method === 'code' ? 'a payment code' : `a ${params.method.replace('_', ' ')} payment`);
        // The step-up the wallet must make, parameters as strings (a problem is JSON).
        const named = Object.fromEntries(Object.entries(grantParams(params)).map(([key, value]) => [key, String(value)]));
        throw new KobanError('payment_passkey_required', { extensions: { action: 'pay', params: named } });
      }
    },
    async refusePinConfirmation(customerId, origin) {
      await report(customerId, origin.ip, 'a held payment confirmed with the PIN');
      throw new KobanError('payment_passkey_required', { detail: 'confirm this payment with your passkey (step-up confirm_payment)' });
    },
  };
}

function grantParams(params: PaymentPasskeyParams): StepUpParams {
  switch (params.method) {
    case 'code': return { method: 'code' };
    case 'order_qr': return { method: 'order_qr', codeId: params.codeId };
    case 'store_qr': return { method: 'store_qr', amountMinor: params.amountMinor };
  }
}

/**
 * The customer's own choice. Turning it on needs a passkey to pay with; turning it off needs the passkey
 * itself (step-up `change_factors {factor: payment_passkey}`), so whoever holds only the session and the PIN
 * cannot undo it. Either way every verified contact is told.
 */
export async function setPaysWithPasskey(deps: IdentityDeps, session: Session, enabled: boolean, grant: string | undefined, origin: RequestOrigin): Promise<void> {
  await withTransaction(deps.db, async (client) => {
    if (!enabled) await requireStepUp(client, session, grant, 'change_factors', { factor: 'payment_passkey' });
    const updated = await client.query(
      `update customers set payment_passkey_opt_out = not $2 where id = $1 and ($2 = false or exists (select 1 from passkeys where customer_id = $1))`, [session.customerId, enabled]);
    if (updated.rowCount !== 1) throw new KobanError('payment_passkey_unavailable');
    await announceSecurityEvent(client, { customerId: session.customerId, type: enabled ? 'payment_passkey.enabled' : 'payment_passkey.disabled', origin, sessionId: session.id });
  });
}

export async function paysWithPasskey(db: Queryable, customerId: string): Promise<boolean> {
  const result = await db.query<{ pays: boolean }>(`select ${PAYS_WITH_PASSKEY_SQL} as pays from customers c where c.id = $1`, [customerId]);
  return result.rows[0]?.pays === true;
}
