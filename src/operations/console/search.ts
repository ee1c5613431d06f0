/**
 * One search box for the console: what the operator typed decides where to look, and every look is an
 * index lookup (never a scan of payments or transfers).
 *
 * - an e-mail address or a Japanese phone number → the customer with that verified contact (exact);
 * - a UUID → a customer, merchant, payment, top-up or ledger transfer with that id (a transfer is
 *   also traced to the payment or top-up that made it);
 * - anything else → merchants whose name contains it, and payments with that merchant payment id.
 *
 * Contacts in results go through the reader's masker (masking.ts).
 */
import { normalizeIdentifier } from '../../identity/contacts/normalize.ts';
import type { Database } from '../../platform/db/database.ts';
import { isUuid } from '../../platform/ids.ts';
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
  const contact = normalizeIdentifier(query);
  if (contact !== null) return byContact(db, contact.kind, contact.value, masker);
  return byText(db, query);
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
