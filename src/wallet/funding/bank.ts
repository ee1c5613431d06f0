// The bank rail as Koban's wallet sees it: direct-debit mandates (口座振替) for top-ups and payouts for merchant
// settlement. Implemented over HTTP by `http-bank.ts`. Amounts are bigint JPY minor units.
import type { ProviderResult } from './provider-result.ts';

export type BankAccountType = 'ordinary' | 'current';

export interface BankAccountDetails {
  bankCode: string;
  branchCode: string;
  accountType: BankAccountType;
  accountNumber: string;
  holderNameKana: string;
}

export type MandateStatus = 'pending_confirmation' | 'active' | 'failed' | 'expired';

export interface Mandate {
  id: string;
  status: MandateStatus;
  // e.g. account_not_found, otp_attempts_exceeded, otp_expired.
  failureCode: string | null;
  bankCode: string;
  branchCode: string;
  accountType: BankAccountType;
  accountNumberLast4: string;
  holderNameKana: string;
  otpExpiresAtMs: number;
  otpAttemptsRemaining: number;
  createdAtMs: number;
}

export interface Debit {
  id: string;
  mandateId: string;
  amountMinor: bigint;
  reference: string;
  status: 'succeeded' | 'failed';
  failureCode: string | null;
  createdAtMs: number;
}

export interface Payout {
  id: string;
  amountMinor: bigint;
  reference: string;
  // `accepted` until the bank settles it; the final state also arrives as a webhook.
  status: 'accepted' | 'paid' | 'failed';
  failureCode: string | null;
  bankCode: string;
  branchCode: string;
  accountNumberLast4: string;
  createdAtMs: number;
  settledAtMs: number | null;
}

export interface PayoutRequest extends Omit<BankAccountDetails, 'accountType'> {
  accountType?: BankAccountType;
  amountMinor: bigint;
  reference: string;
  idempotencyKey: string;
}

export interface BankRail {
  // The bank then sends its own one-time code to the holder; Koban never sees it except as the holder types it.
  createMandate(request: BankAccountDetails & { idempotencyKey: string }): Promise<ProviderResult<Mandate>>;
  confirmMandate(request: { mandateId: string; code: string; idempotencyKey: string }): Promise<ProviderResult<Mandate>>;
  getMandate(mandateId: string): Promise<ProviderResult<Mandate>>;
  debit(request: { mandateId: string; amountMinor: bigint; reference: string; idempotencyKey: string }): Promise<ProviderResult<Debit>>;
  getDebit(debitId: string): Promise<ProviderResult<Debit>>;
  payout(request: PayoutRequest): Promise<ProviderResult<Payout>>;
  getPayout(payoutId: string): Promise<ProviderResult<Payout>>;
  /** A withdrawal: a payout to the account behind the customer's own active mandate (Koban keeps only its last four digits). */
  payoutToMandate(request: { mandateId: string; amountMinor: bigint; reference: string; idempotencyKey: string }): Promise<ProviderResult<Payout>>;
}
