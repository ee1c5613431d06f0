/**
 * Wire shapes of payments and refunds: the OPA-compatible JSON (amounts as integer JPY, times as epoch
 * seconds, as PayPay's SDKs expect) and the webhook event data.
 */
import { assert } from '../platform/assert.ts';
import type { Queryable } from '../platform/db/database.ts';
import { NO_ORDER_DETAILS, type OrderDetails } from './order-details.ts';
import { readRefunds, type Payment, type PaymentStatus, type Refund } from './model.ts';

/** OPA amounts are JSON integers; every Koban amount is far below 2^53 (the payment cap is ¥1M). */
export function wireInteger(amountMinor: bigint): number {
  assert(amountMinor >= 0n && amountMinor <= BigInt(Number.MAX_SAFE_INTEGER), 'amount fits a JSON integer');
  return Number(amountMinor);
}

export function epochSec(at: Date | null): number | null {
  return at === null ? null : Math.floor(at.getTime() / 1000);
}

/**
 * PayPay reports a cancelled instant payment as FAILED (its documented transition COMPLETED → FAILED on cancel);
 * a reverted pre-authorisation (never accepted) is CANCELED, "block released".
 */
export function opaStatus(payment: Pick<Payment, 'status' | 'isAuthorization' | 'acceptedAt'>): PaymentStatus {
  if (payment.status === 'CANCELED' && payment.isAuthorization && payment.acceptedAt === null) return 'CANCELED';
  return payment.status === 'CANCELED' ? 'FAILED' : payment.status;
}

export function refundView(refund: Refund, payment: Pick<Payment, 'id'>) {
  return {
    status: refund.status,
    acceptedAt: epochSec(refund.completedAt ?? refund.createdAt),
    merchantRefundId: refund.merchantRefundId,
    paymentId: payment.id,
    amount: { amount: wireInteger(refund.amountMinor), currency: 'JPY' },
    requestedAt: epochSec(refund.requestedAt),
    reason: refund.reason ?? undefined,
  };
}

/** PayPay's `paymentMethods`: Koban pays from the wallet balance only, so one WALLET entry once paid. */
export function paymentMethodsOf(payment: Payment): Array<{ amount: { amount: number; currency: 'JPY' }; type: 'WALLET' }> {
  return payment.acceptedAt === null ? [] : [{ amount: { amount: wireInteger(payment.amountMinor), currency: 'JPY' }, type: 'WALLET' }];
}

/** PayPay's payment details (GET /v2/payments/{id}, /v2/codes/payments/{id}); storeId/terminalId as the merchant sent them. */
export function paymentView(payment: Payment, refunds: readonly Refund[], details: OrderDetails = NO_ORDER_DETAILS) {
  return {
    paymentId: payment.id,
    status: opaStatus(payment),
    acceptedAt: epochSec(payment.acceptedAt),
    merchantPaymentId: payment.merchantPaymentId,
    amount: { amount: wireInteger(payment.amountMinor), currency: 'JPY' },
    requestedAt: epochSec(payment.requestedAt ?? payment.createdAt),
    // The authorisation's expiry (a pre-authorisation); instant payments have none.
    expiresAt: payment.isAuthorization ? epochSec(payment.authorizationExpiresAt) : null,
    // Koban's, for a pre-authorisation: when the customer's money was held and how much (`amount` is what was captured, once captured).
    ...(payment.isAuthorization ? {
      authorizedAt: epochSec(payment.authorizedAt),
      authorizedAmount: payment.authorizedAmountMinor === null ? null : { amount: wireInteger(payment.authorizedAmountMinor), currency: 'JPY' },
      capturedAmount: payment.acceptedAt === null ? null : { amount: wireInteger(payment.amountMinor), currency: 'JPY' },
    } : {}),
    // "Processed time of FAILED status": Koban's cancel of a paid payment (reported FAILED, opaStatus).
    canceledAt: epochSec(payment.canceledAt),
    storeId: details.storeRef ?? payment.storeId ?? undefined,
    terminalId: details.terminalRef ?? payment.terminalId ?? undefined,
    orderReceiptNumber: null,
    orderDescription: payment.orderDescription ?? undefined,
    orderItems: details.orderItems,
    refunds: { data: refunds.map((refund) => refundView(refund, payment)) },
    paymentMethods: paymentMethodsOf(payment),
  };
}

/** Webhook data for a payment (PayPay's Transaction notification fields) plus Koban's own. */
export async function paymentEventData(db: Queryable, payment: Payment): Promise<Record<string, unknown>> {
  return paymentEventDataOf(payment, await readRefunds(db, payment.id));
}

/** The same, when the caller knows the refunds (none, for a payment completing right now). */
export function paymentEventDataOf(payment: Payment, refunds: readonly Refund[]): Record<string, unknown> {
  return {
    notification_type: 'Transaction',
    merchant_id: payment.merchantId,
    store_id: payment.storeId,
    pos_id: payment.terminalId,
    order_id: payment.id,
    merchant_order_id: payment.merchantPaymentId,
    paid_at: payment.acceptedAt?.toISOString() ?? null,
    // A pre-authorisation's hold: when it was placed and when it lapses (null for an instant payment).
    authorized_at: payment.authorizedAt?.toISOString() ?? null,
    expires_at: payment.isAuthorization ? payment.authorizationExpiresAt?.toISOString() ?? null : null,
    order_amount: wireInteger(payment.amountMinor),
    state: opaStatus(payment),
    payment: paymentView(payment, refunds),
  };
}
