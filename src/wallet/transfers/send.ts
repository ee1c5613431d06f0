/**
 * Sending money between customers (issue 19). Only the funds-transfer balance may be sent
 * (`mayLeaveAs('funds_transfer', 'send')`): the sender's code-110 account is the only account a send debits.
 *
 *   send:    sender 110 → transfers in flight (700), with the row, under the sender's lock, in one transaction
 *   accept:  700 → recipient 110 (the recipient must be verified)      — status completed
 *   decline: 700 → sender 110                                          — status declined
 *   return:  700 → sender 110, once the claim deadline has passed      — status returned
 *
 * Every leg's id is derived from the transfer's id and the row's status changes in the same transaction as
 * its leg, under the row's lock: a transfer ends exactly once, however many requests or job runs race it.
 * Auto-accept (kept simple): a send is accepted at once when the recipient is verified and an earlier send
 * from the same sender to them was accepted, or when it pays the recipient's own money request.
 */
import type pg from 'pg';
import { PLATFORM_ACCOUNTS } from '../../ledger/platform-accounts.ts';
import { TransferCodes } from '../../ledger/types.ts';
import type { RequestOrigin } from '../../platform/audit/security-log.ts';
import { assert } from '../../platform/assert.ts';
import type { Queryable } from '../../platform/db/database.ts';
import { KobanError } from '../../platform/errors.ts';
import { uuidv7 } from '../../platform/ids.ts';
import { FUNDS_TRANSFER_PER_TRANSFER_MAX_MINOR, fundsTransferAccountId, mayLeaveAs } from '../balance-kinds.ts';
import { isCustomerVerified, openFundsTransferAccount } from '../balances.ts';
import { lockCustomerWallet } from '../customer-lock.ts';
import type { WalletSession } from '../identity-port.ts';
import { refuseUnlessAllowed } from '../risk-port.ts';
import { moneyLimitsFor } from '../tiers.ts';
import { inMoneyTransaction, leg, legId as legIdOf, moveWithin, requestHash, type TransfersDeps } from './common.ts';
import { handleOf, resolveRecipient } from './handles.ts';
import { refuseOverLimit, sendUsage } from './money-limits.ts';
import { notify } from './notices.ts';
import { claimRequestForPayment } from './request-claim.ts';

export type P2pStatus = 'pending' | 'completed' | 'declined' | 'returned';

export interface P2pTransferRow {
  id: string;
  sender_id: string;
  recipient_id: string;
  amount_minor: bigint;
  message: string;
  status: P2pStatus;
  auto_accepted: boolean;
  request_id: string | null;
  idempotency_key: string;
  request_hash: Buffer;
  claim_deadline: Date;
  created_at: Date;
  finished_at: Date | null;
}

export interface SendRequest {
  readonly idempotencyKey: string;
  /** A phone number or a Koban ID. */
  readonly to: string;
  readonly amountMinor: bigint;
  readonly message: string;
  readonly grant: string | undefined;
  readonly pin: string | undefined;
  /** The money request this send pays (requests.ts sets it). */
  readonly requestId?: string | null;
}

export const TRANSFERS_LIST_MAX = 50;
const RETURN_BATCH_MAX = 100;
/** Top-ups from a card registered within a day, this recent, are reported to the risk engine with a send. */
const NEW_CARD_TOP_UP_WINDOW_MS = 6 * 3_600_000;

export async function loadTransfer(db: Queryable, id: string, forUpdate = false): Promise<P2pTransferRow | null> {
  const result = await db.query<P2pTransferRow>(`select * from p2p_transfers where id = $1${forUpdate ? ' for update' : ''}`, [id]);
  return result.rows[0] ?? null;
}

async function replayed(db: Queryable, senderId: string, key: string, hash: Buffer): Promise<P2pTransferRow | null> {
  const result = await db.query<P2pTransferRow>('select * from p2p_transfers where sender_id = $1 and idempotency_key = $2', [senderId, key]);
  const row = result.rows[0];
  if (row === undefined) return null;
  if (!row.request_hash.equals(hash)) throw new KobanError('idempotency_key_reused');
  return row;
}

