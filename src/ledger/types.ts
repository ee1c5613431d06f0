/**
 * The ledger's vocabulary, after TigerBeetle: accounts with four running totals, immutable transfers
 * between two accounts of one ledger, two-phase holds, linked chains and sticky failures.
 */

export const AccountFlags = {
  none: 0,
  /** A wallet: what was paid out (posted or held) never exceeds what came in. */
  debitsMustNotExceedCredits: 1,
  /** The mirror rule, for accounts that must never be credited beyond what they were debited. */
  creditsMustNotExceedDebits: 2,
} as const;

export const TransferFlags = {
  none: 0,
  /** This transfer and the next one succeed or fail together. */
  linked: 1,
  /** Reserve the amount (a hold) until it is posted, voided or expires. */
  pending: 2,
  postPendingTransfer: 4,
  voidPendingTransfer: 8,
} as const;

export const AccountCodes = {
  /** A customer's prepaid balance (前払式支払手段): spendable only (src/wallet/balance-kinds.ts). */
  customerWallet: 100,
  /** A verified customer's funds-transfer balance (資金移動業 type 2): spendable, sendable, withdrawable. */
  customerFundsTransfer: 110,
  /** A customer's points (cashback of campaigns, src/wallet/promo): spendable only, spent first, they expire. */
  customerPoints: 120,
  merchantReceivable: 200,
  merchantPayout: 210,
  /** Cash a merchant's stores took at the register for customer top-ups (issue 19): owed to Koban until the daily close nets it. */
  merchantCashOwed: 220,
  fundingClearingCard: 300,
  fundingClearingBank: 310,
  feeRevenue: 400,
  promotionBudget: 500,
  compensation: 600,
  /** Customer-to-customer transfers sent and not yet accepted, declined or returned (src/wallet/transfers). */
  transfersInFlight: 700,
  /** Where test money comes from (the test ledger only): it tops up test wallets for free (src/wallet/test-wallets.ts). */
  testMoneyIssuer: 800,
  suspense: 900,
} as const;

/** Why money moved. Stored on every transfer; reports group by it. */
export const TransferCodes = {
  topUp: 1,
  payment: 2,
  refund: 3,
  fee: 4,
  cashback: 5,
  settlement: 6,
  payout: 7,
  compensation: 8,
  correction: 9,
  hold: 10,
  /** A payout the bank accepted and then failed, back from bank clearing to the merchant's payout account. */
  payoutReturn: 11,
  /** Customer-to-customer transfers (src/wallet/transfers): sender → in flight, in flight → recipient, in flight → sender. */
  p2pSend: 20,
  p2pAccept: 21,
  p2pReturn: 22,
  /** A withdrawal of a funds-transfer balance to the customer's bank, and its return when the bank fails it. */
  withdrawal: 23,
  withdrawalReturn: 24,
  seed: 99,
} as const;

/**
 * The ledgers (one asset each; a transfer never crosses two). Test money — a merchant's test twin and the
 * developers' test wallets — is a currency of its own, ISO 4217's XTS ("for testing"), so the ledger itself
 * refuses any transfer that would let real and test yen meet, whatever a caller's bug asks for.
 */
export const Ledgers = { JPY: 392, TEST_JPY: 963 } as const;

export type AccountStatus = 'active' | 'frozen' | 'closed';

export interface Account {
  readonly id: string;
  readonly ledger: number;
  readonly code: number;
  readonly flags: number;
  readonly status: AccountStatus;
  readonly debitsPending: bigint;
  readonly debitsPosted: bigint;
  readonly creditsPending: bigint;
  readonly creditsPosted: bigint;
  readonly reference: string | null;
  readonly createdAt: Date;
}

/** A transfer as a caller asks for it, already validated for shape (see validate.ts). */
export interface TransferRequest {
  readonly id: string;
  /** May be null on post/void: taken from the pending transfer. */
  readonly debitAccountId: string | null;
  readonly creditAccountId: string | null;
  /** Null on post means "the whole held amount"; on void it must be null or the held amount. */
  readonly amount: bigint | null;
  readonly pendingId: string | null;
  readonly ledger: number;
  readonly code: number;
  readonly flags: number;
  /** Seconds until a pending transfer expires; 0 for every other kind. */
  readonly timeoutSeconds: number;
  readonly reference: string | null;
}

/** A transfer as the ledger stored it. */
export interface Transfer {
  readonly id: string;
  readonly debitAccountId: string;
  readonly creditAccountId: string;
  readonly amount: bigint;
  readonly pendingId: string | null;
  readonly ledger: number;
  readonly code: number;
  readonly flags: number;
  readonly timeoutSeconds: number;
  readonly reference: string | null;
  readonly createdAt: Date;
}

export type PendingStatus = 'pending' | 'posted' | 'voided' | 'expired';

export interface PendingState {
  readonly transfer: Transfer;
  readonly status: PendingStatus;
  readonly expiresAt: Date;
}

/**
 * Per-transfer outcomes. `created` and `exists` are successes; every other result moved nothing.
 * Failures other than the idempotency and linking results are remembered: a retry of that id
 * answers `id_already_failed`.
 */
export const transferResults = [
  'created',
  'exists',
  'exists_with_different_fields',
  'id_already_failed',
  'linked_event_failed',
  'linked_event_chain_open',
  'debit_account_not_found',
  'credit_account_not_found',
  'accounts_must_have_the_same_ledger',
  'transfer_must_have_the_same_ledger_as_accounts',
  'debit_account_frozen',
  'debit_account_closed',
  'credit_account_closed',
  'exceeds_credits',
  'exceeds_debits',
  'overflows_debits',
  'overflows_credits',
  'pending_transfer_not_found',
  'pending_transfer_not_pending',
  'pending_transfer_already_posted',
  'pending_transfer_already_voided',
  'pending_transfer_expired',
  'pending_transfer_has_different_debit_account_id',
  'pending_transfer_has_different_credit_account_id',
  'pending_transfer_has_different_ledger',
  'pending_transfer_has_different_code',
  'pending_transfer_has_different_amount',
  'exceeds_pending_transfer_amount',
] as const;

export type TransferResultCode = (typeof transferResults)[number];

export interface TransferResult {
  readonly id: string;
  readonly result: TransferResultCode;
  /** The stored transfer, for `created` and `exists`. */
  readonly transfer: Transfer | null;
  /** For `exists_with_different_fields`: which fields differ. */
  readonly differentFields?: readonly string[];
}

export function isSuccess(result: TransferResultCode): boolean {
  return result === 'created' || result === 'exists';
}

/** Results that say nothing about the id itself, so they are not remembered as failures. */
export function isStickyFailure(result: TransferResultCode): boolean {
  return !isSuccess(result) && result !== 'exists_with_different_fields' && result !== 'id_already_failed'
    && result !== 'linked_event_failed' && result !== 'linked_event_chain_open';
}

export function hasFlag(flags: number, flag: number): boolean {
  return (flags & flag) === flag;
}

/** Available to spend from an account with debitsMustNotExceedCredits: posted in, minus out and held. */
export function availableBalance(account: Pick<Account, 'creditsPosted' | 'debitsPosted' | 'debitsPending'>): bigint {
  return account.creditsPosted - account.debitsPosted - account.debitsPending;
}
