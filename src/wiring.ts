/**
 * The seams between modules, in one place: each module defines the small interface it needs
 * (payments/context.ts, operations/adapters.ts), and this file implements those interfaces with the
 * modules that own the data. Nothing here holds a business rule of its own.
 */
import type { FastifyRequest } from 'fastify';
import type { Identity } from './identity/identity.ts';
import { revokeAllSessions } from './identity/sessions/sessions.ts';
import type { Ledger } from './ledger/ledger.ts';
import { noticeRecipients } from './identity/notice-recipients.ts';
import { writeFeedEntriesAndMessages, type NewFeedEntry, type NewMessage } from './notifications/outbox.ts';
import { placeName } from './payments/place-name.ts';
import { DEFAULT_SERVER_LANGUAGE } from './identity/language.ts';
import { timeIn, yenIn, type Language } from './platform/language.ts';
import { receiptNumber } from './platform/receipt-number.ts';
import type { CustomerWallets, IdentityControl } from './operations/adapters.ts';
import type { CustomerAuthenticator, CustomerContext, CustomerEvent, PaymentHooks } from './payments/context.ts';
import { ensureCustomerWallet } from './wallet/customer-wallets.ts';
import type { Risk } from './risk/risk.ts';
import type { Database } from './platform/db/database.ts';
import { isKobanError, KobanError } from './platform/errors.ts';

/**
 * Payments' customer authenticator on identity's session guard. A payment code is minted only for a
 * session on a device the account has remembered (a second factor was passed on it), so a session
 * without a device is treated as not authenticated for payments.
 */
export function customerAuthenticator(identity: Identity, db: Database, ledger: Ledger): CustomerAuthenticator {
  return {
    async authenticate(request: FastifyRequest): Promise<CustomerContext | null> {
      let session;
      try {
        session = await identity.guard(request);
      } catch (error) {
        if (isKobanError(error) && error.code === 'unauthenticated') return null;
        throw error;
      }
      if (session.deviceId === null) return null;
      const walletAccountId = await ensureCustomerWallet(db, ledger, session.customerId);
      return { customerId: session.customerId, walletAccountId, deviceId: session.deviceId, sessionId: session.id, paysWithPasskey: session.paysWithPasskey, ...(session.deviceKey === null ? {} : { deviceKey: session.deviceKey }), ...(request.ip ? { ip: request.ip } : {}) };
    },
  };
}

export function paymentHooks(identity: Identity, risk: Risk, db: Database): Partial<PaymentHooks> {
  return {
    // The charge PIN typed for this payment; a wrong one answers pin_wrong (counted, then locked) rather than a bare refusal.
    // (When risk asks, a PIN typed with the payment is not enough: the payment waits for the PIN plus the e-mailed
    // code, confirmsHeldPayment, which no request can carry before the payment exists.)
    async requireStrongConfirmation(ctx) {
      if (ctx.confirmationPin === undefined) return false;
      await identity.verifyChargePin(ctx.customerId, ctx.confirmationPin);
      return true;
    },
    async confirmsHeldPayment(ctx, strength, payment) {
      // A passkey (a step-up grant for exactly this payment and amount) is strong on any device: issue 13.
      if (ctx.confirmationGrant !== undefined && ctx.sessionId !== undefined) {
        await identity.requireStepUp(db.pool, { id: ctx.sessionId, customerId: ctx.customerId }, ctx.confirmationGrant, 'confirm_payment', { paymentId: payment.id, amountMinor: payment.amountMinor });
        return;
      }
      // A customer who pays with a passkey confirms with it: the PIN is what malware on the phone watched being typed.
      if (ctx.paysWithPasskey === true) {
        if (ctx.confirmationPin !== undefined) await identity.paymentPasskey.refusePinConfirmation(ctx.customerId, { ip: ctx.ip ?? null });
        throw new KobanError('payment_passkey_required');
      }
      if (ctx.confirmationPin === undefined) throw new KobanError('strong_confirmation_required');
      if (strength === 'strong' && !(await identity.isEstablishedDevice(ctx.customerId, ctx.deviceId))) throw new KobanError('confirmation_needs_established_device');
      await identity.verifyChargePin(ctx.customerId, ctx.confirmationPin);
      if (strength === 'pin') return;
      // The PIN is what malware on the phone watched being typed: strong adds the code e-mailed for this payment.
      const emailCode = ctx.confirmationEmailCode;
      if (emailCode === undefined) return identity.paymentEmailCodes.refusePinAlone(ctx.customerId, { ip: ctx.ip ?? null });
      await identity.paymentEmailCodes.consume(ctx.customerId, payment.id, emailCode);
    },
    async sendConfirmationCode(ctx, payment) {
      // A customer who pays with a passkey releases with it alone; a code by e-mail would be a way around it.
      if (ctx.paysWithPasskey === true) throw new KobanError('payment_passkey_required');
      return identity.paymentEmailCodes.send(ctx.customerId, { paymentId: payment.id, amountMinor: payment.amountMinor, place: payment.place });
    },
    async requirePaymentPasskey(ctx, params) {
      const session = ctx.sessionId === undefined ? null : { id: ctx.sessionId, customerId: ctx.customerId };
      if (session === null) throw new KobanError('payment_passkey_required');
      await identity.paymentPasskey.requirePaymentPasskey(session, ctx.confirmationGrant, params, { ip: ctx.ip ?? null });
    },
    async assessCodeMints(client, ctxs) {
      // The same batch scoring as the till payments' group commit (risk/assess-batch.ts).
      const scored = await risk.assessBatch(client, ctxs.map((ctx) => ({ kind: 'payment_code_mint', accountId: ctx.customerId, deviceId: ctx.deviceKey ?? ctx.deviceId, ip: ctx.ip ?? null })));
      return {
        refused: scored.decisions.map(({ decision }) => decision === 'deny' || decision === 'review'),
        record: () => scored.record(client),
        afterCommit: () => scored.afterCommit(),
      };
    },
    // The in-app feed and an e-mail to each verified address, in the notice relay's transaction, so each
    // notice is delivered exactly when it is consumed: one read and one write for the whole batch.
    async notifyCustomers(notices, client) {
      const recipients = await noticeRecipients(client, notices.map((notice) => notice.customerId));
      const feed: NewFeedEntry[] = [];
      const messages: NewMessage[] = [];
      for (const { customerId, event } of notices) {
        const recipient = recipients.get(customerId);
        const entry = describeEvent(event, recipient?.language ?? DEFAULT_SERVER_LANGUAGE);
        feed.push({ customerId, ...entry });
        for (const email of recipient?.emails ?? []) messages.push({ channel: 'email', recipient: email, kind: entry.kind, subject: `Koban: ${entry.title}`, body: entry.body });
      }
      await writeFeedEntriesAndMessages(client, feed, messages);
    },
  };
}

