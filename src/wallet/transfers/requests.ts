/**
 * Requesting money (請求) and splitting a bill (わりかん), issue 19. A request is a link (`/wallet/pay/<token>`,
 * a 128-bit random token) for an amount and a message; whoever opens it while signed in can pay it, and paying
 * is a send (send.ts) to the requester that is accepted at once when the requester is verified. A split makes
 * one request per participant, addressed to them (only they can pay it), announced in their feed and by e-mail
 * through the notifications outbox; the organiser can remind those who have not paid.
 *
 * Rounding of a split: with n shares (the participants, plus the organiser when they share the bill),
 * each share is ⌊total / n⌋ and the r = total − n·⌊total / n⌋ yen left over go one yen each to the first r
 * *participants* when the organiser does not share; when the organiser shares, the organiser's own share
 * absorbs them (nobody is asked for more than an even share). The requests always add up to what is asked.
 */
import { randomBytes } from 'node:crypto';
import type { RequestOrigin } from '../../platform/audit/security-log.ts';
import { assert } from '../../platform/assert.ts';
import type { Queryable } from '../../platform/db/database.ts';
import { withTransaction } from '../../platform/db/database.ts';
import { KobanError } from '../../platform/errors.ts';
import { uuidv7 } from '../../platform/ids.ts';
import { FUNDS_TRANSFER_PER_TRANSFER_MAX_MINOR } from '../balance-kinds.ts';
import type { WalletSession } from '../identity-port.ts';
import type { TransfersDeps } from './common.ts';
import { handleOf, resolveRecipient } from './handles.ts';
import { notify } from './notices.ts';
import { sendMoney, type P2pTransferRow } from './send.ts';

export interface MoneyRequestRow {
  id: string;
  requester_id: string;
  token: string;
  amount_minor: bigint;
  message: string;
  payer_id: string | null;
  split_id: string | null;
  status: 'open' | 'paid' | 'cancelled';
  paid_transfer_id: string | null;
  reminders_sent: number;
  last_reminded_at: Date | null;
  created_at: Date;
}

export const SPLIT_PARTICIPANTS_MAX = 20;
export const REMINDERS_MAX = 3;
const REMINDER_GAP_MS = 3_600_000;
const LIST_MAX = 50;

export function splitShares(totalMinor: bigint, participants: number, organiserShares: boolean): bigint[] {
  assert(totalMinor > 0n && participants >= 1, 'a split has a total and participants');
  const n = BigInt(participants + (organiserShares ? 1 : 0));
  const base = totalMinor / n;
  const left = totalMinor - base * n;
  // The organiser absorbs the leftover yen when sharing; otherwise the first participants pay one yen more each.
  return Array.from({ length: participants }, (_, index) => (!organiserShares && BigInt(index) < left ? base + 1n : base));
}

function newToken(): string {
  return randomBytes(16).toString('base64url');
}

export async function requestView(db: Queryable, row: MoneyRequestRow, publicUrl: string) {
  return {
    requestId: row.id, link: `${publicUrl}/wallet/pay/${row.token}`, token: row.token, requester: await handleOf(db, row.requester_id),
    payer: row.payer_id === null ? null : await handleOf(db, row.payer_id), amount: row.amount_minor.toString(), message: row.message,
    status: row.status, splitId: row.split_id, paidTransferId: row.paid_transfer_id, remindersSent: row.reminders_sent, createdAt: row.created_at.toISOString(),
  };
}

function assertAmount(amountMinor: bigint, pointer: string): void {
  if (amountMinor <= 0n || amountMinor > FUNDS_TRANSFER_PER_TRANSFER_MAX_MINOR) {
    throw new KobanError('validation_failed', { errors: [{ pointer, message: `must be between 1 and ${FUNDS_TRANSFER_PER_TRANSFER_MAX_MINOR}` }] });
  }
}

async function insertRequest(db: Queryable, requesterId: string, amountMinor: bigint, message: string, payerId: string | null, splitId: string | null, now: Date): Promise<MoneyRequestRow> {
  const row = (await db.query<MoneyRequestRow>(
    `insert into money_requests (id, requester_id, token, amount_minor, message, payer_id, split_id, status, created_at)
     values ($1, $2, $3, $4, $5, $6, $7, 'open', $8) returning *`, [uuidv7(), requesterId, newToken(), amountMinor, message, payerId, splitId, now])).rows[0];
  assert(row !== undefined, 'the request was written');
  return row;
}

export async function createMoneyRequest(deps: TransfersDeps, customerId: string, amountMinor: bigint, message: string): Promise<MoneyRequestRow> {
  assertAmount(amountMinor, '/body/amount');
  await handleOf(deps.wallet.db.pool, customerId);
  return insertRequest(deps.wallet.db.pool, customerId, amountMinor, message, null, null, deps.clock());
}

export async function requestByToken(db: Queryable, token: string): Promise<MoneyRequestRow> {
  const row = (await db.query<MoneyRequestRow>('select * from money_requests where token = $1', [token])).rows[0];
  if (row === undefined) throw new KobanError('money_request_not_found');
  return row;
}

/** The request as a payer may see it: open to anyone with the link, or addressed to this payer. */
export async function requestForPayer(db: Queryable, token: string, payerId: string): Promise<MoneyRequestRow> {
  const row = await requestByToken(db, token);
  if (row.payer_id !== null && row.payer_id !== payerId && row.requester_id !== payerId) throw new KobanError('money_request_not_found');
  return row;
}

/**
 * Pays a request: a send to the requester for exactly its amount. The request is marked paid in the send's
 * own transaction (a partial unique index allows one live payment per request), so two payers — or one
 * payer's two taps — never pay it twice.
 */
