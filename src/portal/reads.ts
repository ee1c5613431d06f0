/**
 * What the merchant portal shows, read from the owning modules' tables (reads only; every write goes
 * through the owner's API). Every query names the merchant: another merchant's payment, store or
 * statement is "not found", never shown.
 */
import type { Database } from '../platform/db/database.ts';
import { KobanError } from '../platform/errors.ts';
import { isUuid } from '../platform/ids.ts';
import { paymentColumnsOf, REFUND_COLUMNS, toPayment, toRefund, type Payment, type PaymentRow, type Refund, type RefundRow } from '../payments/model.ts';
import { readSettlement, type Settlement } from '../payments/settlement/close.ts';

export const SALES_PAGE_MAX = 200;

export interface SaleLine {
  readonly payment: Payment;
  readonly storeName: string | null;
  readonly terminalName: string | null;
}

export interface SalesQuery {
  /** Business day (JST), YYYY-MM-DD. */
  readonly date: string;
  /** Free text: a receipt number (merchantPaymentId or payment id, prefix) or an amount in yen. */
  readonly q: string | null;
  readonly storeId: string | null;
  readonly terminalId: string | null;
  readonly status: string | null;
  readonly limit: number;
}

type SaleRow = PaymentRow & { store_name: string | null; terminal_name: string | null };

/** The day's payments (by the day they were created in Japan), newest first, with search. */
export async function listSales(db: Database, merchantId: string, query: SalesQuery): Promise<SaleLine[]> {
  const text = query.q?.trim() ?? '';
  const amount = /^[0-9]{1,12}$/.test(text.replaceAll(',', '')) ? BigInt(text.replaceAll(',', '')) : null;
  const result = await db.pool.query<SaleRow>(
    `select ${paymentColumnsOf('p')}, s.name as store_name, t.name as terminal_name
     from payments p left join stores s on s.id = p.store_id left join terminals t on t.id = p.terminal_id
     where p.merchant_id = $1
       and coalesce(p.business_date, to_char(p.created_at at time zone 'Asia/Tokyo', 'YYYY-MM-DD')) = $2
       and ($3 = '' or p.merchant_payment_id like $4 or p.id::text like $4 or p.amount_minor = $5)
       and ($6::uuid is null or p.store_id = $6) and ($7::uuid is null or p.terminal_id = $7) and ($8::text is null or p.status = $8)
     order by p.created_at desc, p.id desc limit $9`,
    [merchantId, query.date, text, `${text.replace(/[%_\\]/g, '')}%`, amount, query.storeId, query.terminalId, query.status, Math.min(Math.max(query.limit, 1), SALES_PAGE_MAX)]);
  return result.rows.map((row) => ({ payment: toPayment(row), storeName: row.store_name, terminalName: row.terminal_name }));
}

export interface TimelineEntry { readonly at: Date; readonly kind: string; readonly detail: string }

export interface SaleDetail extends SaleLine { readonly refunds: Refund[]; readonly timeline: TimelineEntry[] }

/** One payment with its refunds and its timeline: created, paid, refunds, cancel, webhook deliveries. */
export async function readSale(db: Database, merchantId: string, paymentId: string): Promise<SaleDetail> {
  if (!isUuid(paymentId)) throw new KobanError('payment_not_found');
  const found = await db.pool.query<SaleRow>(
    `select ${paymentColumnsOf('p')}, s.name as store_name, t.name as terminal_name
     from payments p left join stores s on s.id = p.store_id left join terminals t on t.id = p.terminal_id where p.id = $1 and p.merchant_id = $2`, [paymentId, merchantId]);
  const row = found.rows[0];
  if (row === undefined) throw new KobanError('payment_not_found');
  const payment = toPayment(row);
  const refunds = (await db.pool.query<RefundRow>(`select ${REFUND_COLUMNS} from refunds where payment_id = $1 order by created_at`, [paymentId])).rows.map(toRefund);
  const deliveries = await db.pool.query<{ type: string; status: string; attempts: number; last_status_code: number | null; created_at: Date; delivered_at: Date | null }>(
    `select e.type, d.status, d.attempts, d.last_status_code, d.created_at, d.delivered_at from webhook_deliveries d join webhook_events e on e.id = d.event_id
     where d.merchant_id = $1 and e.body like $2 order by d.created_at limit 50`, [merchantId, `%${paymentId}%`]);
  const timeline: TimelineEntry[] = [{ at: payment.createdAt, kind: 'created', detail: payment.kind }];
  if (payment.acceptedAt !== null) timeline.push({ at: payment.acceptedAt, kind: 'paid', detail: payment.amountMinor.toString() });
  if (payment.failureCode !== null) timeline.push({ at: payment.createdAt, kind: 'failed', detail: payment.failureCode });
  for (const refund of refunds) timeline.push({ at: refund.completedAt ?? refund.createdAt, kind: refund.status === 'REFUNDED' ? 'refunded' : 'refund_failed', detail: `${refund.amountMinor}${refund.reason === null ? '' : ` — ${refund.reason}`}` });
  if (payment.canceledAt !== null) timeline.push({ at: payment.canceledAt, kind: 'canceled', detail: (payment.cancelAmountMinor ?? 0n).toString() });
  for (const delivery of deliveries.rows) {
    timeline.push({ at: delivery.delivered_at ?? delivery.created_at, kind: `webhook_${delivery.status}`, detail: `${delivery.type} (${delivery.attempts} attempt(s)${delivery.last_status_code === null ? '' : `, HTTP ${delivery.last_status_code}`})` });
  }
  timeline.sort((a, b) => a.at.getTime() - b.at.getTime());
  return { payment, storeName: row.store_name, terminalName: row.terminal_name, refunds, timeline };
}

/** Daily statements, newest first. */
export async function listStatements(db: Database, merchantId: string, limit = 90): Promise<Settlement[]> {
  const dates = await db.pool.query<{ business_date: string }>('select business_date from settlements where merchant_id = $1 order by business_date desc limit $2', [merchantId, Math.min(limit, 366)]);
  const statements: Settlement[] = [];
  for (const { business_date: date } of dates.rows) {
    const statement = await readSettlement(db.pool, merchantId, date);
    if (statement !== null) statements.push(statement);
  }
  return statements;
}

export interface DaySales { readonly date: string; readonly storeId: string | null; readonly storeName: string | null; readonly count: number; readonly grossMinor: bigint; readonly refundedMinor: bigint }

/** Sales by day and store over the last `days` business days (the money page's chart). */
export async function salesByDay(db: Database, merchantId: string, fromDate: string): Promise<DaySales[]> {
  const result = await db.pool.query<{ business_date: string; store_id: string | null; store_name: string | null; n: number; gross: string; refunded: string }>(
    `select p.business_date, p.store_id, s.name as store_name, count(*)::int as n, sum(p.amount_minor)::text as gross,
       sum(p.refunded_minor + coalesce(p.cancel_amount_minor, 0))::text as refunded
     from payments p left join stores s on s.id = p.store_id
     where p.merchant_id = $1 and p.business_date >= $2 group by 1, 2, 3 order by 1, 3`, [merchantId, fromDate]);
  return result.rows.map((row) => ({ date: row.business_date, storeId: row.store_id, storeName: row.store_name, count: row.n, grossMinor: BigInt(row.gross), refundedMinor: BigInt(row.refunded) }));
}
