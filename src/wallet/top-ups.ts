/**
 * Starting a top-up: idempotency (LED-03), ownership, identity's gate (cool-down, amount-bound step-up, charge
 * PIN), then the limits decided under one per-customer lock and the row written in the same transaction
 * (LED-05). Nothing here moves money: `settle.ts` does, once the provider confirms.
 */
import { createHash } from 'node:crypto';
import { ensureCustomerWallet } from './customer-wallets.ts';
import { topUpAccountFor } from './balances.ts';
import { allowance, tierOf, topUpLimitsFor, type Allowance, type Tier } from './tiers.ts';
import type { RequestOrigin } from '../platform/audit/security-log.ts';
import { withTransaction, type Queryable } from '../platform/db/database.ts';
import { KobanError } from '../platform/errors.ts';
import { uuidv7 } from '../platform/ids.ts';
import { availableBalance } from '../ledger/types.ts';
import { lockCustomerWallet } from './customer-lock.ts';
import type { WalletDeps } from './deps.ts';
import { ownFundingSource, recentFailures, type FundingKind, type FundingSourceRow } from './funding-sources.ts';
import type { WalletIdentity, WalletSession } from './identity-port.ts';
import { firstBreach, type LimitUsage } from './limits.ts';
import { refuseUnlessAllowed } from './risk-port.ts';
import { topUpTransferId } from './transfer-id.ts';

export type TopUpStatus = 'processing' | 'requires_action' | 'completed' | 'failed';
export const OPEN_STATUSES: readonly TopUpStatus[] = ['processing', 'requires_action'];

export interface TopUpRow {
  id: string;
  customer_id: string;
  funding_source_id: string;
  kind: FundingKind;
  wallet_account_id: string;
  idempotency_key: string;
  request_hash: Buffer;
  amount_minor: bigint;
  three_ds: boolean;
  status: TopUpStatus;
  provider_ref: string | null;
  challenge_url: string | null;
  failure_code: string | null;
  ledger_transfer_id: string;
  reconcile_attempts: number;
  next_check_at: Date;
  created_at: Date;
  finished_at: Date | null;
  /** Set when a confirmed credit started (settle.ts); such a top-up is finished only by the credit. */
  credit_claimed_at: Date | null;
}

export interface TopUpRequest {
  readonly idempotencyKey: string;
  readonly fundingSourceId: string;
  readonly amountMinor: bigint;
  /** Ask for a 3-D Secure challenge on a card that does not require one (it then counts under the higher caps). */
  readonly threeDSecure: boolean;
  readonly grant: string | undefined;
  readonly pin: string | undefined;
}

export const TOP_UPS_LIST_MAX = 50;

export function topUpView(row: TopUpRow) {
  return {
    topUpId: row.id, status: row.status, amount: row.amount_minor.toString(), fundingSourceId: row.funding_source_id, kind: row.kind,
    threeDSecure: row.three_ds, challengeUrl: row.status === 'requires_action' ? row.challenge_url : null, failureCode: row.failure_code,
    createdAt: row.created_at.toISOString(), finishedAt: row.finished_at?.toISOString() ?? null,
  };
}

export async function loadTopUp(db: Queryable, id: string, forUpdate = false): Promise<TopUpRow | null> {
  const result = await db.query<TopUpRow>(`select * from top_ups where id = $1${forUpdate ? ' for update' : ''}`, [id]);
  return result.rows[0] ?? null;
}

export async function ownTopUp(db: Queryable, customerId: string, id: string): Promise<TopUpRow> {
  const row = await loadTopUp(db, id);
  if (row === null || row.customer_id !== customerId) throw new KobanError('top_up_not_found');
  return row;
}

export async function listTopUps(db: Queryable, customerId: string): Promise<TopUpRow[]> {
  const result = await db.query<TopUpRow>('select * from top_ups where customer_id = $1 order by created_at desc limit $2', [customerId, TOP_UPS_LIST_MAX]);
  return result.rows;
}

