/**
 * The ledger transfer id of a top-up's credit, derived from the top-up id: every path that confirms the
 * top-up (inline answer, 3-D Secure return, webhook, reconciler) submits the same id, and the ledger's
 * idempotency by id credits the wallet once however many of them run.
 */
import { createHash } from 'node:crypto';
import { assert } from '../platform/assert.ts';
import { isUuid } from '../platform/ids.ts';

export function topUpTransferId(topUpId: string): string {
  assert(isUuid(topUpId), 'top-up ids are UUIDs');
  const bytes = createHash('sha256').update(`koban:top-up-credit:${topUpId.toLowerCase()}`).digest().subarray(0, 16);
  // RFC 9562 version 8 (custom) with the RFC variant bits, so it is a valid UUID and never a v7 collision.
  bytes[6] = ((bytes[6] ?? 0) & 0x0f) | 0x80;
  bytes[8] = ((bytes[8] ?? 0) & 0x3f) | 0x80;
  const hex = bytes.toString('hex');
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-${hex.slice(12, 16)}-${hex.slice(16, 20)}-${hex.slice(20)}`;
}
