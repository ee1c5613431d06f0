/**
 * The reconciliation file per merchant and business day (PayPay's daily CSV, in Koban's columns): one
 * line per payment accepted, refund made and cancel done that day; refunds and cancels are negative. Cash
 * top-ups taken at the merchant's tills are negative lines too (the merchant owes that cash; their voids positive),
 * with a `cash_total` line when there were any, so total − fees + cash_total = net.
 * UTF-8 with LF line endings; the totals line matches the settlement row.
 */
import type { Database } from '../../platform/db/database.ts';
import { readSettlement } from './close.ts';

export const RECONCILIATION_ROWS_MAX = 1_000_000;
const HEADER = ['type', 'payment_id', 'merchant_payment_id', 'merchant_refund_id', 'store_id', 'terminal_id', 'at', 'amount', 'fee'];

interface Line { type: string; payment_id: string; merchant_payment_id: string; merchant_refund_id: string | null; store_id: string | null; terminal_id: string | null; at: Date; amount: bigint; fee: bigint }

/** Every value Koban writes is an id, a time or a number, but quote defensively (and defuse spreadsheet formulas). */
function cell(value: string): string {
  const safe = /^[=+\-@\t\r]/.test(value) && !/^-[0-9]+$/.test(value) ? `'${value}` : value;
  return /[",\n]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

export async function reconciliationCsv(db: Database, merchantId: string, date: string): Promise<string> {
  const result = await db.pool.query<Line>(
    `select * from (
       select 'payment' as type, id as payment_id, merchant_payment_id, null::text as merchant_refund_id, store_id::text, terminal_id::text, accepted_at as at, amount_minor as amount, fee_minor as fee
         from payments where merchant_id = $1 and business_date = $2
       union all
       select 'refund', p.id, p.merchant_payment_id, r.merchant_refund_id, p.store_id::text, p.terminal_id::text, r.completed_at, -r.amount_minor, -r.fee_refund_minor
         from refunds r join payments p on p.id = r.payment_id where r.merchant_id = $1 and r.business_date = $2 and r.status = 'REFUNDED'
       union all
       select 'cancel', id, merchant_payment_id, null, store_id::text, terminal_id::text, canceled_at, -cancel_amount_minor, -cancel_fee_minor
         from payments where merchant_id = $1 and cancel_business_date = $2
       union all
       -- Cash the stores took for customer top-ups (issue 19): owed to Koban, so negative; a void gives it back.
       select 'cash_top_up', id, till_top_up_id, null, store_id::text, terminal_id::text, created_at, -amount_minor, 0
         from cash_top_ups where merchant_id = $1 and business_date = $2
       union all
       select 'cash_top_up_void', id, till_top_up_id, null, store_id::text, terminal_id::text, voided_at, amount_minor, 0
         from cash_top_ups where merchant_id = $1 and void_business_date = $2
     ) lines order by at, payment_id limit $3`, [merchantId, date, RECONCILIATION_ROWS_MAX]);
  const lines = [HEADER.join(',')];
  for (const l of result.rows) {
    lines.push([l.type, l.payment_id, l.merchant_payment_id, l.merchant_refund_id ?? '', l.store_id ?? '', l.terminal_id ?? '', l.at.toISOString(), l.amount.toString(), l.fee.toString()].map(cell).join(','));
  }
  const settlement = await readSettlement(db.pool, merchantId, date);
  if (settlement !== null) {
    lines.push(['total', '', '', '', '', '', date, (settlement.grossMinor - settlement.refundsMinor).toString(), settlement.feesMinor.toString()].join(','));
    if (settlement.cashTopUpsMinor !== 0n) lines.push(['cash_total', '', '', '', '', '', date, (-settlement.cashTopUpsMinor).toString(), ''].join(','));
    lines.push(['net', '', '', '', '', '', date, settlement.netMinor.toString(), ''].join(','));
  }
  return `${lines.join('\n')}\n`;
}