/** What the key stands for: the credentials (grant, PIN) are not part of it, so a retry with a fresh grant is the same request. */
export function requestHash(request: TopUpRequest): Buffer {
  return createHash('sha256').update(JSON.stringify(['top_up', request.fundingSourceId, request.amountMinor.toString(), request.threeDSecure])).digest();
}

/** The stored answer for a key already used by this customer, or null; a different request under it is refused. */
export async function replayed(db: Queryable, customerId: string, request: TopUpRequest, hash: Buffer): Promise<TopUpRow | null> {
  const result = await db.query<TopUpRow>('select * from top_ups where customer_id = $1 and idempotency_key = $2', [customerId, request.idempotencyKey]);
  const row = result.rows[0];
  if (row === undefined) return null;
  if (!row.request_hash.equals(hash)) throw new KobanError('idempotency_key_reused');
  return row;
}

function isThreeDs(source: FundingSourceRow, request: TopUpRequest): boolean {
  if (source.kind === 'bank') return true;
  return source.card_three_ds === 'required' || source.card_three_ds_verified_at !== null || request.threeDSecure;
}

export async function readUsage(client: Queryable, deps: WalletDeps, customerId: string, walletAccountId: string, amountMinor: bigint, threeDs: boolean): Promise<LimitUsage> {
  const sums = await readTopUpSums(client, customerId);
  const wallet = await deps.ledger.getAccount(walletAccountId, client);
  if (wallet === null) throw new KobanError('wallet_not_found');
  return {
    amountMinor, threeDs, last24hMinor: sums.d, last30dMinor: sums.m, nonThreeDsLast24hMinor: sums.nd, nonThreeDsLast30dMinor: sums.nm,
    walletBalanceMinor: availableBalance(wallet) + wallet.debitsPending, openTopUpsMinor: sums.open,
  };
}

/** Top-ups of the last 24 hours and 30 days that count against the limits (in flight or completed; cash top-ups not voided). */
async function readTopUpSums(client: Queryable, customerId: string): Promise<{ d: bigint; m: bigint; nd: bigint; nm: bigint; open: bigint }> {
  const result = await client.query<{ d: bigint; m: bigint; nd: bigint; nm: bigint; open: bigint }>(
    `select coalesce(sum(amount_minor) filter (where created_at > now() - interval '24 hours'), 0)::bigint as d,
            coalesce(sum(amount_minor), 0)::bigint as m,
            coalesce(sum(amount_minor) filter (where not three_ds and created_at > now() - interval '24 hours'), 0)::bigint as nd,
            coalesce(sum(amount_minor) filter (where not three_ds), 0)::bigint as nm,
            coalesce(sum(amount_minor) filter (where status in ('processing', 'requires_action')), 0)::bigint as open
     from (select amount_minor, three_ds, status, created_at from top_ups where customer_id = $1 and status <> 'failed' and created_at > now() - interval '30 days'
           -- Cash at the register (cash/cash-top-ups.ts) counts against the same caps, as money that was never a card's.
           union all
           select amount_minor, true, 'completed', created_at from cash_top_ups where customer_id = $1 and status = 'completed' and created_at > now() - interval '30 days') as counted`,
    [customerId],
  );
  const sums = result.rows[0];
  if (sums === undefined) throw new Error('usage query returned no row');
  return sums;
}

/** What this customer may still top up: their tier, the per-top-up cap and the 24-hour and 30-day allowances. */
export async function topUpAllowance(deps: WalletDeps, customerId: string): Promise<{ tier: Tier; perTopUpMaxMinor: bigint; daily: Allowance; monthly: Allowance }> {
  const tier = await tierOf(deps.db.pool, customerId);
  const limits = topUpLimitsFor(deps.config, tier);
  const sums = await readTopUpSums(deps.db.pool, customerId);
  return { tier, perTopUpMaxMinor: limits.perTopUpMaxMinor, daily: allowance(limits.dailyMaxMinor, sums.d), monthly: allowance(limits.monthlyMaxMinor, sums.m) };
}

