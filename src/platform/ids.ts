import { createHash, randomUUID } from 'node:crypto';
import { assert } from './assert.ts';

/**
 * UUIDv7 (RFC 9562): 48-bit millisecond timestamp then random bits. Time-ordered ids keep B-tree
 * inserts local, which matters for the transfers table (TigerBeetle recommends the same).
 */
export function uuidv7(nowMs: number = Date.now()): string {
  assert(Number.isSafeInteger(nowMs) && nowMs >= 0 && nowMs < 2 ** 48, 'a UUIDv7 timestamp fits 48 bits');
  // The random part comes from Node's randomUUID (a v4 from the CSPRNG, drawn from a pooled buffer:
  // measured ~10 % of the ledger benchmark's client CPU with one randomBytes call per id). Its
  // version nibble becomes 7; its variant bits are already RFC 9562's. 74 random bits, as in RFC 9562.
  const random = randomUUID();
  const time = nowMs.toString(16).padStart(12, '0');
  return `${time.slice(0, 8)}-${time.slice(8, 12)}-7${random.slice(15)}`;
}

export const UUID_PATTERN = '^[0-9a-fA-F]{8}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{4}-[0-9a-fA-F]{12}$';
const UUID_REGEX = new RegExp(UUID_PATTERN);

export function isUuid(value: string): boolean {
  return UUID_REGEX.test(value);
}

/**
 * A UUIDv8 (RFC 9562, custom) derived from its parts by SHA-256: the same parts always give the same id.
 * Used for ledger transfers that must happen at most once per fact (one compensation per victim per
 * batch, one return per failed payout): a second attempt gets the ledger's `exists`.
 */
export function derivedUuid(namespace: string, ...parts: readonly string[]): string {
  const hex = createHash('sha256').update([namespace, ...parts].join('\n')).digest('hex');
  const variant = ((parseInt(hex[16] ?? '0', 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
