/**
 * A terminal's business day (JST): what it took, cancelled and refunded, and its daily close (Z-report).
 *
 * Attribution: a payment belongs to the terminal that took it (payments.terminal_id); its cancel and its
 * refunds count on that terminal's report for the day they were made (the till only reverses its own
 * payments, so this is also the terminal that made them). Totals are computed by the database from the
 * same rows settlement reads, never from what the tablet says.
 */
import type pg from 'pg';
import type { Queryable } from '../../platform/db/database.ts';
import { withTransaction, type Database } from '../../platform/db/database.ts';
import { requireNothingInFlight } from './day-guard.ts';
import { assert } from '../../platform/assert.ts';
import { paymentColumnsOf, REFUND_COLUMNS, toPayment, toRefund, type Payment, type PaymentRow, type Refund, type RefundRow } from '../model.ts';

/** How many of the day's payments the sales screen lists (a till takes far fewer in a day). */
export const SALES_LIST_MAX = 500;

export interface DayTotals {
  readonly paymentsCount: number;
  readonly grossMinor: bigint;
  readonly cancelsCount: number;
  readonly cancelsMinor: bigint;
  readonly refundsCount: number;
  readonly refundsMinor: bigint;
  readonly netMinor: bigint;
}

export interface DayClose extends DayTotals {
  readonly terminalId: string;
  readonly businessDate: string;
  readonly closedAt: Date;
}

export interface SaleLine {
  readonly payment: Payment;
  readonly refunds: readonly Refund[];
  /** What staff gave as the reason for each cancel or refund of this payment (newest last). */
  readonly reasons: ReadonlyArray<{ kind: 'cancel' | 'refund'; refundId: string | null; reason: string; at: Date }>;
  /** The last four digits of the customer code it was paid with (null: a QR payment, or a code minted before migration 0382). */
  readonly codeTail: string | null;
}

interface TotalsRow { payments_count: number; gross_minor: bigint; cancels_count: number; cancels_minor: bigint; refunds_count: number; refunds_minor: bigint }

export async function dayTotals(db: Queryable, terminalId: string, businessDate: string): Promise<DayTotals> {
  const result = await db.query<TotalsRow>(
    `select
       (select count(*)::int from payments where terminal_id = $1 and business_date = $2) as payments_count,
       (select coalesce(sum(amount_minor), 0)::bigint from payments where terminal_id = $1 and business_date = $2) as gross_minor,
       (select count(*)::int from payments where terminal_id = $1 and cancel_business_date = $2) as cancels_count,
       (select coalesce(sum(cancel_amount_minor), 0)::bigint from payments where terminal_id = $1 and cancel_business_date = $2) as cancels_minor,
       (select count(*)::int from refunds r join payments p on p.id = r.payment_id where p.terminal_id = $1 and r.business_date = $2 and r.status = 'REFUNDED') as refunds_count,
       (select coalesce(sum(r.amount_minor), 0)::bigint from refunds r join payments p on p.id = r.payment_id where p.terminal_id = $1 and r.business_date = $2 and r.status = 'REFUNDED') as refunds_minor`,
    [terminalId, businessDate]);
  const row = result.rows[0];
  assert(row !== undefined, 'totals answer one row');
  const grossMinor = BigInt(row.gross_minor);
  const cancelsMinor = BigInt(row.cancels_minor);
  const refundsMinor = BigInt(row.refunds_minor);
  return {
    paymentsCount: row.payments_count, grossMinor, cancelsCount: row.cancels_count, cancelsMinor,
    refundsCount: row.refunds_count, refundsMinor, netMinor: grossMinor - cancelsMinor - refundsMinor,
  };
}

