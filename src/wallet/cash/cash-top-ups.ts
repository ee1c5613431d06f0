/**
 * Cash top-up at the register (issue 19; 7pay's main way to top up, PayPay's at convenience stores). The customer
 * shows a top-up code (codes.ts), the clerk takes the cash and confirms on the till; the merchant's cash-owed
 * account (ledger code 220) pays the customer's **prepaid** wallet (code 100): cash is 前払式支払手段 — it can
 * pay merchants, never leave as cash (balance-kinds.ts). The merchant owes Koban that cash until the daily close
 * nets it from the payout (payments/settlement/close.ts).
 *
 * One transaction decides and moves: the customer's wallet lock (the same lock card and bank top-ups decide
 * their limits under, top-ups.ts), the store's lock, the till's id re-checked, the code claimed, the limits,
 * the row, the ledger transfer (`createTransfersWithin`) and the customer's notice. So a retry after a timeout
 * finds the row (same till id) and answers it; nothing is ever credited twice and nothing half-done is left.
 */
import { verifiedContacts } from '../../identity/contacts/contacts.ts';
import { customerLanguage } from '../../identity/language.ts';
import { isLedgerRetryable } from '../../ledger/ledger.ts';
import { isSuccess, Ledgers, TransferCodes, type TransferRequest } from '../../ledger/types.ts';
import { addFeedEntry, enqueueMessage } from '../../notifications/outbox.ts';
import { assert } from '../../platform/assert.ts';
import { withTransaction, type Queryable } from '../../platform/db/database.ts';
import { KobanError } from '../../platform/errors.ts';
import { derivedUuid, uuidv7 } from '../../platform/ids.ts';
import { timeIn, yenIn, type Language } from '../../platform/language.ts';
import { receiptNumber } from '../../platform/receipt-number.ts';
import { ensureCustomerWallet } from '../customer-wallets.ts';
import { lockCustomerWallet } from '../customer-lock.ts';
import type { WalletDeps } from '../deps.ts';
import { firstBreach } from '../limits.ts';
import { refuseUnlessAllowed } from '../risk-port.ts';
import { tierOf, topUpLimitsFor } from '../tiers.ts';
import { onceAtATime } from '../top-up-claims.ts';
import { readUsage } from '../top-ups.ts';
import { hashTopUpCode, markTopUpCodeUsed, readLiveTopUpCode } from './codes.ts';

export interface CashTopUpRow {
  id: string; customer_id: string; wallet_account_id: string; merchant_id: string; store_id: string; terminal_id: string; till_top_up_id: string;
  code_id: string; amount_minor: bigint; cash_owed_account_id: string; ledger_transfer_id: string; business_date: string;
  linked_staff_user_id: string | null; approved_by_user_id: string | null; status: 'completed' | 'voided'; void_reason: string | null;
  void_transfer_id: string | null; void_business_date: string | null; voided_at: Date | null; created_at: Date;
}

export interface CashDeps {
  readonly wallet: WalletDeps;
  /** HMAC key of top-up codes (derived from KOBAN_SECRET_KEY by the composition root). */
  readonly pepper: Buffer;
  readonly now: () => Date;
}

/** Where the cash was taken: the till names itself; the merchant's cash-owed account is the merchants module's. */
export interface CashPlace {
  readonly merchantId: string; readonly storeId: string; readonly terminalId: string; readonly cashOwedAccountId: string;
  /** How the customer's notice names the place ("Koban Mart Shibuya"). */
  readonly placeName: string;
}

export interface CashApproval { readonly linkedStaffUserId: string | null; readonly approvedByUserId: string | null }

export interface CashTopUpRequest {
  readonly tillTopUpId: string;
  readonly code: string;
  readonly amountMinor: bigint;
  /** Decides, once the code names the customer, whether a second clerk is needed and whether one approved (the till's rule, payments). */
  readonly approve: (customerId: string) => Promise<CashApproval>;
}

const JST_OFFSET_MS = 9 * 3600_000;
const TRANSACTION_ATTEMPTS_MAX = 3;
// Separates the store's advisory locks from other locks keyed on the same id.
const STORE_LOCK_SEED = 7_262_350;

export function jstDate(at: Date): string {
  return new Date(at.getTime() + JST_OFFSET_MS).toISOString().slice(0, 10);
}

/** "t***@example.com" or "•••• 5678": enough for the clerk to ask "is this you?", nothing more. */
export function maskContact(kind: string, value: string): string {
  if (kind === 'email') {
    const at = value.indexOf('@');
    return at <= 0 ? '***' : `${value.slice(0, 1)}***${value.slice(at)}`;
  }
  return `•••• ${value.slice(-4)}`;
}

