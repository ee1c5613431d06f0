/**
 * Who a batch of customer notices goes to, in one statement (the customer-notice relay's batch): each
 * customer's language and verified e-mail addresses. A customer without a customers row is absent.
 */
import type { Queryable } from '../platform/db/database.ts';
import { isLanguage, type Language } from '../platform/language.ts';
import { DEFAULT_SERVER_LANGUAGE } from './language.ts';

export interface NoticeRecipient { readonly language: Language; readonly emails: readonly string[] }

export async function noticeRecipients(db: Queryable, customerIds: readonly string[]): Promise<Map<string, NoticeRecipient>> {
  const result = await db.query<{ id: string; language: string | null; emails: string[] }>(
    `select c.id, c.language, coalesce(array_agg(cc.value order by cc.value) filter (where cc.kind = 'email'), '{}') as emails
     from customers c left join customer_contacts cc on cc.customer_id = c.id
     where c.id = any($1::uuid[]) group by c.id, c.language`, [[...new Set(customerIds)]]);
  return new Map(result.rows.map((row) => [row.id, { language: isLanguage(row.language) ? row.language : DEFAULT_SERVER_LANGUAGE, emails: row.emails }]));
}
