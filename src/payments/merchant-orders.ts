/**
 * The OPA surface's order rules that PayPay documents and Koban's core payment path does not need:
 * merchant-chosen store and terminal ids, and a cancel of a merchantPaymentId Koban has not seen.
 */
import { resolveMerchantRefs } from '../merchants/external-ids.ts';
import type { Queryable } from '../platform/db/database.ts';
import { KobanError } from '../platform/errors.ts';
import type { PaymentsDeps } from './deps.ts';
import { readPaymentByMerchantId, type Payment } from './model.ts';

export interface OrderRefs {
  /** As the merchant sent them (its own ids, or Koban's). */
  readonly storeRef: string | null;
  readonly terminalRef: string | null;
  /** Koban's store and terminal, null when the merchant's id names none of them. */
  readonly storeId: string | null;
  readonly terminalId: string | null;
}

/** A terminal counts only inside a store that resolved too (the terminal must be in that store). */
export async function resolveOrderRefs(deps: PaymentsDeps, merchantId: string, storeRef: string | null, terminalRef: string | null): Promise<OrderRefs> {
  const resolved = await resolveMerchantRefs(deps.db.pool, merchantId, { storeRef, terminalRef });
  return { storeRef, terminalRef, storeId: resolved.storeId, terminalId: resolved.storeId === null ? null : resolved.terminalId };
}

/** What the merchant sent differs from Koban's id: keep the merchant's spelling to echo it. */
export function refToKeep(ref: string | null, resolvedId: string | null): string | null {
  return ref !== null && ref !== resolvedId ? ref : null;
}

/** A merchantPaymentId cancelled before Koban saw it can never be paid (PayPay's cancel guarantee). */
export async function refuseCanceledId(db: Queryable, merchantId: string, merchantPaymentId: string): Promise<void> {
  // A payment that slipped in beside the cancel stays answerable: its retry gets the payment, not this refusal.
  // Named (prepared per connection): read on every till payment, and planning cost ten times the run (issue 11).
  const result = await db.query({ name: 'payments_canceled_id', text:
    `select 1 from payment_cancel_requests c where c.merchant_id = $1 and c.merchant_payment_id = $2
       and not exists (select 1 from payments p where p.merchant_id = c.merchant_id and p.merchant_payment_id = c.merchant_payment_id)`,
    values: [merchantId, merchantPaymentId] });
  if (result.rows.length > 0) throw canceledIdRefusal();
}

/** A merchantPaymentId cancelled before Koban saw a payment for it can never be paid (the till reads it with its request: till.ts). */
export function canceledIdRefusal(): KobanError {
  return new KobanError('merchant_payment_id_conflict', { detail: 'this merchantPaymentId was cancelled; start again with a new one' });
}

/**
 * PayPay's cancel: 202 for a known payment (cancelled as before) and for one Koban has not seen, which is
 * then remembered so that it can never be paid. A payment that appears between the two reads is cancelled.
 */
export async function cancelByMerchantId(
  deps: PaymentsDeps, merchantId: string, merchantPaymentId: string, cancel: (merchantId: string, merchantPaymentId: string) => Promise<Payment>,
): Promise<Payment | null> {
  if ((await readPaymentByMerchantId(deps.db.pool, merchantId, merchantPaymentId)) !== null) return cancel(merchantId, merchantPaymentId);
  await deps.db.pool.query(
    `insert into payment_cancel_requests (merchant_id, merchant_payment_id, requested_at) values ($1, $2, $3) on conflict do nothing`,
    [merchantId, merchantPaymentId, deps.now()]);
  if ((await readPaymentByMerchantId(deps.db.pool, merchantId, merchantPaymentId)) !== null) return cancel(merchantId, merchantPaymentId);
  return null;
}