/** The facts the mule rules need: is this the sender's first send to them, and did fresh money come from a new card. */
async function riskFacts(db: Queryable, senderId: string, recipientId: string, now: Date): Promise<{ first: boolean; newCardTopUpMinor: bigint }> {
  const earlier = await db.query('select 1 from p2p_transfers where sender_id = $1 and recipient_id = $2 limit 1', [senderId, recipientId]);
  const topUps = await db.query<{ sum: bigint }>(
    `select coalesce(sum(t.amount_minor), 0)::bigint as sum from top_ups t join funding_sources f on f.id = t.funding_source_id
     where t.customer_id = $1 and t.status = 'completed' and f.kind = 'card' and f.created_at > $2 and t.created_at > $3`,
    [senderId, new Date(now.getTime() - 86_400_000), new Date(now.getTime() - NEW_CARD_TOP_UP_WINDOW_MS)]);
  return { first: earlier.rowCount === 0, newCardTopUpMinor: topUps.rows[0]?.sum ?? 0n };
}

async function shouldAutoAccept(db: Queryable, senderId: string, recipientId: string, paysRequest: boolean): Promise<boolean> {
  if (!(await isCustomerVerified(db, recipientId))) return false;
  if (paysRequest) return true;
  const before = await db.query(`select 1 from p2p_transfers where sender_id = $1 and recipient_id = $2 and status = 'completed' limit 1`, [senderId, recipientId]);
  return before.rowCount === 1;
}

/** Checks done before anything is consumed: who, how much, which balance. */
async function preflight(deps: TransfersDeps, senderId: string, request: SendRequest): Promise<{ recipientId: string; handle: string }> {
  if (request.amountMinor > FUNDS_TRANSFER_PER_TRANSFER_MAX_MINOR) {
    throw new KobanError('send_limit_exceeded', { detail: `at most ${FUNDS_TRANSFER_PER_TRANSFER_MAX_MINOR} per transfer`, extensions: { limit: 'per_transfer', limitAmount: FUNDS_TRANSFER_PER_TRANSFER_MAX_MINOR.toString(), available: FUNDS_TRANSFER_PER_TRANSFER_MAX_MINOR.toString() } });
  }
  // Only the funds-transfer balance may be sent; a customer without one (not verified) has nothing to send.
  assert(mayLeaveAs('funds_transfer', 'send') && !mayLeaveAs('prepaid', 'send'), 'only funds-transfer money is sent');
  if (!(await isCustomerVerified(deps.wallet.db.pool, senderId))) throw new KobanError('funds_transfer_not_verified');
  const recipient = await resolveRecipient(deps.wallet.db.pool, request.to);
  if (recipient.customerId === senderId) throw new KobanError('recipient_is_sender');
  return { recipientId: recipient.customerId, handle: recipient.handle };
}

