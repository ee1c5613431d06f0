/**
 * One search box for the console: what the operator typed decides where to look, and every look is an
 * index lookup (never a scan of payments or transfers).
 *
 * - an e-mail address or a Japanese phone number → the customer with that verified contact (exact);
 * - a UUID → a customer, merchant, payment, top-up or ledger transfer with that id (a transfer is
 *   also traced to the payment or top-up that made it);
 * - a receipt number (`839A-7427`, platform/receipt-number.ts) → the payment, refund or top-up it numbers;
 * - an amount with a yen sign (`¥1,200`, `1200円`), optionally with a day or a range of days in Japan's
 *   time (`¥1,200 2026-12-01..2026-12-03`; without one, the last 30 days) → payments of that amount;
 * - 4 to 12 digits (hyphens, spaces, a leading + ignored) → customers whose phone number contains them
 *   (the last digits, a middle fragment, `090-1234`, `+81 90 1234`), and (four digits) whose card ends with them;
 * - anything else → customers whose e-mail starts with it (3 characters at least), merchants whose name
 *   contains it, and payments with that merchant payment id.
 *
 * Contacts in results go through the reader's masker (masking.ts).
 */
import { normalizeIdentifier } from '../../identity/contacts/normalize.ts';
import type { Database } from '../../platform/db/database.ts';
import { isUuid } from '../../platform/ids.ts';
import { receiptTail } from '../../platform/receipt-number.ts';
import type { Masker } from './masking.ts';

export const SEARCH_RESULTS_MAX = 20;
export const SEARCH_QUERY_MAX = 200;

export type SearchHitKind = 'customer' | 'merchant' | 'payment' | 'top_up' | 'transfer';

export interface SearchHit {
  readonly kind: SearchHitKind;
  readonly id: string;
  /** What to show as the result's first line (a masked contact, a merchant name, an amount). */
  readonly title: string;
  readonly detail: string;
  /** The console page the result opens: a customer or a merchant. */
  readonly customerId: string | null;
  readonly merchantId: string | null;
}

export async function search(db: Database, rawQuery: string, masker: Masker): Promise<SearchHit[]> {
  const query = rawQuery.normalize('NFKC').trim().slice(0, SEARCH_QUERY_MAX);
  if (query.length === 0) return [];
  if (isUuid(query)) return byId(db, query.toLowerCase(), masker);
  const amount = amountQuery(query);
  if (amount !== null) return byAmount(db, amount);
  const tail = /^[0-9a-fA-F]{4}-[0-9a-fA-F]{4}$/.test(query) || /^(?=.*[a-fA-F])[0-9a-fA-F]{8}$/.test(query) ? receiptTail(query) : null;
  if (tail !== null) return byReceipt(db, tail);
  const digits = phoneDigits(query);
  const contact = /^[0-9]{4,9}$/.test(digits) ? null : normalizeIdentifier(query);
  if (contact !== null) return byContact(db, contact.kind, contact.value, masker);
  if (/^[0-9]{4,12}$/.test(digits)) {
    const receipt = digits.length === 8 ? await byReceipt(db, digits) : [];
    return [...receipt, ...(await byDigits(db, digits, masker))].slice(0, SEARCH_RESULTS_MAX);
  }
  const emails = query.length >= 3 ? await byEmailPrefix(db, query.toLowerCase(), masker) : [];
  return [...emails, ...(await byText(db, query))].slice(0, SEARCH_RESULTS_MAX);
}

const SEARCH_DAYS_DEFAULT = 30;
const SEARCH_DAYS_MAX = 366;
const DAY_MS = 24 * 3600_000;

interface AmountQuery { amountMinor: bigint; from: Date; until: Date }

/** `¥1,200`, `1200円`, `¥1200 2026-12-01`, `¥1200 2026-12-01..2026-12-03`; null when it is not an amount. */
export function amountQuery(query: string, now = new Date()): AmountQuery | null {
  const match = /^(?:[¥￥]\s*([0-9][0-9,]*)|([0-9][0-9,]*)\s*円)(?:\s+([0-9]{4}-[0-9]{2}-[0-9]{2})(?:\s*\.\.\s*([0-9]{4}-[0-9]{2}-[0-9]{2}))?)?$/.exec(query);
  if (match === null) return null;
  const digits = (match[1] ?? match[2] ?? '').replaceAll(',', '');
  if (!/^[1-9][0-9]{0,11}$/.test(digits)) return null;
  const day = (text: string | undefined) => (text === undefined ? null : new Date(`${text}T00:00:00+09:00`));
  const first = day(match[3]);
  const last = day(match[4]) ?? first;
  if ((first !== null && Number.isNaN(first.getTime())) || (last !== null && Number.isNaN(last.getTime()))) return null;
  const until = last === null ? now : new Date(last.getTime() + DAY_MS);
  const from = first ?? new Date(until.getTime() - SEARCH_DAYS_DEFAULT * DAY_MS);
  if (from >= until || until.getTime() - from.getTime() > SEARCH_DAYS_MAX * DAY_MS) return null;
  return { amountMinor: BigInt(digits), from, until };
}

