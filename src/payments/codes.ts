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
import { isUuid, uuidv7 } from '../platform/ids.ts';
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
}

/** One mint of a batch: its code, or why it was refused. One mint's refusal never fails another. */
export type MintOutcome = { readonly minted: MintedCode } | { readonly refused: unknown };

/** Mints a fresh code for this device; the device's previous live code stops working (the screen refreshed). */
export async function mintPaymentCode(deps: CodeDeps, ctx: CustomerContext): Promise<MintedCode> {
  // Codes already shown keep working until they expire (the switch's promise in the catalogue).
  deps.switches.assertOn('payment_code_minting');
  const [outcome] = await mintPaymentCodes(deps, [ctx]);
  assert(outcome !== undefined, 'one outcome per mint');
  return mintedOrThrow(outcome);
}

export function mintedOrThrow(outcome: MintOutcome): MintedCode {
  if ('refused' in outcome) throw outcome.refused;
  return outcome.minted;
}

interface MintFactRow { i: number; cooldown: boolean; owns_wallet: boolean; wallet_status: string | null }

/**
 * Mints a code for each context, in order, in one transaction with a fixed number of round trips whatever the
 * batch's size (issue 11): one read (cool-downs, wallets, frozen wallets), risk's one statement for every mint
 * not in a cool-down, one insert of the decisions, one statement revoking the devices' live codes and inserting
 * the new ones, one commit. The checks and their order are the single mint's: cool-down, risk, own wallet,
 * frozen wallet. Two mints of one device in a batch: the later one is the live code, the earlier one is
 * inserted already revoked, as if the screen had refreshed.
 */
export async function mintPaymentCodes(deps: CodeDeps, ctxs: readonly CustomerContext[]): Promise<MintOutcome[]> {
  if (ctxs.length === 0) return [];
  const now = deps.now();
  const expiresAt = new Date(now.getTime() + deps.ttlSec * 1000);
  const { results, risk, assessedAt } = await withTransaction(deps.db, async (client) => {
    const facts = await readMintFacts(client, ctxs);
    // Where each mint's risk answer is (null: in a cool-down, never assessed, as the single mint never asked).
    const assessedAt: Array<number | null> = [];
    const assessed: CustomerContext[] = [];
    ctxs.forEach((ctx, i) => { assessedAt.push(facts[i]?.cooldown === true ? null : assessed.push(ctx) - 1); });
    const risk = await deps.hooks.assessCodeMints(client, assessed);
    assert(risk.refused.length === assessed.length, 'one risk answer per assessed mint');
    const results = ctxs.map((ctx, i): PlannedMint => {
      const fact = facts[i];
      const at = assessedAt[i];
      assert(fact !== undefined && at !== undefined, 'one fact row per mint');
      if (at === null) return { refused: new KobanError('recovery_cooldown', { detail: 'payment codes are paused after an account recovery' }) };
      if (risk.refused[at] === true) return { refused: new KobanError('payment_refused_by_risk') };
      if (!fact.owns_wallet) return { refused: new KobanError('wallet_not_found', { detail: 'this customer has no such wallet' }) };
      // The till would be refused anyway; saying so now tells the customer why before they queue.
      if (fact.wallet_status === 'frozen') return { refused: new KobanError('wallet_frozen') };
      // The table's checks, asked here so that one malformed context fails alone rather than the whole batch.
      if (!deviceFieldsFit(ctx)) return { refused: new Error('a customer context names its device in 1–128 characters and its device key in at most 64') };
      return { ctx, code: generatePaymentCode(), codeId: uuidv7(now.getTime()) };
    });
    await risk.record();
    await insertCodes(client, deps.pepper, results.flatMap((r) => ('refused' in r ? [] : [r])), now, expiresAt);
    return { results, risk, assessedAt };
  });
  const alertFailures = await risk.afterCommit();
  return results.map((result, i) => {
    const at = assessedAt[i];
    // A failed alert fails only its own mint, as a throwing assessment failed the single mint.
    const alertFailure = at === null || at === undefined ? null : alertFailures[at];
    if (alertFailure !== null && alertFailure !== undefined) return { refused: alertFailure };
    return 'refused' in result ? { refused: result.refused } : { minted: { codeId: result.codeId, code: result.code, expiresAt } };
  });
}