export async function maskedCustomerName(db: Queryable, customerId: string): Promise<string> {
  const contacts = await verifiedContacts(db, customerId);
  const chosen = contacts.find((c) => c.kind === 'email') ?? contacts[0];
  return chosen === undefined ? '***' : maskContact(chosen.kind, chosen.value);
}

/** The cash caps as the customer sees them: the least of the per-code cap and what is left of today's cash. */
export async function cashAllowance(deps: CashDeps, customerId: string): Promise<{ minAmountMinor: bigint; maxAmountMinor: bigint; perCodeMaxMinor: bigint; dailyRemainingMinor: bigint }> {
  const cash = deps.wallet.config.cash;
  const used = await cashUsedToday(deps.wallet.db.pool, 'customer_id', customerId, jstDate(deps.now()));
  const left = cash.customerDailyMaxMinor - used > 0n ? cash.customerDailyMaxMinor - used : 0n;
  return { minAmountMinor: cash.minMinor, maxAmountMinor: left < cash.perCodeMaxMinor ? left : cash.perCodeMaxMinor, perCodeMaxMinor: cash.perCodeMaxMinor, dailyRemainingMinor: left };
}

/** What the till shows after the scan: whose wallet (masked) and the most this code can take now. */
export async function previewCashTopUp(deps: CashDeps, code: string): Promise<{ customerId: string; maskedName: string; maxAmountMinor: bigint; minAmountMinor: bigint }> {
  deps.wallet.switches?.assertOn('top_ups');
  deps.wallet.switches?.assertOn('top_ups.cash');
  const row = await readLiveTopUpCode(deps.wallet.db.pool, deps.pepper, code, deps.now());
  const allowed = await cashAllowance(deps, row.customer_id);
  return { customerId: row.customer_id, maskedName: await maskedCustomerName(deps.wallet.db.pool, row.customer_id), maxAmountMinor: allowed.maxAmountMinor, minAmountMinor: allowed.minAmountMinor };
}

async function readByTillId(db: Queryable, terminalId: string, tillTopUpId: string, forUpdate = false): Promise<CashTopUpRow | null> {
  const result = await db.query<CashTopUpRow>(`select * from cash_top_ups where terminal_id = $1 and till_top_up_id = $2${forUpdate ? ' for update' : ''}`, [terminalId, tillTopUpId]);
  return result.rows[0] ?? null;
}

/** The stored top-up when this till already took this id: the same code and amount is a retry, anything else a conflict. */
async function replayed(deps: CashDeps, db: Queryable, place: CashPlace, request: CashTopUpRequest): Promise<CashTopUpRow | null> {
  const row = await readByTillId(db, place.terminalId, request.tillTopUpId);
  if (row === null) return null;
  const code = await db.query<{ code_hash: Buffer }>('select code_hash from cash_top_up_codes where id = $1', [row.code_id]);
  const sameCode = code.rows[0]?.code_hash.equals(hashTopUpCode(deps.pepper, request.code)) === true;
  if (!sameCode || row.amount_minor !== request.amountMinor) throw new KobanError('cash_top_up_id_conflict');
  return row;
}

export async function findCashTopUp(deps: CashDeps, terminalId: string, tillTopUpId: string): Promise<CashTopUpRow> {
  const row = await readByTillId(deps.wallet.db.pool, terminalId, tillTopUpId);
  if (row === null) throw new KobanError('cash_top_up_not_found');
  return row;
}

/** A till's cash top-ups of one business day, newest first (its 現金チャージ list). */
export async function cashTopUpsOfTerminal(db: Queryable, terminalId: string, date: string, limit: number): Promise<CashTopUpRow[]> {
  const result = await db.query<CashTopUpRow>('select * from cash_top_ups where terminal_id = $1 and business_date = $2 order by created_at desc limit $3', [terminalId, date, limit]);
  return result.rows;
}

async function cashUsedToday(db: Queryable, column: 'customer_id' | 'store_id', id: string, date: string): Promise<bigint> {
  const result = await db.query<{ sum: bigint }>(`select coalesce(sum(amount_minor), 0)::bigint as sum from cash_top_ups where ${column} = $1 and business_date = $2 and status = 'completed'`, [id, date]);
  return result.rows[0]?.sum ?? 0n;
}

