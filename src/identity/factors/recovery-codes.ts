/**
 * Recovery codes (REC-05): 10 codes of 80 random bits, shown once, stored as HMACs, single use.
 * Generating a new set invalidates the old one.
 */
import { randomBytes } from 'node:crypto';
import type { Queryable } from '../../platform/db/database.ts';
import { uuidv7 } from '../../platform/ids.ts';
import type { IdentitySecrets } from '../secrets.ts';

export const RECOVERY_CODE_COUNT = 10;
const CODE_BYTES = 10;
const ALPHABET = 'abcdefghjkmnpqrstuvwxyz23456789'; // no 0/o, 1/l/i

function newCode(): string {
  const bytes = randomBytes(CODE_BYTES * 2);
  let out = '';
  // Rejection sampling keeps every character uniform over the 31-letter alphabet.
  for (const byte of bytes) {
    if (byte >= 248) continue;
    out += ALPHABET[byte % ALPHABET.length];
    if (out.length === 16) break;
  }
  return out.length === 16 ? `${out.slice(0, 4)}-${out.slice(4, 8)}-${out.slice(8, 12)}-${out.slice(12)}` : newCode();
}

function normalize(code: string): string {
  return code.toLowerCase().replace(/[^a-z0-9]/g, '');
}

function hashOf(secrets: IdentitySecrets, code: string): Buffer {
  return secrets.mac('recovery_codes', normalize(code));
}

/** How many codes of the current set are still unused (shown in settings so a customer renews in time). */
export async function unusedRecoveryCodes(db: Queryable, customerId: string): Promise<number> {
  const result = await db.query<{ n: string }>('select count(*) as n from recovery_codes where customer_id = $1 and used_at is null', [customerId]);
  return Number(result.rows[0]?.n ?? 0);
}

export async function generateRecoveryCodes(db: Queryable, secrets: IdentitySecrets, customerId: string): Promise<string[]> {
  await db.query('delete from recovery_codes where customer_id = $1', [customerId]);
  const codes = Array.from({ length: RECOVERY_CODE_COUNT }, newCode);
  for (const code of codes) {
    await db.query('insert into recovery_codes (id, customer_id, code_hash) values ($1, $2, $3)', [uuidv7(), customerId, hashOf(secrets, code)]);
  }
  return codes;
}

export async function consumeRecoveryCode(db: Queryable, secrets: IdentitySecrets, customerId: string, code: string): Promise<boolean> {
  if (code.length > 64) return false;
  const result = await db.query('update recovery_codes set used_at = now() where customer_id = $1 and code_hash = $2 and used_at is null', [customerId, hashOf(secrets, code)]);
  return result.rowCount === 1;
}

export async function remainingRecoveryCodes(db: Queryable, customerId: string): Promise<number> {
  const result = await db.query<{ n: number }>('select count(*)::int as n from recovery_codes where customer_id = $1 and used_at is null', [customerId]);
  return result.rows[0]?.n ?? 0;
}