export async function sendMoney(deps: TransfersDeps, session: WalletSession, request: SendRequest, origin: RequestOrigin | null): Promise<{ transfer: P2pTransferRow; replayed: boolean }> {
  const senderId = session.customerId;
  const db = deps.wallet.db.pool;
  const { recipientId, handle } = await preflight(deps, senderId, request);
  const hash = requestHash(['send', recipientId, request.amountMinor, request.message, request.requestId ?? null]);
  const earlier = await replayed(db, senderId, request.idempotencyKey, hash);
  if (earlier !== null) return { transfer: earlier, replayed: true };
  // After the replay check: a retry of a send made before the switch went off learns its outcome.
  deps.wallet.switches?.assertOn('transfers');
  await deps.identity.authorizeSend(session, { grant: request.grant, pin: request.pin, amountMinor: request.amountMinor, recipient: handle }, origin);
  const now = deps.clock();
  const facts = await riskFacts(db, senderId, recipientId, now);
  await refuseUnlessAllowed(deps.wallet.risk, {
    kind: 'send', accountId: senderId, deviceId: session.deviceKey ?? session.deviceId, ip: origin?.ip ?? null, amountMinor: request.amountMinor,
    counterpartyId: recipientId, firstToCounterparty: facts.first, newCardTopUpMinor: facts.newCardTopUpMinor,
  });
  const autoAccept = await shouldAutoAccept(db, senderId, recipientId, request.requestId !== undefined && request.requestId !== null);
  if (autoAccept) await openFundsTransferAccount(deps.wallet.ledger, recipientId);
  const senderHandle = await handleOf(db, senderId);
  return inMoneyTransaction(deps, async (client) => {
    await lockCustomerWallet(client, senderId);
    const raced = await replayed(client, senderId, request.idempotencyKey, hash);
    if (raced !== null) return { transfer: raced, replayed: true };
    // preflight established the sender is verified: only that tier holds money that may be sent.
    refuseOverLimit(moneyLimitsFor(deps.wallet.config, 'verified'), 'send', await sendUsage(client, senderId, now), request.amountMinor);
    const id = uuidv7();
    // A send that pays a request claims it first (locked): a second payment hears the request is paid.
    if (request.requestId !== undefined && request.requestId !== null) await claimRequestForPayment(client, request.requestId, senderId, id, request.amountMinor);
    const inserted = await client.query<P2pTransferRow>(
      `insert into p2p_transfers (id, sender_id, recipient_id, amount_minor, message, status, auto_accepted, request_id, idempotency_key, request_hash, claim_deadline, created_at, finished_at)
       values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) returning *`,
      [id, senderId, recipientId, request.amountMinor, request.message, autoAccept ? 'completed' : 'pending', autoAccept, request.requestId ?? null,
        request.idempotencyKey, hash, new Date(now.getTime() + deps.wallet.config.transfers.claimWindowMs), now, autoAccept ? now : null]);
    const row = inserted.rows[0];
    assert(row !== undefined, 'the transfer row was written');
    const legs = [leg(legIdOf('send', id), fundsTransferAccountId(senderId), PLATFORM_ACCOUNTS.transfersInFlight, request.amountMinor, TransferCodes.p2pSend, `p2p:${id}`)];
    if (autoAccept) legs.push(leg(legIdOf('accept', id), PLATFORM_ACCOUNTS.transfersInFlight, fundsTransferAccountId(recipientId), request.amountMinor, TransferCodes.p2pAccept, `p2p:${id}`));
    await moveWithin(deps, client, legs);
    await notify(client, senderId, 'sent', request.amountMinor, handle, id);
    await notify(client, recipientId, autoAccept ? 'received' : 'incoming', request.amountMinor, senderHandle, id);
    return { transfer: row, replayed: false };
  });
}

type Ending = 'completed' | 'declined' | 'returned';

/**
 * Ends a pending transfer under its row lock, with its leg in the same transaction. Answers the row as it
 * is when it had already ended the same way (a retry), `transfer_not_pending` when it ended otherwise.
 */
async function endTransfer(deps: TransfersDeps, transferId: string, ending: Ending, allowed: (row: P2pTransferRow, client: pg.PoolClient) => Promise<void>): Promise<{ row: P2pTransferRow; moved: boolean }> {
  if (ending === 'completed') {
    // The recipient's account exists from their verification on; opened again (idempotently) only for a verified one.
    const row = await loadTransfer(deps.wallet.db.pool, transferId);
    if (row !== null && await isCustomerVerified(deps.wallet.db.pool, row.recipient_id)) await openFundsTransferAccount(deps.wallet.ledger, row.recipient_id);
  }
  return inMoneyTransaction(deps, async (client) => {
    const row = await loadTransfer(client, transferId, true);
    if (row === null) throw new KobanError('transfer_not_found');
    await allowed(row, client);
    if (row.status === ending) return { row, moved: false };
    if (row.status !== 'pending') throw new KobanError('transfer_not_pending');
    const toRecipient = ending === 'completed';
    const credit = fundsTransferAccountId(toRecipient ? row.recipient_id : row.sender_id);
    await moveWithin(deps, client, [leg(legIdOf(toRecipient ? 'accept' : 'return', row.id), PLATFORM_ACCOUNTS.transfersInFlight, credit, row.amount_minor,
      toRecipient ? TransferCodes.p2pAccept : TransferCodes.p2pReturn, `p2p:${row.id}`)]);
    const updated = await client.query<P2pTransferRow>(`update p2p_transfers set status = $2, finished_at = $3 where id = $1 and status = 'pending' returning *`, [row.id, ending, deps.clock()]);
    const done = updated.rows[0];
    assert(done !== undefined, 'a locked pending transfer is ended once');
    // A send that paid a money request and came back leaves the request open again.
    if (!toRecipient && row.request_id !== null) {
      await client.query(`update money_requests set status = 'open', paid_transfer_id = null where id = $1 and paid_transfer_id = $2`, [row.request_id, row.id]);
    }
    const senderHandle = await handleOf(client, row.sender_id);
    const recipientHandle = await handleOf(client, row.recipient_id);
    if (toRecipient) {
      await notify(client, row.recipient_id, 'received', row.amount_minor, senderHandle, row.id);
      await notify(client, row.sender_id, 'accepted', row.amount_minor, recipientHandle, row.id);
    } else {
      await notify(client, row.sender_id, ending === 'declined' ? 'declined' : 'returned', row.amount_minor, recipientHandle, row.id);
    }
    return { row: done, moved: true };
  });
}

