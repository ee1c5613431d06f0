/**
 * One-time codes (OTP-01): 6 CSPRNG digits, valid 10 minutes, accepted once, stored as an HMAC bound
 * to (purpose, subject), 5 wrong tries per subject. A resend replaces the code and its expiry but keeps
 * the failure count, and resends are limited, so resending never buys more guesses.
 */
import type { Queryable } from '../../platform/db/database.ts';
import { uuidv7 } from '../../platform/ids.ts';
import { randomDigits, type IdentitySecrets } from '../secrets.ts';

export type CodePurpose = 'signup_email' | 'signup_phone' | 'login_sms' | 'step_up_sms' | 'recovery_sms' | 'recovery_email' | 'contact_change' | 'payment_email';

export const CODE_LIMITS = {
  digits: 6,
  ttlMs: 10 * 60_000,
  attemptsMax: 5,
  /** The first send plus this many resends. */
  sendsMax: 4,
} as const;

const CODE_FORMAT = /^[0-9]{6}$/;

function codeHash(secrets: IdentitySecrets, purpose: CodePurpose, subjectId: string, code: string): Buffer {
  return secrets.mac('one_time_codes', purpose, subjectId, code);
}

export type IssueResult = { readonly code: string } | { readonly refused: 'resend_limit' };

/** Issues (or re-issues) the code for (purpose, subject). The caller sends it in the same transaction. */
export async function issueCode(db: Queryable, secrets: IdentitySecrets, purpose: CodePurpose, subjectId: string, destination: string): Promise<IssueResult> {
  const code = randomDigits(CODE_LIMITS.digits);
  const result = await db.query<{ sends: number }>(
    `insert into one_time_codes (id, purpose, subject_id, code_hash, destination, expires_at)
     values ($1, $2, $3, $4, $5, now() + make_interval(secs => $6::double precision / 1000))
     on conflict (purpose, subject_id) do update
       set code_hash = excluded.code_hash, expires_at = excluded.expires_at, sends = one_time_codes.sends + 1
       where one_time_codes.sends < $7 and one_time_codes.consumed_at is null and one_time_codes.destination = excluded.destination
     returning sends`,
    [uuidv7(), purpose, subjectId, codeHash(secrets, purpose, subjectId, code), destination, CODE_LIMITS.ttlMs, CODE_LIMITS.sendsMax],
  );
  return result.rowCount === 1 ? { code } : { refused: 'resend_limit' };
}

/**
 * Checks a code in one UPDATE: the attempt is counted and the code consumed atomically, so parallel
 * guesses each use up an attempt and a right code is accepted exactly once (STEP-06).
 */
export async function consumeCode(db: Queryable, secrets: IdentitySecrets, purpose: CodePurpose, subjectId: string, code: string): Promise<boolean> {
  if (!CODE_FORMAT.test(code)) {
    // A malformed code still costs an attempt: the format is no side channel for free guesses.
    await db.query('update one_time_codes set attempts = attempts + 1 where purpose = $1 and subject_id = $2 and consumed_at is null', [purpose, subjectId]);
    return false;
  }
  const result = await db.query<{ ok: boolean }>(
    `update one_time_codes set attempts = attempts + 1, consumed_at = case when code_hash = $3 then now() else null end
     where purpose = $1 and subject_id = $2 and consumed_at is null and expires_at > now() and attempts < $4
     returning consumed_at is not null as ok`,
    [purpose, subjectId, codeHash(secrets, purpose, subjectId, code), CODE_LIMITS.attemptsMax],
  );
  return result.rows[0]?.ok === true;
}
