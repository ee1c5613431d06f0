/** What every payments function is given: built once in service.ts. */
import type { Ledger } from '../ledger/ledger.ts';
import type { PaymentsConfig, WalletConfig } from '../platform/config.ts';
import type { Database, Queryable } from '../platform/db/database.ts';
import type { PaymentHooks } from './context.ts';
import type { Tills } from './tills.ts';
import type { CodePaymentBatcher } from './group-commit.ts';

export type MerchantEventType = 'payment.authorized' | 'payment.completed' | 'payment.expired' | 'payment.failed' | 'payment.canceled' | 'refund.completed' | 'refund.failed' | 'settlement.statement_ready'
  // Sent on demand from the merchant portal's Developers page, so a merchant can check its endpoint (src/portal).
  | 'test.ping';

export interface MerchantEvent {
  readonly type: MerchantEventType;
  readonly merchantId: string;
  /**
   * The payment the event is about (a refund's event names its payment): the order key. An endpoint gets a
   * payment's events in the order they were written (`seq`), each after the one before it was delivered or
   * given up (webhooks/dispatcher.ts). Null for an event about no payment (a settlement statement),
   * which is delivered in no particular order.
   */
  readonly paymentId: string | null;
  /** The webhook body's `data`; plain JSON (amounts already integers). */
  readonly data: Readonly<Record<string, unknown>>;
}

/** An event ready to be bound into `outboxCte` (webhooks/outbox.ts): id, merchant, type, body, time, attempts, order key (the payment). */
export interface PreparedMerchantEvent {
  readonly values: readonly [string, string, MerchantEventType, string, Date, number, string | null];
}

/** Records merchant events inside the caller's transaction (the transactional outbox, webhooks/outbox.ts). */
export interface MerchantEventSink {
  record(client: Queryable, event: MerchantEvent): Promise<void>;
  /** The event's row values, for a caller that writes it within one of its own statements (`outboxCte`). */
  prepare(event: MerchantEvent): PreparedMerchantEvent;
}

export interface Logger {
  error(details: Record<string, unknown>, message: string): void;
  warn(details: Record<string, unknown>, message: string): void;
}

/** The kill switches payments obeys (operations' switches, src/operations/switches/catalogue.ts). */
export type PaymentSwitchName = 'payments' | 'refunds' | 'payment_code_minting';

/** Kill switches as payments sees them: a synchronous local read that throws `service_switched_off` when off. */
export interface PaymentSwitches {
  assertOn(name: PaymentSwitchName): void;
}

/** What payments tells the risk engine about a payment before any money moves. */
export interface PaymentRiskEvent {
  readonly kind: 'payment';
  readonly accountId: string;
  readonly deviceId: string;
  readonly storeId: string | null;
  /** The merchant paid (risk's money-converging rule). */
  readonly merchantId?: string;
  readonly merchantCategoryCode: string;
  readonly amountMinor: bigint;
  /** The customer's address (the request's, or for a till payment the one the code was minted from). */
  readonly ip: string | null;
  /** What the wallet holds before this payment (the balance-drain rule). */
  readonly balanceMinor: bigint | null;
  /** The payment's id (chosen before the assessment, so an allowed decision names its payment). */
  readonly ref: string;
  /** The customer proved this payment (or the code it charges) with the passkey they pay with: a challenge is met by it. */
  readonly passkeyProved?: boolean;
}

export interface PaymentRiskDecision {
  readonly id: string;
  readonly decision: 'allow' | 'challenge' | 'review' | 'deny';
  /** The rules behind a non-allow decision (the real engine always gives them). */
  readonly reasons?: ReadonlyArray<{ readonly rule: string }>;
}

/** An allowed payment's risk decision not recorded yet (opaque; the risk engine knows what it stands for). */
export interface PendingRiskDecision {
  readonly decisionId: string;
}

/**
 * A batch's risk decisions, one per event in order; `record` writes them in the batch's transaction, `afterCommit`
 * raises the alerts and answers, per event, the error its alert threw or null.
 */
export interface PaymentRiskBatch {
  readonly decisions: readonly PaymentRiskDecision[];
  record(client: Queryable): Promise<void>;
  afterCommit(): Promise<unknown[]>;
}

/**
 * The risk engine as payments sees it (src/risk). It records every decision with its rules and reasons;
 * a thrown error means "do not proceed" (fail closed).
 */
export interface PaymentRisk {
  assess(event: PaymentRiskEvent): Promise<PaymentRiskDecision>;
  /**
   * As `assess`, but an allow comes back unrecorded (`pending`): the till's group commit records the batch's
   * allows in its own transaction with `recordPending` (issue 11). Absent in tests that stub the engine.
   */
  assessPending?(event: PaymentRiskEvent): Promise<{ decision: PaymentRiskDecision; pending: PendingRiskDecision | null }>;
  recordPending?(client: Queryable, pending: readonly PendingRiskDecision[]): Promise<void>;
  /**
   * Scores a whole batch in the caller's transaction (src/risk/assess-batch.ts): the decisions `assess` would give one
   * after the other, in one read and one write. The till's group commit uses it when present (issue 11).
   */
  assessBatch?(client: Queryable, events: readonly PaymentRiskEvent[]): Promise<PaymentRiskBatch>;
  /** What an operator must look at (a till guessing codes); absent in tests that stub the engine. */
  recordSignal?(signal: { signal: 'terminal_code_guessing'; accountId: null; ref: string; message: string }): Promise<unknown>;
}

/**
 * The money endpoints' OPA nonces checked in memory and not written yet (merchants/opa/deferring-nonce-store.ts):
 * each till payment batch writes the ones waiting in its own transaction. Absent in tests without the OPA server.
 */
export interface DeferredNonces {
  takePending(): ReadonlyArray<{ readonly apiKey: string; readonly nonce: string; readonly expiresAtSec: number }>;
  giveBack(nonces: ReadonlyArray<{ readonly apiKey: string; readonly nonce: string; readonly expiresAtSec: number }>): void;
  writeWithin(client: Queryable, nonces: ReadonlyArray<{ readonly apiKey: string; readonly nonce: string; readonly expiresAtSec: number }>): Promise<void>;
}

export interface PaymentsDeps {
  readonly db: Database;
  readonly ledger: Ledger;
  readonly config: PaymentsConfig;
  /** The tiers' payment limits (`KOBAN_BASIC_PAYMENT_*`, `KOBAN_VERIFIED_PAYMENT_*`), for the tier payment limit step. */
  readonly tierLimits: Pick<WalletConfig, 'transfers'>;
  readonly hooks: PaymentHooks;
  readonly switches: PaymentSwitches;
  readonly risk: PaymentRisk;
  /** Terminal → store → merchant → receivable, cached per process (tills.ts). */
  readonly tills: Tills;
  /** HMAC key for payment codes (derived from KOBAN_SECRET_KEY). */
  readonly pepper: Buffer;
  readonly events: MerchantEventSink;
  /** Relays customer notices written with an outcome (customer-notices.ts); `kick` after such a commit. */
  readonly notices: { kick(): void; drain(): Promise<void> };
  readonly nonces?: DeferredNonces;
  /** The group commit of customer-code payments (group-commit.ts). */
  readonly codePayments: CodePaymentBatcher;
  readonly now: () => Date;
  readonly log: Logger;
}