export async function payMoneyRequest(deps: TransfersDeps, session: WalletSession, token: string, input: { idempotencyKey: string; grant: string | undefined; pin: string | undefined }, origin: RequestOrigin | null): Promise<{ transfer: P2pTransferRow; replayed: boolean }> {
  const db = deps.wallet.db.pool;
  const request = await requestForPayer(db, token, session.customerId);
  if (request.requester_id === session.customerId) throw new KobanError('recipient_is_sender');
  const sent = await sendMoney(deps, session, {
    idempotencyKey: input.idempotencyKey, to: await handleOf(db, request.requester_id), amountMinor: request.amount_minor, message: request.message,
    grant: input.grant, pin: input.pin, requestId: request.id,
  }, origin);
  return sent;
}

export async function cancelMoneyRequest(deps: TransfersDeps, customerId: string, requestId: string): Promise<MoneyRequestRow> {
  const result = await deps.wallet.db.pool.query<MoneyRequestRow>(
    `update money_requests set status = 'cancelled' where id = $1 and requester_id = $2 and status = 'open' returning *`, [requestId, customerId]);
  if (result.rows[0] !== undefined) return result.rows[0];
  const row = (await deps.wallet.db.pool.query<MoneyRequestRow>('select * from money_requests where id = $1 and requester_id = $2', [requestId, customerId])).rows[0];
  if (row === undefined) throw new KobanError('money_request_not_found');
  throw new KobanError('money_request_not_open');
}

export async function listMoneyRequests(db: Queryable, customerId: string): Promise<{ mine: MoneyRequestRow[]; toPay: MoneyRequestRow[] }> {
  const mine = await db.query<MoneyRequestRow>('select * from money_requests where requester_id = $1 order by created_at desc limit $2', [customerId, LIST_MAX]);
  const toPay = await db.query<MoneyRequestRow>('select * from money_requests where payer_id = $1 order by created_at desc limit $2', [customerId, LIST_MAX]);
  return { mine: mine.rows, toPay: toPay.rows };
}

export interface SplitInput {
  readonly totalMinor: bigint;
  readonly message: string;
  readonly participants: readonly string[];
  readonly organiserShares: boolean;
}

export async function createSplit(deps: TransfersDeps, organiserId: string, input: SplitInput): Promise<{ splitId: string; requests: MoneyRequestRow[] }> {
  assertAmount(input.totalMinor, '/body/total');
  if (input.participants.length < 1 || input.participants.length > SPLIT_PARTICIPANTS_MAX) {
    throw new KobanError('validation_failed', { errors: [{ pointer: '/body/participants', message: `between 1 and ${SPLIT_PARTICIPANTS_MAX} people` }] });
  }
  const db = deps.wallet.db.pool;
  const payers: string[] = [];
  for (const [index, to] of input.participants.entries()) {
    const { customerId } = await resolveRecipient(db, to);
    if (customerId === organiserId || payers.includes(customerId)) {
      throw new KobanError('validation_failed', { errors: [{ pointer: `/body/participants/${index}`, message: 'each participant once, and not yourself' }] });
    }
    payers.push(customerId);
  }
  const shares = splitShares(input.totalMinor, payers.length, input.organiserShares);
  const organiser = await handleOf(db, organiserId);
  const now = deps.clock();
  return withTransaction(deps.wallet.db, async (client) => {
    const splitId = uuidv7();
    await client.query('insert into bill_splits (id, owner_id, total_minor, message, created_at) values ($1, $2, $3, $4, $5)', [splitId, organiserId, input.totalMinor, input.message, now]);
    const requests: MoneyRequestRow[] = [];
    for (const [index, payerId] of payers.entries()) {
      const share = shares[index];
      assert(share !== undefined, 'one share per participant');
      if (share === 0n) continue;
      const row = await insertRequest(client, organiserId, share, input.message, payerId, splitId, now);
      await notify(client, payerId, 'money_requested', share, organiser, row.id, { email: true });
      requests.push(row);
    }
    return { splitId, requests };
  });
}

export async function splitStatus(db: Queryable, organiserId: string, splitId: string): Promise<{ split: { id: string; total_minor: bigint; message: string; created_at: Date }; requests: MoneyRequestRow[] }> {
  const split = (await db.query<{ id: string; owner_id: string; total_minor: bigint; message: string; created_at: Date }>('select * from bill_splits where id = $1', [splitId])).rows[0];
  if (split === undefined || split.owner_id !== organiserId) throw new KobanError('bill_split_not_found');
  const requests = await db.query<MoneyRequestRow>('select * from money_requests where split_id = $1 order by created_at, id', [splitId]);
  return { split, requests: requests.rows };
}

/** Reminds every participant who has not paid (at most `REMINDERS_MAX` times each, an hour apart); answers how many. */
export async function remindSplit(deps: TransfersDeps, organiserId: string, splitId: string): Promise<number> {
  const { requests } = await splitStatus(deps.wallet.db.pool, organiserId, splitId);
  const now = deps.clock();
  const organiser = await handleOf(deps.wallet.db.pool, organiserId);
  return withTransaction(deps.wallet.db, async (client) => {
    let reminded = 0;
    for (const request of requests) {
      const updated = await client.query<MoneyRequestRow>(
        `update money_requests set reminders_sent = reminders_sent + 1, last_reminded_at = $2
         where id = $1 and status = 'open' and reminders_sent < $3 and (last_reminded_at is null or last_reminded_at <= $4) returning *`,
        [request.id, now, REMINDERS_MAX, new Date(now.getTime() - REMINDER_GAP_MS)]);
      const row = updated.rows[0];
      if (row === undefined || row.payer_id === null) continue;
      await notify(client, row.payer_id, 'money_request_reminder', row.amount_minor, organiser, row.id, { email: true });
      reminded++;
    }
    return reminded;
  });
}
