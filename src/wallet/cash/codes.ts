/**
 * Top-up codes for cash at the register (issue 19): what the wallet's 「現金でチャージ」 screen shows and a till's
 * 「現金チャージ」 scans. A distinct kind from the payment code (`payments/codes.ts`, 20 digits starting `9`): 22
 * digits starting `81`, so a till can never take one for the other — each side refuses the other's shape before
 * any lookup. Random digits (64 bits), single use, short-lived, bound to the customer, stored as an HMAC only.
 * A new code revokes the customer's older live ones (the screen refreshed).
 */
import { createHmac, randomBytes } from 'node:crypto';
import { withTransaction, type Database, type Queryable } from '../../platform/db/database.ts';
import { KobanError } from '../../platform/errors.ts';
import { uuidv7 } from '../../platform/ids.ts';

export const TOP_UP_CODE_PREFIX = '81';
export const TOP_UP_CODE_RANDOM_DIGITS = 20;
const TOP_UP_CODE_PATTERN = new RegExp(`^${TOP_UP_CODE_PREFIX}[0-9]{${TOP_UP_CODE_RANDOM_DIGITS}}$`);
/** The payment code's shape (payments/codes.ts): recognised only to tell the clerk which screen it belongs to. */
const PAYMENT_CODE_SHAPE = /^9[0-9]{19}$/;
const RANDOM_SPACE = 10n ** BigInt(TOP_UP_CODE_RANDOM_DIGITS);
const DRAWS_MAX = 64;
/** Short: the customer shows it at the counter they are standing at. */
export const TOP_UP_CODE_TTL_MS = 3 * 60_000;

export interface TopUpCodeRow {
  id: string;
  customer_id: string;
  status: 'live' | 'used' | 'revoked';
  expires_at: Date;
}

export function isTopUpCodeShape(code: string): boolean {
  return TOP_UP_CODE_PATTERN.test(code);
}

export function generateTopUpCode(): string {
  for (let draw = 0; draw < DRAWS_MAX; draw++) {
    // 72 bits, accepted below the largest multiple of 10^20 (rejection sampling keeps the digits uniform).
    const value = BigInt(`0x${randomBytes(9).toString('hex')}`);
    const acceptBelow = ((1n << 72n) / RANDOM_SPACE) * RANDOM_SPACE;
    if (value < acceptBelow) return TOP_UP_CODE_PREFIX + (value % RANDOM_SPACE).toString().padStart(TOP_UP_CODE_RANDOM_DIGITS, '0');
  }
  throw new Error('random source failed to produce a top-up code');
}

export function hashTopUpCode(pepper: Buffer, code: string): Buffer {
  return createHmac('sha256', pepper).update(code, 'utf8').digest();
}

export async function mintTopUpCode(db: Database, pepper: Buffer, customerId: string, now: Date): Promise<{ code: string; expiresAt: Date }> {
  const code = generateTopUpCode();
  const expiresAt = new Date(now.getTime() + TOP_UP_CODE_TTL_MS);
  await withTransaction(db, async (client) => {
    await client.query(`update cash_top_up_codes set status = 'revoked' where customer_id = $1 and status = 'live'`, [customerId]);
    await client.query(`insert into cash_top_up_codes (id, code_hash, customer_id, status, expires_at, created_at) values ($1, $2, $3, 'live', $4, $5)`,
      [uuidv7(now.getTime()), hashTopUpCode(pepper, code), customerId, expiresAt, now]);
  });
  return { code, expiresAt };
}

/** The live code's row, or the precise refusal: wrong kind, unknown, expired, used. */
export async function readLiveTopUpCode(db: Queryable, pepper: Buffer, code: string, now: Date, forUpdate = false): Promise<TopUpCodeRow> {
  if (PAYMENT_CODE_SHAPE.test(code)) throw new KobanError('not_a_top_up_code');
  if (!isTopUpCodeShape(code)) throw new KobanError('top_up_code_not_found');
  const result = await db.query<TopUpCodeRow>(`select id, customer_id, status, expires_at from cash_top_up_codes where code_hash = $1${forUpdate ? ' for update' : ''}`, [hashTopUpCode(pepper, code)]);
  const row = result.rows[0];
  if (row === undefined) throw new KobanError('top_up_code_not_found');
  if (row.status === 'used') throw new KobanError('top_up_code_used');
  if (row.status === 'revoked') throw new KobanError('top_up_code_expired', { detail: 'a newer code was shown; scan the one on the screen now' });
  if (row.expires_at.getTime() <= now.getTime()) throw new KobanError('top_up_code_expired');
  return row;
}

export async function markTopUpCodeUsed(client: Queryable, codeId: string, now: Date): Promise<void> {
  const claimed = await client.query(`update cash_top_up_codes set status = 'used', used_at = $2 where id = $1 and status = 'live'`, [codeId, now]);
  if (claimed.rowCount !== 1) throw new KobanError('top_up_code_used');
}
