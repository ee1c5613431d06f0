/**
 * What the payments module needs from identity, and the hooks identity and risk plug in. Payments never
 * authenticates a customer itself: every customer-facing function takes an already authenticated context.
 */
import type { FastifyRequest } from 'fastify';
import type { Queryable } from '../platform/db/database.ts';
import { KobanError } from '../platform/errors.ts';

/** An authenticated customer on a device bound to their account (identity's session and device checks). */
export interface CustomerContext {
  readonly customerId: string;
  readonly walletAccountId: string;
  readonly deviceId: string;
  /**
   * The device as the risk engine knows it on every path (issue 13: one device identity): the SHA-256 of
   * the device cookie, as sign-in reports it. Absent only for contexts made without identity (tests).
   */
  readonly deviceKey?: string;
  /** The client's address for this request (risk events carry the network). */
  readonly ip?: string;
  /**
   * The charge PIN the customer typed for this one request (a QR payment's confirmation), if any. Payments
   * never reads it: only the `requireStrongConfirmation` hook does, and identity checks it.
   */
  readonly confirmationPin?: string;
  /**
   * The code e-mailed for a held payment (issue 13): with the PIN, a strong confirmation for a customer who does
   * not pay with a passkey. Payments never reads it: identity's `confirmsHeldPayment` hook checks it.
   */
  readonly confirmationEmailCode?: string;
  /** The session this request came in (identity's step-up grants are bound to it). */
  readonly sessionId?: string;
  /**
   * The step-up grant sent with this request (`x-step-up-grant`): `confirm_payment {paymentId, amountMinor}` for a
   * held payment, `pay {...}` for a payment of a customer who pays with a passkey (issue 13). Payments never reads
   * it; identity's hooks check it.
   */
  readonly confirmationGrant?: string;
  /** The customer pays with a passkey (identity decides, with the session): every payment they start needs it. */
  readonly paysWithPasskey?: boolean;
}

/** What a payment names in its passkey proof (identity's step-up `pay`). */
export type PaymentPasskeyParams =
  | { readonly method: 'code' }
  | { readonly method: 'order_qr'; readonly codeId: string }
  | { readonly method: 'store_qr'; readonly amountMinor: bigint };

/** Turns a request into a customer context, or null when it is not authenticated. Identity provides it. */
export interface CustomerAuthenticator {
  authenticate(request: FastifyRequest): Promise<CustomerContext | null>;
}

export interface CustomerEvent {
  readonly type: 'payment.completed' | 'payment.canceled' | 'refund.completed';
  readonly paymentId: string;
  readonly refundId?: string;
  readonly amountMinor: bigint;
  readonly merchantName: string;
  readonly storeName: string | null;
  readonly at: Date;
}

/** A customer's notice of an event, as the relay hands it to `notifyCustomers`. */
export interface CustomerNotice {
  readonly customerId: string;
  readonly event: CustomerEvent;
}

/** Risk's decisions on a batch of code mints: `refused[i]` for mint i (deny or review; a challenge still mints). */
export interface CodeMintRisk {
  readonly refused: readonly boolean[];
  /** Writes the decisions in the batch's transaction (the client given to `assessCodeMints`). */
  record(): Promise<void>;
  /** After the commit: raises the alerts; per mint, the error its alert threw or null. */
  afterCommit(): Promise<unknown[]>;
}

export interface PaymentHooks {
  /**
   * Risk's word on a batch of code mints (codes.ts), scored on the batch's transaction `client` in order, each
   * as if the ones before it had been scored first. A customer in a recovery cool-down is never asked about.
   */
  assessCodeMints(client: Queryable, ctxs: readonly CustomerContext[]): Promise<CodeMintRisk>;
  /**
   * Called for a QR payment above the configured amount: true when the customer proved presence with
   * their PIN or a passkey for this amount (identity's amount-bound step-up).
   */
  requireStrongConfirmation(ctx: CustomerContext, amountMinor: bigint): Promise<boolean>;
  /**
   * The customer confirms a payment that waited for them (customer-confirmation.ts): `pin` needs the charge
   * PIN typed with this request, `strong` the PIN on a device the account has known for a day **plus** the code
   * e-mailed for this payment (`sendConfirmationCode`), or — for either — a passkey step-up grant bound to this
   * payment's id and amount (identity decides). Throws the reason when the proof is missing or wrong.
   */
  confirmsHeldPayment(ctx: CustomerContext, strength: 'pin' | 'strong', payment: { readonly id: string; readonly amountMinor: bigint }): Promise<void>;
  /**
   * Sends the code that, with the PIN, confirms a payment held for a strong confirmation (identity e-mails it to
   * an address the account has had for a day); answers where it went (masked).
   */
  sendConfirmationCode(ctx: CustomerContext, payment: { readonly id: string; readonly amountMinor: bigint; readonly place: string }): Promise<{ sentTo: string }>;
  /**
   * Writes the customers' notices (feed entries, e-mails) in the notice relay's transaction (customer-notices.ts),
   * a batch at a time with a fixed number of statements; throws when any of them cannot be written (the relay
   * then finds the one that fails).
   */
  notifyCustomers(notices: readonly CustomerNotice[], client: Queryable): Promise<void>;
  /**
   * For a customer who pays with a passkey (`ctx.paysWithPasskey`): consumes the `pay` grant sent with this
   * request, or throws `payment_passkey_required` (identity reports the attempt to risk).
   */
  requirePaymentPasskey(ctx: CustomerContext, params: PaymentPasskeyParams): Promise<void>;
}

/**
 * Until identity and risk plug in: no risk refusal, and strong confirmation refused
 * (fail closed: a large QR payment cannot go through without a real PIN or passkey check).
 */
export const defaultPaymentHooks: PaymentHooks = {
  assessCodeMints: async (_client, ctxs) => ({ refused: ctxs.map(() => false), record: async () => undefined, afterCommit: async () => ctxs.map(() => null) }),
  requireStrongConfirmation: async () => false,
  confirmsHeldPayment: async () => { throw new KobanError('strong_confirmation_required'); },
  sendConfirmationCode: async () => { throw new KobanError('email_confirmation_unavailable'); },
  notifyCustomers: async () => undefined,
  requirePaymentPasskey: async () => { throw new KobanError('payment_passkey_required'); },
};