function refuseAmount(limit: string, limitMinor: bigint, availableMinor: bigint): never {
  const available = availableMinor > 0n ? availableMinor : 0n;
  throw new KobanError('cash_top_up_limit_exceeded', {
    detail: `the cash ${limit.replaceAll('_', ' ')} limit is ${limitMinor}; at most ${available} more can be topped up now`,
    extensions: { limit, limitAmount: limitMinor.toString(), available: available.toString() },
  });
}

/** The cash limits (per code, per customer per day, per store per day), then the customer's tier limits: all under the locks. */
async function checkLimits(deps: CashDeps, client: Queryable, place: CashPlace, customerId: string, walletAccountId: string, amountMinor: bigint, date: string): Promise<void> {
  const cash = deps.wallet.config.cash;
  if (amountMinor < cash.minMinor) throw new KobanError('validation_failed', { errors: [{ pointer: '/body/amount', message: `must be at least ${cash.minMinor}` }] });
  if (amountMinor > cash.perCodeMaxMinor) refuseAmount('per_code', cash.perCodeMaxMinor, cash.perCodeMaxMinor);
  const customerToday = await cashUsedToday(client, 'customer_id', customerId, date);
  if (customerToday + amountMinor > cash.customerDailyMaxMinor) refuseAmount('customer_daily', cash.customerDailyMaxMinor, cash.customerDailyMaxMinor - customerToday);
  const storeToday = await cashUsedToday(client, 'store_id', place.storeId, date);
  if (storeToday + amountMinor > cash.storeDailyMaxMinor) refuseAmount('store_daily', cash.storeDailyMaxMinor, cash.storeDailyMaxMinor - storeToday);
  const limits = topUpLimitsFor(deps.wallet.config, await tierOf(client, customerId));
  const breach = firstBreach(limits, await readUsage(client, deps.wallet, customerId, walletAccountId, amountMinor, true));
  if (breach !== null) {
    throw new KobanError('top_up_limit_exceeded', {
      detail: `the ${breach.limit.replaceAll('_', ' ')} limit is ${breach.limitMinor}; at most ${breach.availableMinor} more can be topped up now`,
      extensions: { limit: breach.limit, limitAmount: breach.limitMinor.toString(), available: breach.availableMinor.toString() },
    });
  }
}

export async function takeCashTopUp(deps: CashDeps, place: CashPlace, request: CashTopUpRequest): Promise<{ topUp: CashTopUpRow; replayed: boolean }> {
  assert(request.amountMinor > 0n, 'a cash top-up amount is positive');
  const db = deps.wallet.db;
  const outcome = async () => {
    const earlier = await replayed(deps, db.pool, place, request);
    return earlier === null ? null : { topUp: earlier, replayed: true };
  };
  // A retry after a timeout answers what happened, even with the switch off since.
  const earlier = await outcome();
  if (earlier !== null) return earlier;
  deps.wallet.switches?.assertOn('top_ups');
  deps.wallet.switches?.assertOn('top_ups.cash');
  const code = await readCodeOrOutcome(deps, request.code, outcome);
  if ('topUp' in code) return code;
  // Copies of one till request at once: one runs, the others wait for its outcome (top-up-claims.ts), so the
  // risk engine and the second clerk see one request, and no copy answers "code used" for its own original.
  return onceAtATime(db, code.customer_id, `cash:${place.terminalId}:${request.tillTopUpId}`, {
    outcome,
    run: async () => {
      const raced = await outcome();
      if (raced !== null) return raced;
      const approval = await request.approve(code.customer_id);
      assert(approval.linkedStaffUserId === null || approval.approvedByUserId !== null, 'a staff member\'s top-up carries a second clerk\'s approval');
      // No card reference: the store is shared by every customer who tops up there (it is not an instrument).
      await refuseUnlessAllowed(deps.wallet.risk, { kind: 'top_up', accountId: code.customer_id, deviceId: null, ip: null, amountMinor: request.amountMinor, cardRef: null });
      const walletAccountId = await ensureCustomerWallet(db, deps.wallet.ledger, code.customer_id);
      for (let attempt = 1; ; attempt++) {
        try {
          return await withTransaction(db, (client) => takeWithin(deps, client, place, request, code.customer_id, walletAccountId, approval));
        } catch (error) {
          if (!isLedgerRetryable(error) || attempt >= TRANSACTION_ATTEMPTS_MAX) throw error;
        }
      }
    },
  });
}

