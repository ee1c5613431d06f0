/**
 * A receipt number a person can read out and type: the last eight hex digits of a UUIDv7 (its random
 * tail; the leading digits are the time and would repeat within a day), upper case, in two groups:
 * `839A-7427`. The wallet's receipt, the till's receipt and the console's search use the same one. It is
 * a finding aid, not a key: two receipts may share one (1 in 4 billion), so a search lists every match.
 */
import { isUuid } from './ids.ts';

export function receiptNumber(id: string): string {
  if (!isUuid(id)) throw new Error('a receipt number is made from a UUID');
  const tail = id.replaceAll('-', '').slice(-8).toUpperCase();
  return `${tail.slice(0, 4)}-${tail.slice(4)}`;
}

/** A typed receipt number (any case, with or without the hyphen) as the lower-case hex tail to match, or null. */
export function receiptTail(typed: string): string | null {
  const hex = typed.trim().replace(/^#/, '').replaceAll('-', '').toLowerCase();
  return /^[0-9a-f]{8}$/.test(hex) ? hex : null;
}
