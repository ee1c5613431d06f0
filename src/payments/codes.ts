/**
 * Customer-presented payment codes (CPM, JPQR style): 20 digits, the Koban issuer prefix `9` so a till
 * can route the code, then 19 uniformly random digits (63 bits: guessing a live code is hopeless, and a
 * till that tries is rate-limited by its merchant credential). Single use, short-lived, bound to the
 * customer and the device that minted it, stored only as an HMAC. The digits say nothing about the
 * customer: they are drawn at random, not derived from any id.
 */
import { createHmac, randomBytes } from 'node:crypto';
import { assert } from '../platform/assert.ts';
import { withTransaction, type Database, type Queryable } from '../platform/db/database.ts';
import { KobanError } from '../platform/errors.ts';
import { uuidv7 } from '../platform/ids.ts';
import type { CustomerContext, PaymentHooks } from './context.ts';
import type { PaymentSwitches } from './deps.ts';

export const PAYMENT_CODE_PREFIX = '9';
export const PAYMENT_CODE_RANDOM_DIGITS = 19;
export const PAYMENT_CODE_LENGTH = PAYMENT_CODE_PREFIX.length + PAYMENT_CODE_RANDOM_DIGITS;
const PAYMENT_CODE_PATTERN = new RegExp(`^${PAYMENT_CODE_PREFIX}[0-9]{${PAYMENT_CODE_RANDOM_DIGITS}}$`);
const RANDOM_SPACE = 10n ** BigInt(PAYMENT_CODE_RANDOM_DIGITS);
/** Rejection sampling from 64-bit draws: accept below the largest multiple of the space (here the space itself). */
const ACCEPT_BELOW = (2n ** 64n / RANDOM_SPACE) * RANDOM_SPACE;
const DRAWS_MAX = 64;
/** Expired codes are kept this long for "expired" (rather than "unknown") answers, then deleted. */
export const EXPIRED_CODE_RETENTION_MS = 24 * 3600 * 1000;
const CLEANUP_BATCH = 5000;

export interface MintedCode {
  readonly codeId: string;
  readonly code: string;
  readonly expiresAt: Date;
}

export function isPaymentCodeShape(code: string): boolean {
  return PAYMENT_CODE_PATTERN.test(code);
}

export function generatePaymentCode(): string {
  for (let draw = 0; draw < DRAWS_MAX; draw++) {
    const value = randomBytes(8).readBigUInt64BE();
    if (value < ACCEPT_BELOW) return PAYMENT_CODE_PREFIX + (value % RANDOM_SPACE).toString().padStart(PAYMENT_CODE_RANDOM_DIGITS, '0');
  }
  // 64 rejections in a row have probability < 2^-70: the random source is broken.
  throw new Error('random source failed to produce a payment code');
}

export function hashPaymentCode(pepper: Buffer, code: string): Buffer {
  return createHmac('sha256', pepper).update(code, 'utf8').digest();
}

export interface CodeDeps {
  readonly db: Database;
  readonly pepper: Buffer;
  readonly hooks: PaymentHooks;
  readonly switches: PaymentSwitches;
  readonly ttlSec: number;
  readonly now: () => Date;
  /** The wallet's ledger status (payments/service.ts passes the ledger's); a frozen wallet gets no code. */
  readonly walletStatus?: (walletAccountId: string) => Promise<string | null>;
}

