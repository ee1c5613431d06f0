/**
 * The pipeline's "merchant standing" step (issue 13/16): a suspended or closed merchant, or a suspended
 * store, takes no payment on any surface, from the moment its state changes. The merchant/store facts
 * (names, receivable account) stay cached in tills.ts; the right to be paid is re-read here, uncached
 * (src/merchants/standing.ts). Refunds and cancels do not run it: they only return money to the wallet
 * that paid, which a suspension must not block (src/merchants/README.md, "Merchant states").
 */
import { judgeMerchantStanding, requireMerchantStanding } from '../merchants/standing.ts';
import { assert } from '../platform/assert.ts';
import type { AuthorizationAttempt } from './authorizations.ts';
import type { DynamicQrAttempt, StaticQrAttempt } from './customer-pay.ts';
import type { PaymentsDeps } from './deps.ts';
import type { CodeAttempt } from './till.ts';

/** A till payment read its standing with its other facts, in the replay step's one statement (till.ts). */
export async function codePaymentStanding(deps: PaymentsDeps, attempt: CodeAttempt): Promise<undefined> {
  if (attempt.facts !== undefined) judgeMerchantStanding(attempt.facts.standing, attempt.request.storeId);
  else await requireMerchantStanding(deps.db.pool, attempt.request.merchantId, attempt.request.storeId);
  return undefined;
}

export async function orderStanding(deps: PaymentsDeps, attempt: DynamicQrAttempt): Promise<undefined> {
  assert(attempt.qr !== undefined, 'the order was read');
  await requireMerchantStanding(deps.db.pool, attempt.qr.payment.merchantId, attempt.qr.payment.storeId);
  return undefined;
}

export async function storeStanding(deps: PaymentsDeps, attempt: StaticQrAttempt): Promise<undefined> {
  assert(attempt.store !== undefined, 'the store was read');
  await requireMerchantStanding(deps.db.pool, attempt.store.merchantId, attempt.store.storeId);
  return undefined;
}

/**
 * Capturing a pre-authorisation moves the held money to the merchant: a suspended merchant or store may not
 * (the API key's short cache may still call the merchant active). A revert has no such step: it only
 * releases the payer's own money, which a suspension must never block.
 */
export async function captureStanding(deps: PaymentsDeps, attempt: AuthorizationAttempt): Promise<undefined> {
  assert(attempt.payment !== undefined, 'the authorisation was read');
  await requireMerchantStanding(deps.db.pool, attempt.payment.merchantId, attempt.payment.storeId);
  return undefined;
}
