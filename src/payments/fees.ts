/** The merchant fee: a rate in basis points of the amount, rounded down (the merchant never pays a fraction). */
import { assert } from '../platform/assert.ts';

export function merchantFee(amountMinor: bigint, feeBps: number): bigint {
  assert(amountMinor > 0n && Number.isInteger(feeBps) && feeBps >= 0 && feeBps <= 10_000, 'fee inputs');
  const fee = (amountMinor * BigInt(feeBps)) / 10_000n;
  assert(fee >= 0n && fee <= amountMinor, 'fee within the amount');
  return fee;
}

/**
 * The share of the fee returned with a refund. Computed on the running totals, so however a payment is
 * split into refunds, refunding all of it returns exactly the whole fee (no rounding drift).
 */
export function feeRefund(paymentMinor: bigint, feeMinor: bigint, refundedBeforeMinor: bigint, refundMinor: bigint): bigint {
  assert(refundMinor > 0n && refundedBeforeMinor >= 0n && refundedBeforeMinor + refundMinor <= paymentMinor, 'refund within payment');
  const before = (feeMinor * refundedBeforeMinor) / paymentMinor;
  const after = (feeMinor * (refundedBeforeMinor + refundMinor)) / paymentMinor;
  return after - before;
}
