/**
 * `GET /receipts/:paymentId/:tag`: the public receipt page the till's receipt QR opens (receipts.ts).
 * Plain HTML, Japanese with English beside it, no script, no third-party anything; not cached, not
 * indexed, no Referer. A wrong tag and an unknown payment are the same 404.
 */
import { Type } from 'typebox';
import type { App } from '../http/app.ts';
import { yenIn, timeIn } from '../platform/language.ts';
import type { Payments } from './service.ts';
import { publicReceipt, type PublicReceipt } from './receipts.ts';

const Params = Type.Object({ paymentId: Type.String({ maxLength: 64 }), tag: Type.String({ maxLength: 64 }) });

export function registerPublicReceiptRoute(app: App, payments: Payments): void {
  app.get('/receipts/:paymentId/:tag', { schema: { hide: true, params: Params } }, async (request, reply) => {
    const receipt = await publicReceipt(payments.deps.db.pool, payments.deps.pepper, request.params.paymentId, request.params.tag);
    reply.type('text/html; charset=utf-8')
      .header('content-security-policy', "default-src 'none'; style-src 'unsafe-inline'; frame-ancestors 'none'; base-uri 'none'; form-action 'none'")
      .header('referrer-policy', 'no-referrer').header('cache-control', 'no-store').header('x-robots-tag', 'noindex, nofollow');
    if (receipt === null) return reply.code(404).send(page('レシートが見つかりません / Receipt not found', '<p>このリンクのレシートはありません。<br>There is no receipt at this link.</p>'));
    return page(`レシート ${receipt.receiptNumber}`, receiptBody(receipt));
  });
}

function escapeHtml(text: string): string {
  return text.replace(/[&<>"']/g, (c) => ({ '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&#39;' })[c] ?? c);
}

/** 一部返金 when money was given back but the payment stands; otherwise the payment's own status. */
function statusText(receipt: PublicReceipt): string {
  if (receipt.status === 'COMPLETED' && receipt.refundedMinor > 0n) return '一部返金 / Partly refunded';
  const names: Readonly<Record<string, string>> = { COMPLETED: 'お支払い済み / Paid', REFUNDED: '返金済み / Refunded', CANCELED: '取消済み / Cancelled' };
  return names[receipt.status] ?? receipt.status;
}

function receiptBody(receipt: PublicReceipt): string {
  const given = receipt.refundedMinor + (receipt.cancelAmountMinor ?? 0n);
  const rows: Array<[string, string]> = [
    ['お店 / Store', receipt.place],
    ['金額 / Amount', `${yenIn('ja', receipt.amountMinor)}`],
    ['日時 / Time', receipt.acceptedAt === null ? '—' : `${timeIn('ja', receipt.acceptedAt)} (${timeIn('en', receipt.acceptedAt)})`],
    ['レシート番号 / Receipt no.', receipt.receiptNumber],
    ['状態 / Status', statusText(receipt)],
  ];
  if (given > 0n) rows.push(['返金・取消 / Given back', yenIn('ja', given)], ['差引 / Net', yenIn('ja', receipt.amountMinor - given)]);
  const list = rows.map(([label, value]) => `<dt>${escapeHtml(label)}</dt><dd>${escapeHtml(value)}</dd>`).join('');
  return `<dl>${list}</dl><p class="note">Koban でのお支払いのレシートです。お客様の情報は表示していません。<br>A receipt for a payment with Koban. It shows nothing about who paid.</p>`;
}

function page(title: string, body: string): string {
  return `<!doctype html><html lang="ja"><head><meta charset="utf-8"><meta name="viewport" content="width=device-width, initial-scale=1"><title>${escapeHtml(title)}</title>
<style>body{font-family:system-ui,"Noto Sans CJK JP",sans-serif;margin:0;background:#faf7f0;color:#1d1b16}main{max-width:28rem;margin:1.5rem auto;padding:1.25rem;background:#fff;border:1px solid #e4ddcc;border-radius:14px}h1{font-size:1.2rem;margin:0 0 1rem}dl{display:grid;grid-template-columns:auto 1fr;gap:.5rem 1rem;margin:0}dt{color:#5b574d}dd{margin:0;font-weight:600;text-align:right}.note{color:#5b574d;font-size:.85rem;margin-top:1.25rem}</style></head>
<body><main><h1>小判 Koban — ${escapeHtml(title)}</h1>${body}</main></body></html>`;
}
