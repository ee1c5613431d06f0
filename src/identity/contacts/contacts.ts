/** Verified contact points on file. Only these ever receive codes, links or alerts (REC-01). */
import type { Queryable } from '../../platform/db/database.ts';
import type { ContactKind } from './normalize.ts';

export interface Contact {
  readonly kind: ContactKind;
  readonly value: string;
}

export async function customerByContact(db: Queryable, kind: ContactKind, value: string): Promise<string | null> {
  const result = await db.query<{ customer_id: string }>(
    `select c.customer_id from customer_contacts c join customers k on k.id = c.customer_id
     where c.kind = $1 and c.value = $2 and k.status = 'active'`,
    [kind, value],
  );
  return result.rows[0]?.customer_id ?? null;
}

export async function verifiedContacts(db: Queryable, customerId: string): Promise<Contact[]> {
  const result = await db.query<{ kind: ContactKind; value: string }>(
    'select kind, value from customer_contacts where customer_id = $1 order by kind',
    [customerId],
  );
  return result.rows.map((row) => ({ kind: row.kind, value: row.value }));
}

export async function verifiedPhone(db: Queryable, customerId: string): Promise<string | null> {
  return (await verifiedContacts(db, customerId)).find((contact) => contact.kind === 'phone')?.value ?? null;
}

/**
 * Outside production only (`koban drill`'s established customers, src/wiring-drill.ts): the account's verified
 * contacts as if verified `ageMs` earlier, as a customer of years has them. A held payment's e-mailed code goes
 * only to an address the account has had for a day (payment-email-code.ts).
 */
export async function backdateContacts(db: Queryable, customerId: string, ageMs: number): Promise<number> {
  const result = await db.query('update customer_contacts set verified_at = verified_at - make_interval(secs => $2::double precision / 1000) where customer_id = $1',
    [customerId, ageMs]);
  return result.rowCount ?? 0;
}
