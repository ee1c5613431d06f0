/**
 * The customer's language preference (customers.language, migration 0251): chosen in the wallet, read by
 * every writer of a server text for that customer (security alerts, top-up and payment notices, SMS codes).
 * Never chosen: English, as Koban wrote before there was a choice.
 */
import type { Queryable } from '../platform/db/database.ts';
import { isLanguage, type Language } from '../platform/language.ts';

export const DEFAULT_SERVER_LANGUAGE: Language = 'en';

/** The stored choice, or null when the customer never chose. */
export async function storedLanguage(db: Queryable, customerId: string): Promise<Language | null> {
  const result = await db.query<{ language: string | null }>('select language from customers where id = $1', [customerId]);
  const value = result.rows[0]?.language ?? null;
  return isLanguage(value) ? value : null;
}

/** The language to write this customer's texts in. */
export async function customerLanguage(db: Queryable, customerId: string): Promise<Language> {
  return (await storedLanguage(db, customerId)) ?? DEFAULT_SERVER_LANGUAGE;
}

export async function setCustomerLanguage(db: Queryable, customerId: string, language: Language): Promise<void> {
  await db.query('update customers set language = $2 where id = $1', [customerId, language]);
}