/** A payment, refund or cancel as the customer reads it, in their language; a cancel says what came back. */
export function describeEvent(event: CustomerEvent, language: Language): { kind: string; title: string; body: string; contestable: boolean } {
  const where = placeName(event.merchantName, event.storeName);
  const amount = yenIn(language, event.amountMinor);
  const titles: Record<CustomerEvent['type'], string> = language === 'ja' ? {
    'payment.completed': `${where}で${amount}を支払いました`,
    'payment.canceled': `${where}でのお支払いが取り消され、${amount}が戻りました`,
    'refund.completed': `${where}から${amount}が返金されました`,
  } : {
    'payment.completed': `Paid ${amount} at ${where}`,
    'payment.canceled': `Payment at ${where} canceled: ${amount} returned`,
    'refund.completed': `Refund of ${amount} from ${where}`,
  };
  const title = titles[event.type];
  const receipt = receiptNumber(event.refundId ?? event.paymentId);
  const body = language === 'ja'
    ? `${title}。\n\n日時: ${timeIn(language, event.at)}\nレシート番号: ${receipt}\n\n心当たりがない場合は、アプリからアカウントを凍結してください。`
    : `${title}.\n\nTime: ${timeIn(language, event.at)}\nReceipt no.: ${receipt}\n\nIf this wasn't you, freeze your account from the app.`;
  // Feed kinds are snake_case words (a CHECK constraint says so). Only a payment can be answered with
  // "this wasn't me"; money coming back cannot hurt the customer.
  return { kind: event.type.replace('.', '_'), title, body, contestable: event.type === 'payment.completed' };
}

export function customerWallets(db: Database): CustomerWallets {
  return {
    async walletAccountIdOf(customerId) {
      const result = await db.pool.query<{ account_id: string }>('select account_id from customer_wallets where customer_id = $1', [customerId]);
      return result.rows[0]?.account_id ?? null;
    },
    async customerIdOf(walletAccountId) {
      const result = await db.pool.query<{ customer_id: string }>('select customer_id from customer_wallets where account_id = $1', [walletAccountId]);
      return result.rows[0]?.customer_id ?? null;
    },
  };
}

/** Operations' view of identity: forced resets (which revoke sessions themselves) and ending sessions. */
export function identityControl(identity: Identity, db: Database): IdentityControl {
  return {
    forcePasswordAndPinReset: async (customerId, reason) => { await identity.forcePasswordAndPinReset(customerId, reason); },
    revokeSessions: (customerId) => revokeAllSessions(db.pool, customerId),
    forceResetAllCustomers: (reason) => identity.forceResetAllCustomers(reason),
    signInHealth: () => identity.signInHealth(),
  };
}
