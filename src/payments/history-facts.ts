/**
 * What the wallet's history needs to know about the payments behind its ledger transfers: merchant and
 * store names, the payment's status and ids. Transfers name their payment in `reference`
 * (`payment:<id>`, `refund:<id>`, `cancel:<paymentId>`, see complete.ts, refunds.ts, cancel.ts); this
 * answers for a batch of such references, and only for payments of this customer.
 */
import type { Queryable } from '../platform/db/database.ts';
import { assert } from '../platform/assert.ts';
import { isUuid } from '../platform/ids.ts';
import { placeName } from './place-name.ts';

export interface PaymentFacts {
  readonly paymentId: string;
  readonly refundId: string | null;
  readonly paymentKind: string;
  /** The payment's status (COMPLETED, REFUNDED, CANCELED…), or the refund's for a refund. */
  readonly status: string;
  readonly merchantName: string;
  readonly storeName: string | null;
  readonly orderDescription: string | null;
  /** Merchant and store said once (place-name.ts). */
  readonly placeName: string;
}

const REFERENCE = /^(payment|refund|cancel):(.+)$/;

/** Facts per reference; references that are not this customer's payments are simply absent. */
export async function paymentFactsByReference(db: Queryable, customerId: string, references: readonly string[]): Promise<Map<string, PaymentFacts>> {
  const paymentIds = new Set<string>();
  const refundIds = new Set<string>();
  for (const reference of references) {
    const match = REFERENCE.exec(reference);
    if (match === null || !isUuid(match[2] ?? '')) continue;
    (match[1] === 'refund' ? refundIds : paymentIds).add(match[2] as string);
  }
  const facts = new Map<string, PaymentFacts>();
  if (paymentIds.size > 0) {
    const rows = await db.query<{ id: string; kind: string; status: string; merchant_name: string; store_name: string | null; order_description: string | null }>(
      `select p.id, p.kind, p.status, m.name as merchant_name, s.name as store_name, p.order_description
       from payments p join merchants m on m.id = p.merchant_id left join stores s on s.id = p.store_id
       where p.id = any($1::uuid[]) and p.customer_id = $2`, [[...paymentIds], customerId]);
    for (const row of rows.rows) {
      const base = { paymentId: row.id, refundId: null, paymentKind: row.kind, status: row.status, merchantName: row.merchant_name, storeName: row.store_name, orderDescription: row.order_description, placeName: placeName(row.merchant_name, row.store_name) };
      facts.set(`payment:${row.id}`, base);
      facts.set(`cancel:${row.id}`, base);
    }
  }
  if (refundIds.size > 0) {
    const rows = await db.query<{ id: string; payment_id: string; kind: string; status: string; merchant_name: string; store_name: string | null; order_description: string | null }>(
      `select r.id, r.payment_id, p.kind, r.status, m.name as merchant_name, s.name as store_name, p.order_description
       from refunds r join payments p on p.id = r.payment_id join merchants m on m.id = p.merchant_id left join stores s on s.id = p.store_id
       where r.id = any($1::uuid[]) and p.customer_id = $2`, [[...refundIds], customerId]);
    for (const row of rows.rows) {
      facts.set(`refund:${row.id}`, { paymentId: row.payment_id, refundId: row.id, paymentKind: row.kind, status: row.status, merchantName: row.merchant_name, storeName: row.store_name, orderDescription: row.order_description, placeName: placeName(row.merchant_name, row.store_name) });
    }
  }
  return facts;
}

/** A payment and the money that came back from it (refunds that went through, a cancel), for a receipt. */
export interface PaymentLinks {
  readonly paymentId: string;
  readonly paymentTransferId: string | null;
  readonly amountMinor: bigint;
  readonly returns: ReadonlyArray<{ readonly kind: 'refund' | 'cancel'; readonly id: string; readonly transferId: string; readonly amountMinor: bigint; readonly at: Date }>;
  /** What the customer paid in the end: the amount less every refund and the cancel. */
  readonly netMinor: bigint;
}

/** The payment's links, or null when it is not this customer's payment (or not paid). */
export async function paymentLinks(db: Queryable, customerId: string, paymentId: string): Promise<PaymentLinks | null> {
  if (!isUuid(paymentId)) return null;
  const payment = (await db.query<{ id: string; amount_minor: string; payment_transfer_id: string | null; cancel_transfer_id: string | null; cancel_amount_minor: string | null; canceled_at: Date | null }>(
    `select id, amount_minor, payment_transfer_id, cancel_transfer_id, cancel_amount_minor, canceled_at from payments
     where id = $1 and customer_id = $2 and status in ('COMPLETED', 'REFUNDED', 'CANCELED')`, [paymentId, customerId])).rows[0];
  if (payment === undefined) return null;
  const refunds = await db.query<{ id: string; amount_minor: string; refund_transfer_id: string; completed_at: Date | null; created_at: Date }>(
    `select id, amount_minor, refund_transfer_id, completed_at, created_at from refunds where payment_id = $1 and status = 'REFUNDED' order by created_at, id`, [paymentId]);
  const returns: Array<PaymentLinks['returns'][number]> = refunds.rows.map((row) => ({ kind: 'refund' as const, id: row.id, transferId: row.refund_transfer_id, amountMinor: BigInt(row.amount_minor), at: row.completed_at ?? row.created_at }));
  if (payment.cancel_transfer_id !== null && payment.cancel_amount_minor !== null && payment.canceled_at !== null) {
    returns.push({ kind: 'cancel', id: payment.id, transferId: payment.cancel_transfer_id, amountMinor: BigInt(payment.cancel_amount_minor), at: payment.canceled_at });
  }
  const amountMinor = BigInt(payment.amount_minor);
  const netMinor = returns.reduce((left, back) => left - back.amountMinor, amountMinor);
  assert(netMinor >= 0n, 'a payment returns at most what was paid');
  return { paymentId: payment.id, paymentTransferId: payment.payment_transfer_id, amountMinor, returns, netMinor };
}
