/**
 * The one mapping from a payment's or refund's outcome to the error every surface answers (the till app
 * `/v1/till`, the signed till API and the OPA API, the wallet's QR payments). Each cause has its own code
 * everywhere; the OPA listener turns the code into PayPay's name where PayPay has one
 * (src/merchants/opa/server.ts DEFAULT_ERROR_MAP):
 *
 * | Cause | Problem code | OPA |
 * |---|---|---|
 * | balance too low | `insufficient_funds` | `NO_SUFFICIENT_FUND` |
 * | wallet frozen or closed | `wallet_frozen` | `WALLET_FROZEN` (Koban's) |
 * | risk engine refused (deny, review; a challenge at a till waits for the customer instead) | `payment_refused_by_risk` | `UNACCEPTABLE_OP` |
 * | test money at a live merchant, or real money at a test twin (standing-step.ts) | `payment_mode_mismatch` | `UNACCEPTABLE_OP` |
 * | above the customer's tier's 24 h or 30-day payment limit (tier-limit-step.ts) | `payment_limit_exceeded` | `LIMIT_EXCEEDED` (PayPay's) |
 * | the customer declined or did not confirm in time | `customer_declined` / `customer_confirmation_expired` | `USER_DECLINED` / `EXPIRED_USER_CONFIRMATION` |
 * | any other ledger refusal (e.g. the merchant's account closed: `account_closed`) | `payment_failed` | `PAYMENT_FAILED` (Koban's) |
 * | code expired / used / unknown | `payment_code_expired` / `_used` / `_not_found` | `PAYMENT_CODE_EXPIRED` / `_ALREADY_USED` / `_NOT_FOUND` |
 * | kill switch off | `service_switched_off` | `MAINTENANCE_MODE` |
 * | still in flight after the bounded wait | `payment_in_progress` / `refund_in_progress` | `PAYMENT_IN_PROGRESS` / `THROTTLED_MULTIPLE_REFUND_REJECTED` |
 *
 * A payment's `failureCode` is what `failureCodeOf` (ledger-legs.ts) made of the ledger's answer.
 */
import { assert } from '../platform/assert.ts';
import { KobanError } from '../platform/errors.ts';
import { awaitingCustomer } from './customer-confirmation.ts';
import type { Payment, Refund } from './model.ts';

/** The error for a payment attempt that failed with this failure code. */
export function paymentFailure(failureCode: string | null): KobanError {
  switch (failureCode) {
    case 'insufficient_funds': return new KobanError('insufficient_funds');
    case 'wallet_frozen':
    case 'wallet_closed': return new KobanError('wallet_frozen');
    case 'customer_declined': return new KobanError('customer_declined');
    case 'customer_confirmation_expired': return new KobanError('customer_confirmation_expired');
    default: return new KobanError('payment_failed', { detail: `the ledger refused the payment: ${failureCode ?? 'unknown'}` });
  }
}

/**
 * A payment attempt's answer: the payment when it completed (or was paid and later refunded or cancelled),
 * else its error. A dynamic QR order whose attempt failed stays open (CREATED, the failure code kept).
 */
export function paymentAnswer(payment: Payment): Payment {
  assert(!(payment.status === 'CREATED' && payment.paymentTransferId !== null), 'an attempt is answered once its outcome is recorded');
  if (payment.status === 'FAILED') throw paymentFailure(payment.failureCode);
  if (payment.status === 'CREATED') throw paymentFailure(payment.failureCode);
  return payment;
}

/** The error for a refund whose ledger step failed (the refund is recorded REFUND_FAILED, the money stays). */
export function refundFailure(refund: Refund): KobanError | null {
  if (refund.status !== 'REFUND_FAILED') return null;
  return new KobanError('refund_failed', { detail: `the ledger refused the refund: ${refund.failureCode ?? 'unknown'}` });
}

/**
 * A till's answer: as `paymentAnswer`, except that a payment waiting for its customer's confirmation is
 * answered as it stands (CREATED, "waiting for the customer"), never as paid or failed. The same call
 * repeated answers the same wait, then the outcome (customer-confirmation.ts).
 */
export function tillAnswer(payment: Payment): Payment {
  return awaitingCustomer(payment) ? payment : paymentAnswer(payment);
}

