/**
 * Who money is sent to: a phone number (the recipient's verified phone) or their Koban ID, a short public
 * handle made on first use (8 characters without look-alikes: `K7XQ2M4P`), which the wallet shows as text,
 * in a QR code and in a link (`/wallet/send?to=K7XQ2M4P`).
 */
import { randomInt } from 'node:crypto';
import { customerByContact } from '../../identity/contacts/contacts.ts';
import { normalizePhone } from '../../identity/contacts/normalize.ts';
import { assert } from '../../platform/assert.ts';
import type { Queryable } from '../../platform/db/database.ts';
import { KobanError } from '../../platform/errors.ts';

const HANDLE_ALPHABET = 'ABCDEFGHJKLMNPQRSTUVWXYZ23456789';
const HANDLE_LENGTH = 8;
export const HANDLE_PATTERN = /^[A-HJ-NP-Z2-9]{8}$/;
const HANDLE_ATTEMPTS = 5;

function newHandle(): string {
  let handle = '';
  for (let i = 0; i < HANDLE_LENGTH; i++) handle += HANDLE_ALPHABET[randomInt(HANDLE_ALPHABET.length)];
  return handle;
}

export async function handleOf(db: Queryable, customerId: string): Promise<string> {
  const found = await db.query<{ handle: string }>('select handle from wallet_handles where customer_id = $1', [customerId]);
  const existing = found.rows[0]?.handle;
  if (existing !== undefined) return existing;
  for (let attempt = 0; attempt < HANDLE_ATTEMPTS; attempt++) {
    // A clash with another customer's handle (32^8: rare) tries another; a concurrent first use of the same customer adopts theirs.
    const inserted = await db.query<{ handle: string }>(
      `insert into wallet_handles (customer_id, handle) values ($1, $2) on conflict do nothing returning handle`, [customerId, newHandle()]);
    if (inserted.rows[0] !== undefined) return inserted.rows[0].handle;
    const again = await db.query<{ handle: string }>('select handle from wallet_handles where customer_id = $1', [customerId]);
    if (again.rows[0] !== undefined) return again.rows[0].handle;
  }
  throw new Error('could not allocate a Koban ID');
}

/** The customer a phone number or Koban ID names; `recipient_not_found` otherwise. */
export async function resolveRecipient(db: Queryable, to: string): Promise<{ customerId: string; handle: string }> {
  const text = to.trim();
  const asHandle = text.toUpperCase().replace(/[\s-]/g, '');
  if (HANDLE_PATTERN.test(asHandle)) {
    const found = await db.query<{ customer_id: string }>('select customer_id from wallet_handles where handle = $1', [asHandle]);
    const customerId = found.rows[0]?.customer_id;
    if (customerId === undefined) throw new KobanError('recipient_not_found');
    return { customerId, handle: asHandle };
  }
  let phone: string;
  try {
    phone = normalizePhone(text, '/body/to');
  } catch {
    throw new KobanError('validation_failed', { errors: [{ pointer: '/body/to', message: 'must be a phone number or a Koban ID' }] });
  }
  const customerId = await customerByContact(db, 'phone', phone);
  if (customerId === null) throw new KobanError('recipient_not_found');
  const handle = await handleOf(db, customerId);
  assert(HANDLE_PATTERN.test(handle), 'a stored handle has the handle shape');
  return { customerId, handle };
}
