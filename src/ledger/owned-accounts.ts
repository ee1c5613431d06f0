/**
 * The ledger account that an owner (a customer, a merchant) holds for one purpose has an id derived
 * from the owner and the account code, not drawn at random. So creating it is idempotent end to end:
 * two first requests at once create one account (the second insert is `on conflict do nothing` on the
 * same id), and a crash between creating the account and recording the owner's mapping leaves an
 * account the next attempt adopts, never an orphan beside a second one.
 */
import { assert } from '../platform/assert.ts';
import { derivedUuid, isUuid } from '../platform/ids.ts';

export function ownedAccountId(code: number, ownerId: string): string {
  assert(isUuid(ownerId), 'an owned account belongs to an owner with a UUID');
  assert(Number.isSafeInteger(code) && code > 0, 'an owned account has an account code');
  return derivedUuid('koban-owned-account', String(code), ownerId.toLowerCase());
}
