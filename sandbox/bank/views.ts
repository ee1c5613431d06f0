// Wire views: amounts as integer strings, times in ISO 8601, account numbers reduced to their last four digits.
import { formatAmountMinor } from '../shared/amount.ts';
import { MAX_OTP_FAILURES } from './mandates.ts';
import type { MandateRecord } from './mandates.ts';
import type { DebitRecord, PayoutRecord } from './transfers.ts';

const iso = (ms: number): string => new Date(ms).toISOString();

// The one-time code is deliberately absent: it reaches the holder through the bank, never through Koban.
export function mandateView(mandate: MandateRecord) {
  return {
    id: mandate.id, object: 'mandate' as const, status: mandate.status, failureCode: mandate.failureCode,
    bankCode: mandate.bankCode, branchCode: mandate.branchCode, accountType: mandate.accountType,
    accountNumberLast4: mandate.accountNumber.slice(-4), holderNameKana: mandate.holderNameKana,
    otpExpiresAt: iso(mandate.otpExpiresAtMs), otpAttemptsRemaining: MAX_OTP_FAILURES - mandate.otpFailures,
    createdAt: iso(mandate.createdAtMs),
  };
}

export function debitView(debit: DebitRecord) {
  return {
    id: debit.id, object: 'debit' as const, mandateId: debit.mandateId, amount: formatAmountMinor(debit.amountMinor),
    currency: 'JPY' as const, reference: debit.reference, status: debit.status, failureCode: debit.failureCode,
    createdAt: iso(debit.createdAtMs),
  };
}

export function payoutView(payout: PayoutRecord) {
  return {
    id: payout.id, object: 'payout' as const, bankCode: payout.bankCode, branchCode: payout.branchCode,
    accountType: payout.accountType, accountNumberLast4: payout.accountNumber.slice(-4), holderNameKana: payout.holderNameKana,
    amount: formatAmountMinor(payout.amountMinor), currency: 'JPY' as const, reference: payout.reference,
    status: payout.status, failureCode: payout.failureCode, createdAt: iso(payout.createdAtMs),
    settledAt: payout.settledAtMs === null ? null : iso(payout.settledAtMs),
  };
}

/** Webhook `data`: the same fields as the resource, so a consumer can parse both with one schema. */
export function eventData(record: MandateRecord | DebitRecord | PayoutRecord) {
  if ('otpFailures' in record) return mandateView(record);
  if ('mandateId' in record) return debitView(record);
  return payoutView(record);
}