async function byAmount(db: Database, query: AmountQuery): Promise<SearchHit[]> {
  const result = await db.pool.query<{ id: string; title: string; detail: string; customer_id: string | null; merchant_id: string }>(
    `select p.id::text, p.amount_minor::text as title, p.status || ' · ' || m.name || ' · ' || to_char(p.created_at at time zone 'Asia/Tokyo', 'YYYY-MM-DD HH24:MI') || ' JST' as detail,
            p.customer_id::text, p.merchant_id::text
       from payments p join merchants m on m.id = p.merchant_id
      where p.amount_minor = $1 and p.created_at >= $2 and p.created_at < $3 order by p.created_at desc limit ${SEARCH_RESULTS_MAX}`,
    [query.amountMinor.toString(), query.from, query.until]);
  return result.rows.map((row) => ({ kind: 'payment', id: row.id, title: row.title, detail: row.detail, customerId: row.customer_id, merchantId: row.merchant_id }));
}

async function byReceipt(db: Database, tail: string): Promise<SearchHit[]> {
  const result = await db.pool.query<{ kind: SearchHitKind; id: string; title: string; detail: string; customer_id: string | null; merchant_id: string | null }>(
    `select 'payment' as kind, p.id::text as id, p.amount_minor::text as title, p.status || ' · ' || m.name as detail, p.customer_id::text as customer_id, p.merchant_id::text as merchant_id
       from payments p join merchants m on m.id = p.merchant_id where right(p.id::text, 8) = $1
     union all
     select 'payment', p.id::text, r.amount_minor::text, 'refund ' || r.status || ' · ' || m.name, p.customer_id::text, p.merchant_id::text
       from refunds r join payments p on p.id = r.payment_id join merchants m on m.id = p.merchant_id where right(r.id::text, 8) = $1
     union all
     select 'top_up', t.id::text, t.amount_minor::text, t.status || ' · ' || t.kind, t.customer_id::text, null
       from top_ups t where right(t.id::text, 8) = $1
     limit ${SEARCH_RESULTS_MAX}`, [tail]);
  return result.rows.map((row) => ({ kind: row.kind, id: row.id, title: row.title, detail: row.detail, customerId: row.customer_id, merchantId: row.merchant_id }));
}

function escapeLike(text: string): string {
  return text.replace(/[\\%_]/g, (c) => `\\${c}`);
}

async function byEmailPrefix(db: Database, prefix: string, masker: Masker): Promise<SearchHit[]> {
  const rows = await db.pool.query<{ customer_id: string; value: string; status: string }>(
    `select c.customer_id, c.value, cu.status from customer_contacts c join customers cu on cu.id = c.customer_id
      where c.kind = 'email' and c.value like $1 order by c.value limit ${SEARCH_RESULTS_MAX}`, [`${escapeLike(prefix)}%`]);
  return rows.rows.map((row) => ({ kind: 'customer', id: row.customer_id, title: masker.contact('email', row.value), detail: row.status, customerId: row.customer_id, merchantId: null }));
}

/** What the operator typed, as digits: spaces, hyphens, brackets and a leading + dropped (`+81 90-1234` → `81901234`). */
export function phoneDigits(query: string): string {
  return query.replace(/[\s()\-‐－ー]/g, '').replace(/^\+/, '');
}

/**
 * Customers whose phone number contains these digits anywhere (the last digits first), and (four digits)
 * whose card ends with them. The fragment is a prefix of one of the number's stored suffixes (migration
 * 0381, `customer_phone_fragments`): one index range, never a scan of the contacts.
 */
