/**
 * The day's sales as CSV for the shop's books (the daily close exported): one line per sale with its
 * time, receipt number, method, status, amount, refunded and cancelled amounts, then the totals. Yen are
 * plain integers (no separators), times in Japan's time, UTF-8 with a BOM so spreadsheet apps read the
 * Japanese right.
 */
import type { Sales } from './till-api.ts';

const HEADER = ['business_date', 'accepted_at_jst', 'receipt_number', 'merchant_payment_id', 'method', 'status', 'amount_yen', 'refunded_yen', 'canceled_yen', 'reasons'];

function cell(value: string): string {
  // Quoted when needed; a leading =, +, - or @ would be read as a formula by a spreadsheet (CSV injection).
  const safe = /^[=+\-@]/.test(value) ? `'${value}` : value;
  return /[",\n\r]/.test(safe) ? `"${safe.replaceAll('"', '""')}"` : safe;
}

function jst(iso: string | null): string {
  if (iso === null) return '';
  return new Date(new Date(iso).getTime() + 9 * 3600_000).toISOString().slice(0, 19).replace('T', ' ');
}

export function dailyCsv(sales: Sales, statusOf: (payment: Sales['payments'][number]) => string): string {
  const rows = [HEADER];
  for (const payment of sales.payments) {
    rows.push([sales.businessDate, jst(payment.acceptedAt), payment.receiptNumber, payment.merchantPaymentId, payment.kind, statusOf(payment),
      payment.amount, payment.refunded, payment.canceledAmount, payment.reasons.map((r) => `${r.kind}: ${r.reason}`).join(' / ')]);
  }
  const totals = sales.close?.totals ?? sales.totals;
  rows.push([]);
  rows.push(['totals', 'sales_count', 'gross_yen', 'cancels_count', 'cancels_yen', 'refunds_count', 'refunds_yen', 'net_yen', 'closed_at_jst']);
  rows.push([sales.businessDate, String(totals.paymentsCount), totals.gross, String(totals.cancelsCount), totals.cancels, String(totals.refundsCount), totals.refunds, totals.net, jst(sales.close?.closedAt ?? null)]);
  return `\uFEFF${rows.map((row) => row.map(cell).join(',')).join('\r\n')}\r\n`;
}

/** Offers the CSV as a file download named after the day. */
export function downloadCsv(csv: string, fileName: string): void {
  const url = URL.createObjectURL(new Blob([csv], { type: 'text/csv;charset=utf-8' }));
  const link = document.createElement('a');
  link.href = url;
  link.download = fileName;
  document.body.append(link);
  link.click();
  link.remove();
  window.setTimeout(() => URL.revokeObjectURL(url), 10_000);
}
