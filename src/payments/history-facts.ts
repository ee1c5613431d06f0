/**
 * What the wallet's history needs to know about the payments behind its ledger transfers: merchant and
 * store names, the payment's status and ids. Transfers name their payment in `reference`
 * (`payment:<id>`, `refund:<id>`, `cancel:<paymentId>`, see complete.ts, refunds.ts, cancel.ts); this
 * answers for a batch of such references, and only for payments of this customer.
 */
import type { Queryable } from '../platform/db/database.ts';
import { isUuid } from '../platform/ids.ts';

export interface PaymentFacts {
  readonly paymentId: string;
  readonly refundId: string | null;
  readonly paymentKind: string;
  /** The payment's status (COMPLETED, REFUNDED, CANCELED…), or the refund's for a refund. */
  readonly status: string;
  readonly merchantName: string;
  readonly storeName: string | null;
  readonly orderDescription: string | null;
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
      const base = { paymentId: row.id, refundId: null, paymentKind: row.kind, status: row.status, merchantName: row.merchant_name, storeName: row.store_name, orderDescription: row.order_description };
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
      facts.set(`refund:${row.id}`, { paymentId: row.payment_id, refundId: row.id, paymentKind: row.kind, status: row.status, merchantName: row.merchant_name, storeName: row.store_name, orderDescription: row.order_description });
    }
  }
  return facts;
}