async function asRecipient(row: P2pTransferRow, customerId: string): Promise<void> {
  // Someone else's transfer is answered as unknown: ids are not a way to learn about other people's money.
  if (row.recipient_id !== customerId) throw new KobanError('transfer_not_found');
}

export async function acceptTransfer(deps: TransfersDeps, customerId: string, transferId: string): Promise<P2pTransferRow> {
  return (await endTransfer(deps, transferId, 'completed', async (row, client) => {
    await asRecipient(row, customerId);
    if (row.status === 'pending' && !(await isCustomerVerified(client, customerId))) throw new KobanError('recipient_not_verified');
  })).row;
}

export async function declineTransfer(deps: TransfersDeps, customerId: string, transferId: string): Promise<P2pTransferRow> {
  return (await endTransfer(deps, transferId, 'declined', (row) => asRecipient(row, customerId))).row;
}

/**
 * Returns every pending transfer whose claim deadline has passed (the leased job; safe to run twice or on
 * two nodes at once: each transfer is ended under its row lock, and a transfer already ended is left alone).
 */
export async function returnDueTransfers(deps: TransfersDeps): Promise<number> {
  const now = deps.clock();
  const due = await deps.wallet.db.pool.query<{ id: string }>(
    `select id from p2p_transfers where status = 'pending' and claim_deadline <= $1 order by claim_deadline limit $2`, [now, RETURN_BATCH_MAX]);
  let returned = 0;
  for (const { id } of due.rows) {
    const ended = await endTransfer(deps, id, 'returned', async (current) => {
      if (current.status === 'pending' && current.claim_deadline.getTime() > now.getTime()) throw new KobanError('transfer_not_pending');
    }).catch((error: unknown) => {
      // Accepted or declined between the scan and the lock: nothing to return.
      if (error instanceof KobanError && error.code === 'transfer_not_pending') return null;
      throw error;
    });
    if (ended?.moved === true) returned++;
  }
  return returned;
}

export async function listTransfers(db: Queryable, customerId: string): Promise<P2pTransferRow[]> {
  const result = await db.query<P2pTransferRow>(
    'select * from p2p_transfers where sender_id = $1 or recipient_id = $1 order by created_at desc limit $2', [customerId, TRANSFERS_LIST_MAX]);
  return result.rows;
}

export async function transferView(db: Queryable, row: P2pTransferRow, viewerId: string) {
  const outgoing = row.sender_id === viewerId;
  return {
    transferId: row.id, direction: outgoing ? 'sent' as const : 'received' as const,
    counterparty: await handleOf(db, outgoing ? row.recipient_id : row.sender_id),
    amount: row.amount_minor.toString(), message: row.message, status: row.status, autoAccepted: row.auto_accepted, requestId: row.request_id,
    claimDeadline: row.claim_deadline.toISOString(), createdAt: row.created_at.toISOString(), finishedAt: row.finished_at?.toISOString() ?? null,
  };
}