export async function startTopUp(
  deps: WalletDeps, identity: WalletIdentity, session: WalletSession, request: TopUpRequest, origin: RequestOrigin | null,
): Promise<{ topUp: TopUpRow; replayed: boolean }> {
  const customerId = session.customerId;
  const hash = requestHash(request);
  const earlier = await replayed(deps.db.pool, customerId, request, hash);
  if (earlier !== null) return { topUp: earlier, replayed: true };
  const source = await ownFundingSource(deps.db.pool, customerId, request.fundingSourceId);
  if (source.status !== 'active') throw new KobanError('funding_source_not_active');
  // Kill switches stop new top-ups; ones already at the provider still finish (the money may be taken).
  deps.switches?.assertOn('top_ups');
  deps.switches?.assertOn(source.kind === 'card' ? 'funding.card' : 'funding.bank');
  if (source.kind === 'card' && await recentFailures(deps.db.pool, { customerId, kind: 'three_ds_failed', fundingSourceId: source.id }) >= deps.config.threeDSecureFailuresMax) {
    throw new KobanError('card_attempts_exceeded', { detail: 'too many failed 3-D Secure checks on this card today' });
  }
  await identity.authorizeTopUp(session, { grant: request.grant, pin: request.pin, amountMinor: request.amountMinor, fundingSourceId: source.id }, origin);
  await refuseUnlessAllowed(deps.risk, {
    kind: 'top_up', accountId: customerId, deviceId: session.deviceKey ?? session.deviceId, ip: origin?.ip ?? null, amountMinor: request.amountMinor,
    cardRef: source.card_fingerprint ?? (source.bank_mandate_id === null ? null : `bank:${source.bank_mandate_id}`),
  });
  return writeTopUp(deps, customerId, request, hash, source);
}

/**
 * The top-up row, written under the customer's lock after the limits (LED-05): the part every way of starting a
 * top-up shares — the customer's request after identity's gate, and an auto top-up (auto-top-up.ts), which
 * has no customer present and is capped instead.
 */
export async function writeTopUp(deps: WalletDeps, customerId: string, request: TopUpRequest, hash: Buffer, source: FundingSourceRow): Promise<{ topUp: TopUpRow; replayed: boolean }> {
  // Card money is prepaid; bank money is funds-transfer for a verified customer (balance-kinds.ts). The
  // balance cap applies to the balance the top-up fills.
  await ensureCustomerWallet(deps.db, deps.ledger, customerId);
  const walletAccountId = (await topUpAccountFor(deps.db, deps.ledger, customerId, source.kind)).accountId;
  const threeDs = isThreeDs(source, request);
  return withTransaction(deps.db, async (client) => {
    await lockCustomerWallet(client, customerId);
    // A concurrent request with the same key may have committed while this one waited for the lock.
    const raced = await replayed(client, customerId, request, hash);
    if (raced !== null) return { topUp: raced, replayed: true };
    const limits = topUpLimitsFor(deps.config, await tierOf(client, customerId));
    const breach = firstBreach(limits, await readUsage(client, deps, customerId, walletAccountId, request.amountMinor, threeDs));
    if (breach !== null) {
      throw new KobanError('top_up_limit_exceeded', {
        detail: `the ${breach.limit.replaceAll('_', ' ')} limit is ${breach.limitMinor}; at most ${breach.availableMinor} more can be topped up now`,
        extensions: { limit: breach.limit, limitAmount: breach.limitMinor.toString(), available: breach.availableMinor.toString() },
      });
    }
    const id = uuidv7();
    const inserted = await client.query<TopUpRow>(
      `insert into top_ups (id, customer_id, funding_source_id, kind, wallet_account_id, idempotency_key, request_hash, amount_minor, three_ds, status, ledger_transfer_id, next_check_at)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, 'processing', $10, now() + make_interval(secs => $11::double precision / 1000)) returning *`,
      [id, customerId, source.id, source.kind, walletAccountId, request.idempotencyKey, hash, request.amountMinor, threeDs, topUpTransferId(id), deps.config.reconcileDelayMs],
    );
    const row = inserted.rows[0];
    if (row === undefined) throw new Error('top-up insert returned nothing');
    return { topUp: row, replayed: false };
  });
}
