/**
 * The second half of a strong confirmation for a customer who does not pay with a passkey (issue 13: "the PIN
 * **plus** a factor the thief is unlikely to hold").
 *
 * Malware on the customer's own, long-known phone holds the session, the device key, the charge PIN it watched
 * being typed and the SMS the phone receives (`koban drill --passkeys 0`: it confirmed every held payment with the
 * PIN, and only the refusing rules' allowances bounded the loss). So a payment held for a strong confirmation is
 * released by the PIN on an established phone **and** a one-time code sent to the customer's e-mail address — a
 * mailbox lives behind its own sign-in, usually read elsewhere too, and is not the phone's SMS.
 *
 * - The address must have been verified at least `EMAIL_SETTLED_HOURS` ago: a thief who just changed it (a SIM
 *   swap, then an e-mail change by SMS) would otherwise receive the code. Without a settled address only a
 *   passkey releases the payment (`email_confirmation_unavailable`), and the hold expires.
 * - The code is the identity module's one-time code (`payment_email`, subject = the payment): 6 digits, 10
 *   minutes, 5 wrong tries, 4 sends, accepted once.
 * - The e-mail names the amount and the place, and says what to do if it was not the customer.
 */
import type { Queryable } from '../platform/db/database.ts';
import { withTransaction } from '../platform/db/database.ts';
import { KobanError } from '../platform/errors.ts';
import { yenIn, type Language } from '../platform/language.ts';
import { enqueueMessage } from '../notifications/outbox.ts';
import { consumeCode, issueCode } from './codes/one-time-codes.ts';
import { maskContact } from './contacts/normalize.ts';
import type { IdentityDeps } from './deps.ts';
import { customerLanguage } from './language.ts';
import { PAYMENT_PASSKEY_SIGNAL_EVERY_MS, PAYMENT_PASSKEY_SIGNALLED_MAX } from './payment-passkey.ts';
import { createSignalPace } from './signal-pace.ts';

/** How long an e-mail address must have been on the account before it may confirm payments (the unusual-context cool-down). */
export const EMAIL_SETTLED_HOURS = 24;

/** What the e-mail tells the customer about the payment waiting for them. */
export interface HeldPaymentSummary {
  readonly paymentId: string;
  readonly amountMinor: bigint;
  readonly place: string;
}

export interface PaymentEmailCodes {
  /** Sends (or re-sends) the code for this held payment; answers the masked address it went to. */
  send(customerId: string, payment: HeldPaymentSummary): Promise<{ sentTo: string }>;
  /** Accepts the code once, or throws `email_code_wrong` (a wrong, expired or exhausted code). */
  consume(customerId: string, paymentId: string, code: string): Promise<void>;
  /**
   * A held payment confirmed with the PIN alone: `email_code_required`, after reporting it to risk. The wallet asks
   * for the code before it sends the PIN, so such a request was scripted — malware that holds the PIN.
   */
  refusePinAlone(customerId: string, origin: { ip: string | null }): Promise<never>;
}

/** The e-mail address that may confirm payments: verified, and not changed within the cool-down. */
async function settledEmail(db: Queryable, customerId: string): Promise<string | null> {
  const result = await db.query<{ value: string }>(
    `select value from customer_contacts where customer_id = $1 and kind = 'email' and verified_at <= now() - make_interval(hours => $2)`,
    [customerId, EMAIL_SETTLED_HOURS]);
  return result.rows[0]?.value ?? null;
}

function message(language: Language, code: string, payment: HeldPaymentSummary): { subject: string; body: string } {
  const amount = yenIn(language, payment.amountMinor);
  return language === 'ja'
    ? { subject: 'Koban お支払いの確認コード',
      body: `${payment.place}での${amount}のお支払いが確認待ちです。ご本人のお支払いであれば、Koban アプリで暗証番号とこの確認コード ${code} を入力してください（10分間有効）。心当たりがない場合は入力せず、アプリで「お支払いを拒否」を選び、サポートにご連絡ください。` }
    : { subject: 'Koban: confirm a payment',
      body: `A payment of ${amount} at ${payment.place} is waiting for you. If it is yours, enter your PIN and the code ${code} in the Koban app (valid 10 minutes). If it is not, do not enter it: decline the payment in the app and contact support.` };
}

export function createPaymentEmailCodes(deps: IdentityDeps, nowMs: () => number = Date.now): PaymentEmailCodes {
  const pace = createSignalPace(PAYMENT_PASSKEY_SIGNAL_EVERY_MS, PAYMENT_PASSKEY_SIGNALLED_MAX, nowMs);
  return {
    async send(customerId, payment) {
      return withTransaction(deps.db, async (client) => {
        const email = await settledEmail(client, customerId);
        if (email === null) throw new KobanError('email_confirmation_unavailable');
        const issued = await issueCode(client, deps.secrets, 'payment_email', payment.paymentId, email);
        if ('refused' in issued) throw new KobanError('resend_limit_reached');
        const { subject, body } = message(await customerLanguage(client, customerId), issued.code, payment);
        await enqueueMessage(client, { channel: 'email', recipient: email, kind: 'payment_confirmation_code', subject, body });
        return { sentTo: maskContact('email', email) };
      });
    },
    async consume(customerId, paymentId, code) {
      // The address is checked again: one changed since the code was sent no longer confirms anything.
      if (await settledEmail(deps.db.pool, customerId) === null) throw new KobanError('email_confirmation_unavailable');
      if (!(await consumeCode(deps.db.pool, deps.secrets, 'payment_email', paymentId, code))) throw new KobanError('email_code_wrong');
    },
    async refusePinAlone(customerId, origin) {
      if (pace.due(customerId)) {
        await deps.risk.recordSignal({ signal: 'held_payment_pin_only', accountId: customerId, ip: origin.ip, ref: 'a held payment confirmed with the PIN alone',
          message: 'a held payment confirmed with the PIN alone: the wallet app asks for the e-mailed code first, so the request was scripted (malware holding the session and the PIN?)' });
      }
      throw new KobanError('email_code_required');
    },
  };
}