type PlannedMint = { readonly refused: Error } | { readonly ctx: CustomerContext; readonly code: string; readonly codeId: string };

function deviceFieldsFit(ctx: CustomerContext): boolean {
  return ctx.deviceId.length >= 1 && ctx.deviceId.length <= 128 && (ctx.deviceKey === undefined || ctx.deviceKey.length <= 64);
}

/**
 * Per mint, in order: is the customer in a recovery cool-down (identity's customers row, by the database's clock
 * as identity sets and reads it), is the wallet the customer's own, and the wallet's ledger status. Ids that are
 * not UUIDs (a forged context) match nothing.
 */
async function readMintFacts(client: Queryable, ctxs: readonly CustomerContext[]): Promise<MintFactRow[]> {
  const uuidOrNull = (id: string): string | null => (isUuid(id) ? id : null);
  const result = await client.query<MintFactRow>({
    name: 'payment_code_mint_facts',
    text: `select m.i::int as i,
                  exists (select 1 from customers c where c.id = m.customer_id and c.recovery_cooldown_until > now()) as cooldown,
                  exists (select 1 from customer_wallets w where w.customer_id = m.customer_id and w.account_id = m.wallet_id) as owns_wallet,
                  (select a.status from accounts a where a.id = m.wallet_id) as wallet_status
             from unnest($1::uuid[], $2::uuid[]) with ordinality as m(customer_id, wallet_id, i)
            order by m.i`,
    values: [ctxs.map((ctx) => uuidOrNull(ctx.customerId)), ctxs.map((ctx) => uuidOrNull(ctx.walletAccountId))],
  });
  assert(result.rows.length === ctxs.length && result.rows.every((row, index) => row.i === index + 1), 'one fact row per mint, in order');
  return result.rows;
}

/**
 * One statement: the devices' live codes are revoked and the new codes inserted. Of several mints for one device
 * in the batch only the last is inserted live (the CTE's update does not see the rows this statement inserts).
 */
async function insertCodes(client: Queryable, pepper: Buffer, mints: ReadonlyArray<{ ctx: CustomerContext; code: string; codeId: string }>, now: Date, expiresAt: Date): Promise<void> {
  if (mints.length === 0) return;
  const lastOfDevice = new Map<string, number>();
  mints.forEach(({ ctx }, index) => lastOfDevice.set(`${ctx.customerId}|${ctx.deviceId}`, index));
  const column = <T>(of: (mint: { ctx: CustomerContext; code: string; codeId: string }, index: number) => T): T[] => mints.map(of);
  await client.query({
    name: 'payment_codes_mint',
    text: `with revoked as (
             update payment_codes set status = 'revoked'
              where status = 'live' and (customer_id, device_id) in (select * from unnest($3::uuid[], $5::text[]))
             returning 1)
           insert into payment_codes (id, code_hash, customer_id, wallet_account_id, device_id, expires_at, created_at, minted_ip, device_key, code_tail, status, passkey_proved)
           select id, hash, customer_id, wallet_id, device_id, $6, $7, ip, device_key, tail, status, proved
             from unnest($1::uuid[], $2::bytea[], $3::uuid[], $4::uuid[], $5::text[], $8::text[], $9::text[], $10::text[], $11::text[], $12::boolean[])
                  as m(id, hash, customer_id, wallet_id, device_id, ip, device_key, tail, status, proved)`,
    values: [column((m) => m.codeId), column((m) => hashPaymentCode(pepper, m.code)), column((m) => m.ctx.customerId), column((m) => m.ctx.walletAccountId),
      column((m) => m.ctx.deviceId), expiresAt, now, column((m) => m.ctx.ip?.slice(0, 64) ?? null), column((m) => m.ctx.deviceKey ?? null),
      column((m) => m.code.slice(-4)), column((m, index) => (lastOfDevice.get(`${m.ctx.customerId}|${m.ctx.deviceId}`) === index ? 'live' : 'revoked')),
      // The mint of a customer who pays with a passkey was proved with it (service.ts refuses it otherwise).
      column((m) => m.ctx.paysWithPasskey === true)],
  });
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