async function byDigits(db: Database, digits: string, masker: Masker): Promise<SearchHit[]> {
  const rows = await db.pool.query<{ customer_id: string; kind: 'phone' | 'card'; value: string; status: string }>(
    `(select c.customer_id, 'phone' as kind, c.value, cu.status
        from (select contact_id, min(length(fragment)) as nearest_end from customer_phone_fragments where fragment like $1
               group by contact_id order by nearest_end, contact_id limit ${SEARCH_RESULTS_MAX}) f
        join customer_contacts c on c.id = f.contact_id join customers cu on cu.id = c.customer_id
       order by f.nearest_end, c.customer_id)
     union all
     (select distinct f.customer_id, 'card', coalesce(f.card_brand, 'card') || ' ••••' || f.card_last4, cu.status
        from funding_sources f join customers cu on cu.id = f.customer_id where $2::text is not null and f.card_last4 = $2 limit ${SEARCH_RESULTS_MAX})`,
    [`${escapeLike(digits)}%`, digits.length === 4 ? digits : null]);
  return rows.rows.map((row) => ({
    kind: 'customer', id: row.customer_id, title: row.kind === 'phone' ? masker.contact('phone', row.value) : row.value,
    detail: row.status, customerId: row.customer_id, merchantId: null,
  }));
}

async function byContact(db: Database, kind: 'email' | 'phone', value: string, masker: Masker): Promise<SearchHit[]> {
  const rows = await db.pool.query<{ customer_id: string; status: string }>(
    `select c.customer_id, cu.status from customer_contacts c join customers cu on cu.id = c.customer_id where c.kind = $1 and c.value = $2`, [kind, value]);
  return rows.rows.map((row) => ({ kind: 'customer', id: row.customer_id, title: masker.contact(kind, value), detail: row.status, customerId: row.customer_id, merchantId: null }));
}

async function byId(db: Database, id: string, masker: Masker): Promise<SearchHit[]> {
  const result = await db.pool.query<{ kind: SearchHitKind; id: string; title: string; detail: string; customer_id: string | null; merchant_id: string | null; email: string | null }>(
    `select 'customer' as kind, c.id::text as id, '' as title, c.status as detail, c.id::text as customer_id, null as merchant_id,
            (select value from customer_contacts where customer_id = c.id and kind = 'email') as email
       from customers c where c.id = $1
     union all
     select 'merchant', m.id::text, m.name, m.status, null, m.id::text, null from merchants m where m.id = $1
     union all
     select 'payment', p.id::text, p.amount_minor::text, p.status || ' · ' || m.name, p.customer_id::text, p.merchant_id::text, null
       from payments p join merchants m on m.id = p.merchant_id
      where p.id = $1 or p.payment_transfer_id = $1 or p.fee_transfer_id = $1 or p.cancel_transfer_id = $1
     union all
     select 'top_up', t.id::text, t.amount_minor::text, t.status || ' · ' || t.kind, t.customer_id::text, null, null
       from top_ups t where t.id = $1 or t.ledger_transfer_id = $1
     union all
     select 'transfer', t.id::text, t.amount::text, 'code ' || t.code || ' · ' || coalesce(t.reference, ''),
            (select customer_id::text from customer_wallets w where w.account_id in (t.debit_account_id, t.credit_account_id) limit 1),
            (select id::text from merchants m where m.receivable_account_id in (t.debit_account_id, t.credit_account_id) limit 1), null
       from transfers t where t.id = $1
     limit ${SEARCH_RESULTS_MAX}`, [id]);
  return result.rows.map((row) => ({
    kind: row.kind, id: row.id,
    title: row.kind === 'customer' ? (row.email === null ? row.id : masker.contact('email', row.email)) : row.title,
    detail: row.detail, customerId: row.customer_id, merchantId: row.merchant_id,
  }));
}

async function byText(db: Database, text: string): Promise<SearchHit[]> {
  const pattern = `%${text.replace(/[\\%_]/g, (c) => `\\${c}`)}%`;
  const result = await db.pool.query<{ kind: SearchHitKind; id: string; title: string; detail: string; customer_id: string | null; merchant_id: string | null }>(
    `(select 'merchant' as kind, m.id::text as id, m.name as title, m.status as detail, null as customer_id, m.id::text as merchant_id
        from merchants m where m.name ilike $1 order by m.name limit ${SEARCH_RESULTS_MAX})
     union all
     (select 'payment', p.id::text, p.amount_minor::text, p.status || ' · ' || m.name || ' · ' || p.merchant_payment_id, p.customer_id::text, p.merchant_id::text
        from payments p join merchants m on m.id = p.merchant_id where p.merchant_payment_id = $2 limit ${SEARCH_RESULTS_MAX})`,
    [pattern, text]);
  return result.rows.slice(0, SEARCH_RESULTS_MAX).map((row) => ({ kind: row.kind, id: row.id, title: row.title, detail: row.detail, customerId: row.customer_id, merchantId: row.merchant_id }));
}