/** Mints a fresh code for this device; the device's previous live code stops working (the screen refreshed). */
export async function mintPaymentCode(deps: CodeDeps, ctx: CustomerContext): Promise<MintedCode> {
  // Codes already shown keep working until they expire (the switch's promise in the catalogue).
  deps.switches.assertOn('payment_code_minting');
  if (await deps.hooks.recoveryCoolDownActive(ctx)) throw new KobanError('recovery_cooldown', { detail: 'payment codes are paused after an account recovery' });
  if (await deps.hooks.riskRefusesCodeMint(ctx)) throw new KobanError('payment_refused_by_risk');
  await requireOwnWallet(deps.db.pool, ctx);
  // The till would be refused anyway; saying so now tells the customer why before they queue.
  if ((await deps.walletStatus?.(ctx.walletAccountId)) === 'frozen') throw new KobanError('wallet_frozen');
  const code = generatePaymentCode();
  const now = deps.now();
  const expiresAt = new Date(now.getTime() + deps.ttlSec * 1000);
  const codeId = uuidv7(now.getTime());
  await withTransaction(deps.db, async (client) => {
    await client.query(`update payment_codes set status = 'revoked' where customer_id = $1 and device_id = $2 and status = 'live'`, [ctx.customerId, ctx.deviceId]);
    await client.query(
      `insert into payment_codes (id, code_hash, customer_id, wallet_account_id, device_id, expires_at, created_at, minted_ip, device_key, code_tail) values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10)`,
      [codeId, hashPaymentCode(deps.pepper, code), ctx.customerId, ctx.walletAccountId, ctx.deviceId, expiresAt, now, ctx.ip?.slice(0, 64) ?? null, ctx.deviceKey ?? null, code.slice(-4)]);
  });
  return { codeId, code, expiresAt };
}

/** The context's wallet must be the customer's own (a mismatch is a bug or a forged context). */
export async function requireOwnWallet(db: Queryable, ctx: CustomerContext): Promise<void> {
  const result = await db.query(`select 1 from customer_wallets where customer_id = $1 and account_id = $2`, [ctx.customerId, ctx.walletAccountId]);
  if (result.rowCount !== 1) throw new KobanError('wallet_not_found', { detail: 'this customer has no such wallet' });
}

/**
 * Why a code cannot pay, or null when it can. Expired and revoked (the app showed a newer code) answer
 * alike: either way the customer refreshes. Claiming is done by the till's staging statement (till.ts).
 */
export function codeRefusal(code: { status: string; expiresAt: Date } | null, now: Date): KobanError | null {
  if (code === null) return new KobanError('payment_code_not_found');
  if (code.status === 'used') return new KobanError('payment_code_used');
  if (code.status !== 'live' || code.expiresAt <= now) return new KobanError('payment_code_expired');
  return null;
}

export interface CodeStatus {
  readonly codeId: string;
  readonly status: 'live' | 'used' | 'expired';
  readonly paymentId: string | null;
  readonly expiresAt: Date;
}

/** What the app polls to learn that a till took its code. Another customer's code is "not found". */
export async function paymentCodeStatus(deps: Pick<CodeDeps, 'db' | 'now'>, ctx: CustomerContext, codeId: string): Promise<CodeStatus> {
  const result = await deps.db.pool.query<{ id: string; status: string; payment_id: string | null; expires_at: Date }>(
    `select id, status, payment_id, expires_at from payment_codes where id = $1 and customer_id = $2`, [codeId, ctx.customerId]);
  const row = result.rows[0];
  if (row === undefined) throw new KobanError('payment_code_not_found');
  const expired = row.status === 'revoked' || (row.status === 'live' && row.expires_at <= deps.now());
  const status = row.status === 'used' ? 'used' : expired ? 'expired' : 'live';
  assert(status !== 'used' || row.payment_id !== null, 'a used code names its payment');
  return { codeId: row.id, status, paymentId: row.payment_id, expiresAt: row.expires_at };
}

/** Deletes codes long expired; bounded per call. */
export async function deleteOldPaymentCodes(db: Database, now: Date): Promise<number> {
  const result = await db.pool.query(
    `delete from payment_codes where id = any (array(select id from payment_codes where expires_at < $1 order by expires_at limit $2))`,
    [new Date(now.getTime() - EXPIRED_CODE_RETENTION_MS), CLEANUP_BATCH]);
  return result.rowCount ?? 0;
}