/** The day's payments of this terminal (accepted, or cancelled that day), newest first, with refunds and reasons. */
export async function daySales(db: Queryable, terminalId: string, businessDate: string): Promise<SaleLine[]> {
  const payments = await db.query<PaymentRow>(
    `select ${paymentColumnsOf('p')} from payments p
     where p.terminal_id = $1 and (p.business_date = $2 or p.cancel_business_date = $2)
     order by p.accepted_at desc nulls last, p.id desc limit $3`, [terminalId, businessDate, SALES_LIST_MAX]);
  const ids = payments.rows.map((row) => row.id);
  if (ids.length === 0) return [];
  const refunds = await db.query<RefundRow>(`select ${REFUND_COLUMNS} from refunds where payment_id = any($1::uuid[]) order by created_at, id`, [ids]);
  const reasons = await db.query<{ payment_id: string; kind: 'cancel' | 'refund'; refund_id: string | null; reason: string; created_at: Date }>(
    'select payment_id, kind, refund_id, reason, created_at from terminal_reversals where payment_id = any($1::uuid[]) order by created_at, id', [ids]);
  const tails = await db.query<{ payment_id: string; code_tail: string }>(
    'select payment_id, code_tail from payment_codes where payment_id = any($1::uuid[]) and code_tail is not null', [ids]);
  return payments.rows.map((row) => ({
    codeTail: tails.rows.find((t) => t.payment_id === row.id)?.code_tail ?? null,
    payment: toPayment(row),
    refunds: refunds.rows.filter((r) => r.payment_id === row.id).map(toRefund),
    reasons: reasons.rows.filter((r) => r.payment_id === row.id).map((r) => ({ kind: r.kind, refundId: r.refund_id, reason: r.reason, at: r.created_at })),
  }));
}

interface CloseRow { terminal_id: string; business_date: string; payments_count: number; gross_minor: bigint; cancels_count: number; cancels_minor: bigint; refunds_count: number; refunds_minor: bigint; net_minor: bigint; closed_at: Date }

function toClose(row: CloseRow): DayClose {
  return {
    terminalId: row.terminal_id, businessDate: row.business_date, paymentsCount: row.payments_count, grossMinor: BigInt(row.gross_minor),
    cancelsCount: row.cancels_count, cancelsMinor: BigInt(row.cancels_minor), refundsCount: row.refunds_count, refundsMinor: BigInt(row.refunds_minor),
    netMinor: BigInt(row.net_minor), closedAt: row.closed_at,
  };
}

export async function readDayClose(db: Queryable, terminalId: string, businessDate: string): Promise<DayClose | null> {
  const result = await db.query<CloseRow>('select * from terminal_day_closes where terminal_id = $1 and business_date = $2', [terminalId, businessDate]);
  return result.rows[0] === undefined ? null : toClose(result.rows[0]);
}

/**
 * Records the Z-report once. The terminal's row lock serialises two closes; the second (or a retry
 * after a timeout) answers the report recorded first, whatever happened since. The same lock keeps the
 * till's own actions out while it records (day-guard.ts).
 */
export async function closeDay(db: Database, terminalId: string, sessionId: string, businessDate: string, at: Date): Promise<DayClose> {
  return withTransaction(db, async (client: pg.PoolClient) => {
    await client.query('select 1 from terminals where id = $1 for update', [terminalId]);
    const earlier = await readDayClose(client, terminalId, businessDate);
    if (earlier !== null) return earlier;
    await requireNothingInFlight(client, terminalId, at);
    const totals = await dayTotals(client, terminalId, businessDate);
    const inserted = await client.query<CloseRow>(
      `insert into terminal_day_closes (terminal_id, business_date, payments_count, gross_minor, cancels_count, cancels_minor, refunds_count, refunds_minor, net_minor, closed_at, session_id)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11) returning *`,
      [terminalId, businessDate, totals.paymentsCount, totals.grossMinor, totals.cancelsCount, totals.cancelsMinor, totals.refundsCount, totals.refundsMinor, totals.netMinor, at, sessionId]);
    return toClose(inserted.rows[0] as CloseRow);
  });
}