/** The live code, or the original's outcome when a copy of this request already used it. */
async function readCodeOrOutcome(deps: CashDeps, code: string, outcome: () => Promise<{ topUp: CashTopUpRow; replayed: boolean } | null>) {
  try {
    return await readLiveTopUpCode(deps.wallet.db.pool, deps.pepper, code, deps.now());
  } catch (error) {
    const known = error instanceof KobanError && error.code === 'top_up_code_used' ? await outcome() : null;
    if (known !== null) return known;
    throw error;
  }
}

async function takeWithin(deps: CashDeps, client: Queryable, place: CashPlace, request: CashTopUpRequest, customerId: string, walletAccountId: string, approval: CashApproval): Promise<{ topUp: CashTopUpRow; replayed: boolean }> {
  await lockCustomerWallet(client, customerId);
  await client.query('select pg_advisory_xact_lock(hashtextextended($1, $2))', [place.storeId, STORE_LOCK_SEED]);
  // A copy of this request may have committed while this one waited for the locks.
  const raced = await replayed(deps, client, place, request);
  if (raced !== null) return { topUp: raced, replayed: true };
  const now = deps.now();
  const code = await readLiveTopUpCode(client, deps.pepper, request.code, now, true);
  assert(code.customer_id === customerId, 'the code still names the customer it named before the locks');
  const date = jstDate(now);
  await checkLimits(deps, client, place, customerId, walletAccountId, request.amountMinor, date);
  await markTopUpCodeUsed(client, code.id, now);
  const id = uuidv7(now.getTime());
  const inserted = await client.query<CashTopUpRow>(
    `insert into cash_top_ups (id, customer_id, wallet_account_id, merchant_id, store_id, terminal_id, till_top_up_id, code_id, amount_minor, cash_owed_account_id,
       ledger_transfer_id, business_date, linked_staff_user_id, approved_by_user_id, status, created_at)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, 'completed', $15) returning *`,
    [id, customerId, walletAccountId, place.merchantId, place.storeId, place.terminalId, request.tillTopUpId, code.id, request.amountMinor, place.cashOwedAccountId,
      derivedUuid('koban-cash-top-up', id), date, approval.linkedStaffUserId, approval.approvedByUserId, now]);
  const row = inserted.rows[0];
  assert(row !== undefined, 'cash top-up inserted');
  await moveWithin(deps, client, { id: row.ledger_transfer_id, debitAccountId: place.cashOwedAccountId, creditAccountId: walletAccountId, amountMinor: row.amount_minor, reference: `cash-top-up:${row.id}` });
  await announceCashTopUp(client, row, place.placeName);
  return { topUp: row, replayed: false };
}

async function moveWithin(deps: CashDeps, client: Queryable, leg: { id: string; debitAccountId: string; creditAccountId: string; amountMinor: bigint; reference: string }): Promise<void> {
  const transfer: TransferRequest = {
    id: leg.id, debitAccountId: leg.debitAccountId, creditAccountId: leg.creditAccountId, amount: leg.amountMinor, pendingId: null,
    ledger: Ledgers.JPY, code: TransferCodes.topUp, flags: 0, timeoutSeconds: 0, reference: leg.reference,
  };
  const [results] = await deps.wallet.ledger.createTransfersWithin(client as Parameters<WalletDeps['ledger']['createTransfersWithin']>[0], [[transfer]]);
  const result = results?.[0];
  assert(result !== undefined, 'one result per transfer');
  if (isSuccess(result.result)) return;
  if (result.result === 'exceeds_credits') throw new KobanError('cash_top_up_spent', { detail: 'the customer has spent part of this top-up already' });
  if (result.result === 'debit_account_frozen' || result.result === 'credit_account_closed' || result.result === 'debit_account_closed') throw new KobanError('wallet_frozen');
  throw new Error(`cash top-up transfer refused: ${result.result}`);
}

/**
 * A clerk takes back a cash top-up (the wrong amount was keyed, the customer changed their mind) within the
 * void window, and only whole: the wallet is debited the full amount in one transfer, which the ledger refuses
 * when the customer has spent any of it (the wallet can never go below zero). Partial voids are not offered —
 * the cash drawer returns what was given, and a half-spent top-up is a refund question for support.
 */
export async function voidCashTopUp(deps: CashDeps, place: CashPlace, tillTopUpId: string, reason: string): Promise<CashTopUpRow> {
  return withTransaction(deps.wallet.db, async (client) => {
    const row = await readByTillId(client, place.terminalId, tillTopUpId, true);
    if (row === null) throw new KobanError('cash_top_up_not_found');
    if (row.status === 'voided') return row;
    const now = deps.now();
    const windowMs = deps.wallet.config.cash.voidWindowMinutes * 60_000;
    if (now.getTime() - row.created_at.getTime() > windowMs) {
      throw new KobanError('cash_top_up_not_voidable', { detail: `a cash top-up can be voided within ${deps.wallet.config.cash.voidWindowMinutes} minutes` });
    }
    const voidTransferId = derivedUuid('koban-cash-top-up-void', row.id);
    await moveWithin(deps, client, { id: voidTransferId, debitAccountId: row.wallet_account_id, creditAccountId: row.cash_owed_account_id, amountMinor: row.amount_minor, reference: `cash-top-up-void:${row.id}` });
    const updated = await client.query<CashTopUpRow>(
      `update cash_top_ups set status = 'voided', void_reason = $2, void_transfer_id = $3, void_business_date = $4, voided_at = $5 where id = $1 and status = 'completed' returning *`,
      [row.id, reason, voidTransferId, jstDate(now), now]);
    const voided = updated.rows[0];
    assert(voided !== undefined, 'the locked completed top-up is voided');
    await announceCashTopUp(client, voided, place.placeName);
    return voided;
  });
}

/** What the merchant's stores took in cash on a business day, net of voids made that day (the settlement nets it). */
export async function cashTakenOn(db: Queryable, merchantId: string, date: string): Promise<{ count: number; amountMinor: bigint }> {
  const result = await db.query<{ count: number; taken: bigint; voided: bigint }>(
    `select (select count(*)::int from cash_top_ups where merchant_id = $1 and business_date = $2) as count,
            (select coalesce(sum(amount_minor), 0)::bigint from cash_top_ups where merchant_id = $1 and business_date = $2) as taken,
            (select coalesce(sum(amount_minor), 0)::bigint from cash_top_ups where merchant_id = $1 and void_business_date = $2) as voided`, [merchantId, date]);
  const row = result.rows[0];
  assert(row !== undefined, 'cash totals row');
  return { count: row.count, amountMinor: row.taken - row.voided };
}

/** Merchants with cash top-ups or their voids on a business day (the close visits them even without sales). */
export async function merchantsWithCashOn(db: Queryable, date: string, limit: number): Promise<string[]> {
  const result = await db.query<{ merchant_id: string }>(
    `select merchant_id from cash_top_ups where business_date = $1 union select merchant_id from cash_top_ups where void_business_date = $1 order by 1 limit $2`, [date, limit]);
  return result.rows.map((row) => row.merchant_id);
}

export function cashTopUpText(language: Language, row: Pick<CashTopUpRow, 'status' | 'amount_minor' | 'created_at' | 'voided_at' | 'id'>, placeName: string): { title: string; body: string } {
  const amount = yenIn(language, row.amount_minor);
  const voided = row.status === 'voided';
  const at = timeIn(language, row.voided_at ?? row.created_at);
  if (language === 'ja') {
    const title = voided ? `${amount}の現金チャージが取り消されました` : `${amount}を現金でチャージしました`;
    const what = voided ? `${placeName}での${amount}の現金チャージはレジで取り消され、残高から差し引かれました。` : `${placeName}のレジで${amount}を現金で Koban 残高にチャージしました。`;
    return { title, body: `${what}\n\n日時: ${at}\nレシート番号: ${receiptNumber(row.id)}\n\n心当たりがない場合は、すぐに Koban サポートへご連絡ください。` };
  }
  const title = voided ? `Cash top-up of ${amount} voided` : `Cash top-up of ${amount} completed`;
  const what = voided ? `The cash top-up of ${amount} at ${placeName} was voided at the register and taken off your balance.` : `${amount} in cash was added to your Koban balance at ${placeName}.`;
  return { title, body: `${what}\n\nTime: ${at}\nReceipt no.: ${receiptNumber(row.id)}\n\nIf this was not you, contact Koban support at once.` };
}

/** The customer's feed entry and e-mail, in the transaction that moved the money (once). */
async function announceCashTopUp(client: Queryable, row: CashTopUpRow, placeName: string): Promise<void> {
  const language = await customerLanguage(client, row.customer_id);
  const { title, body } = cashTopUpText(language, row, placeName);
  const kind = row.status === 'voided' ? 'cash_top_up_voided' : 'cash_top_up_completed';
  await addFeedEntry(client, row.customer_id, { kind, title, body, contestable: row.status === 'completed' });
  for (const contact of await verifiedContacts(client, row.customer_id)) {
    if (contact.kind !== 'email') continue;
    await enqueueMessage(client, { channel: 'email', recipient: contact.value, kind, subject: `Koban${language === 'ja' ? '：' : ': '}${title}`, body });
  }
}
