/**
 * The promotion relay (issue 19): turns the consequences the payment's own commit wrote (`promo_queue`,
 * migration 0361's triggers on `payments` and `refunds`) into points, exactly once.
 *
 * - A completed payment that matches an active campaign (merchant or category, accepted within its dates; the
 *   best rate wins, campaigns do not stack) earns ⌊amount × rate / 10000⌋ points, less what would pass the
 *   customer's cap in that campaign (granted less reversed), less what would pass the campaign's budget: the
 *   last grant takes exactly what is left, then grants are 0. The points move from the campaign's budget
 *   account (flag "debits must not exceed credits": the ledger refuses any overdraft whatever this code
 *   computed) to the customer's points account.
 * - A refund reverses the payment's points in proportion (cumulative: ⌊granted × refunded so far / amount⌋,
 *   so refunding everything reverses everything), a cancel reverses the rest. Points the customer already
 *   spent are not taken from another balance: the reversal takes what the points account holds (never below
 *   zero) and records the rest as `unrecovered_minor` on the grant, for operators to see.
 *
 * Payments never wait for this: they write a queue row in their own commit and the budget account is touched
 * only here, one relay at a time (a transaction-level advisory lock), in batches: one ledger write
 * (`createTransfersWithin`) per batch, in the same transaction that deletes the queue rows and writes the
 * grant rows — so a crash repeats the whole batch or none of it, and the transfer ids (derived from the
 * payment and the refund) could not move money twice anyway.
 */
import type { Ledger } from '../../ledger/ledger.ts';
import { ownedAccountId } from '../../ledger/owned-accounts.ts';
import { AccountCodes, AccountFlags, availableBalance, isSuccess, Ledgers, TransferCodes, type TransferRequest } from '../../ledger/types.ts';
import { assert } from '../../platform/assert.ts';
import { withTransaction, type Database, type Queryable } from '../../platform/db/database.ts';
import { derivedUuid } from '../../platform/ids.ts';
import { budgetAccountId, CAMPAIGN_COLUMNS, toCampaign, type Campaign } from './campaigns.ts';

export const RELAY_BATCH_MAX = 256;
/** One relay (and one expiry run) at a time across every node: the budget and the caps are decided in memory. */
export const PROMO_LOCK_KEY = 7_012_345_019n;
const DAY_MS = 86_400_000;

export function pointsAccountId(customerId: string): string {
  return ownedAccountId(AccountCodes.customerPoints, customerId);
}

export async function ensurePointsAccounts(ledger: Ledger, customerIds: readonly string[]): Promise<void> {
  if (customerIds.length === 0) return;
  await ledger.createAccounts(customerIds.map((id) => ({ id: pointsAccountId(id), ledger: Ledgers.JPY, code: AccountCodes.customerPoints,
    flags: AccountFlags.debitsMustNotExceedCredits, reference: `points:${id}` })));
}

export interface PromoDeps {
  readonly db: Database;
  readonly ledger: Ledger;
  readonly now: () => Date;
}

interface QueueItem { id: string; kind: 'payment' | 'refund' | 'cancel'; payment_id: string; ref_id: string }
interface PaymentFacts { id: string; customer_id: string; merchant_id: string; amount_minor: string; accepted_at: Date | null; category_code: string; cancel_amount_minor: string | null }
interface GrantState { paymentId: string; campaignId: string; customerId: string; paymentAmountMinor: bigint; grantedMinor: bigint; reversedMinor: bigint; unrecoveredMinor: bigint; refundedMinor: bigint; targetsMinor: bigint; isNew: boolean }

/** What one batch decided, written together with its ledger transfers. */
class Batch {
  readonly transfers: TransferRequest[] = [];
  readonly grants = new Map<string, GrantState>();
  readonly reversals: Array<{ refId: string; paymentId: string; refundAmountMinor: bigint; targetMinor: bigint; reversedMinor: bigint; transferId: string | null }> = [];
  readonly newGrants: Array<{ grant: GrantState; wantedMinor: bigint; transferId: string; expiresAt: Date }> = [];
  readonly budgets = new Map<string, bigint>();
  readonly points = new Map<string, bigint>();
  /** Net granted per customer and campaign. */
  readonly totals = new Map<string, bigint>();
  readonly campaigns: readonly Campaign[];
  readonly facts: ReadonlyMap<string, PaymentFacts>;
  readonly refundAmounts: ReadonlyMap<string, bigint>;
  constructor(campaigns: readonly Campaign[], facts: ReadonlyMap<string, PaymentFacts>, refundAmounts: ReadonlyMap<string, bigint>) {
    this.campaigns = campaigns;
    this.facts = facts;
    this.refundAmounts = refundAmounts;
  }
}

/** Relays up to `limit` queued consequences; the number relayed (0: nothing queued, or another relay holds the lock). */
export async function relayPromotions(deps: PromoDeps, limit = RELAY_BATCH_MAX): Promise<number> {
  assert(limit > 0 && limit <= RELAY_BATCH_MAX, 'a bounded batch');
  // The points accounts of the customers about to earn exist before the transaction (accounts are created on the pool).
  const peek = await deps.db.pool.query<{ max_id: string | null; customers: string[] | null }>(
    `select max(q.id)::text as max_id, array_agg(distinct p.customer_id) filter (where p.customer_id is not null and m.test_twin_of is null) as customers
     from (select id, payment_id from promo_queue order by id limit $1) q left join payments p on p.id = q.payment_id left join merchants m on m.id = p.merchant_id`, [limit]);
  const maxId = peek.rows[0]?.max_id ?? null;
  if (maxId === null) return 0;
  await ensurePointsAccounts(deps.ledger, peek.rows[0]?.customers ?? []);
  return withTransaction(deps.db, async (client) => {
    const locked = await client.query<{ ok: boolean }>('select pg_try_advisory_xact_lock($1) as ok', [PROMO_LOCK_KEY]);
    if (locked.rows[0]?.ok !== true) return 0;
    const items = (await client.query<QueueItem>('select id::text, kind, payment_id, ref_id from promo_queue where id <= $1 order by id limit $2', [maxId, limit])).rows;
    if (items.length === 0) return 0;
    const batch = await loadBatch(deps, client, items);
    for (const item of items) decide(batch, item);
    await writeBatch(deps, client, batch, items);
    return items.length;
  });
}

async function loadBatch(deps: PromoDeps, client: Queryable, items: readonly QueueItem[]): Promise<Batch> {
  const paymentIds = [...new Set(items.map((i) => i.payment_id))];
  // A test twin's payments (test money, src/merchants/test-twin.ts) earn nothing: campaign points are real money.
  const facts = await client.query<PaymentFacts>(
    `select p.id, p.customer_id, p.merchant_id, p.amount_minor::text, p.accepted_at, m.category_code, p.cancel_amount_minor::text
     from payments p join merchants m on m.id = p.merchant_id where p.id = any($1::uuid[]) and p.customer_id is not null and m.test_twin_of is null`, [paymentIds]);
  const refunds = await client.query<{ id: string; amount_minor: string }>('select id, amount_minor::text from refunds where id = any($1::uuid[])',
    [items.filter((i) => i.kind === 'refund').map((i) => i.ref_id)]);
  const campaigns = (await client.query<Parameters<typeof toCampaign>[0]>(`select ${CAMPAIGN_COLUMNS} from promo_campaigns where status = 'active' order by rate_bps desc, id`)).rows.map(toCampaign);
  const batch = new Batch(campaigns, new Map(facts.rows.map((f) => [f.id, f])), new Map(refunds.rows.map((r) => [r.id, BigInt(r.amount_minor)])));
  const customers = [...new Set(facts.rows.map((f) => f.customer_id))];
  await loadGrants(client, batch, paymentIds, customers);
  const accounts = await deps.ledger.getAccounts([...campaigns.map((c) => c.budgetAccountId), ...customers.map(pointsAccountId)], client);
  for (const account of accounts) {
    if (account.code === AccountCodes.customerPoints) batch.points.set(account.id, availableBalance(account));
    else batch.budgets.set(account.id, availableBalance(account));
  }
  return batch;
}

async function loadGrants(client: Queryable, batch: Batch, paymentIds: readonly string[], customers: readonly string[]): Promise<void> {
  const grants = await client.query<{ payment_id: string; campaign_id: string; customer_id: string; payment_amount_minor: string; granted_minor: string; reversed_minor: string; unrecovered_minor: string; refunded: string; targets: string }>(
    `select g.payment_id, g.campaign_id, g.customer_id, g.payment_amount_minor::text, g.granted_minor::text, g.reversed_minor::text, g.unrecovered_minor::text,
       coalesce(sum(r.refund_amount_minor), 0)::text as refunded, coalesce(sum(r.target_minor), 0)::text as targets
     from promo_grants g left join promo_reversals r on r.payment_id = g.payment_id where g.payment_id = any($1::uuid[]) group by g.payment_id`, [paymentIds]);
  for (const g of grants.rows) {
    batch.grants.set(g.payment_id, { paymentId: g.payment_id, campaignId: g.campaign_id, customerId: g.customer_id, paymentAmountMinor: BigInt(g.payment_amount_minor),
      grantedMinor: BigInt(g.granted_minor), reversedMinor: BigInt(g.reversed_minor), unrecoveredMinor: BigInt(g.unrecovered_minor), refundedMinor: BigInt(g.refunded), targetsMinor: BigInt(g.targets), isNew: false });
  }
  const totals = await client.query<{ customer_id: string; campaign_id: string; net: string }>(
    `select customer_id, campaign_id, sum(granted_minor - reversed_minor)::text as net from promo_grants where customer_id = any($1::uuid[]) group by customer_id, campaign_id`, [customers]);
  for (const t of totals.rows) batch.totals.set(`${t.customer_id}/${t.campaign_id}`, BigInt(t.net));
}

function decide(batch: Batch, item: QueueItem): void {
  const facts = batch.facts.get(item.payment_id);
  if (facts === undefined) return; // not a customer's payment: nothing to earn or reverse
  if (item.kind === 'payment') decideGrant(batch, facts);
  else decideReversal(batch, item, facts);
}

function decideGrant(batch: Batch, facts: PaymentFacts): void {
  if (facts.accepted_at === null || batch.grants.has(facts.id)) return;
  const at = facts.accepted_at.getTime();
  const campaign = batch.campaigns.find((c) => (c.merchantId === facts.merchant_id || c.categoryCode === facts.category_code) && c.startsAt.getTime() <= at && at < c.endsAt.getTime());
  if (campaign === undefined) return;
  const amount = BigInt(facts.amount_minor);
  const wanted = (amount * BigInt(campaign.rateBps)) / 10_000n;
  if (wanted === 0n) return;
  const totalKey = `${facts.customer_id}/${campaign.id}`;
  const capLeft = campaign.capPerCustomerMinor - (batch.totals.get(totalKey) ?? 0n);
  const budgetLeft = batch.budgets.get(campaign.budgetAccountId) ?? 0n;
  const granted = min(wanted, max(capLeft, 0n), max(budgetLeft, 0n));
  const grant: GrantState = { paymentId: facts.id, campaignId: campaign.id, customerId: facts.customer_id, paymentAmountMinor: amount, grantedMinor: granted,
    reversedMinor: 0n, unrecoveredMinor: 0n, refundedMinor: 0n, targetsMinor: 0n, isNew: true };
  const transferId = derivedUuid('koban-promo-grant', facts.id);
  batch.grants.set(facts.id, grant);
  batch.newGrants.push({ grant, wantedMinor: wanted, transferId, expiresAt: new Date(at + campaign.pointsValidDays * DAY_MS) });
  if (granted === 0n) return;
  const points = pointsAccountId(facts.customer_id);
  batch.budgets.set(campaign.budgetAccountId, budgetLeft - granted);
  batch.points.set(points, (batch.points.get(points) ?? 0n) + granted);
  batch.totals.set(totalKey, (batch.totals.get(totalKey) ?? 0n) + granted);
  batch.transfers.push(transfer(transferId, campaign.budgetAccountId, points, granted, `cashback:${facts.id}`));
}

function decideReversal(batch: Batch, item: QueueItem, facts: PaymentFacts): void {
  const grant = batch.grants.get(facts.id);
  if (grant === undefined || grant.grantedMinor === 0n) return;
  const refundAmount = item.kind === 'refund' ? batch.refundAmounts.get(item.ref_id) : (facts.cancel_amount_minor === null ? undefined : BigInt(facts.cancel_amount_minor));
  assert(refundAmount !== undefined && refundAmount > 0n, 'a refund or cancel returned an amount');
  const refunded = grant.refundedMinor + refundAmount;
  assert(refunded <= grant.paymentAmountMinor, 'never more refunded than paid');
  // Cumulative, so the shares add up to the whole grant when the whole payment comes back; a cancel takes the rest.
  const target = (item.kind === 'cancel' ? grant.grantedMinor : (grant.grantedMinor * refunded) / grant.paymentAmountMinor) - grant.targetsMinor;
  assert(target >= 0n, 'a reversal never gives points');
  const points = pointsAccountId(grant.customerId);
  const take = min(target, max(batch.points.get(points) ?? 0n, 0n));
  const transferId = take > 0n ? derivedUuid('koban-promo-reversal', item.ref_id) : null;
  if (transferId !== null) {
    // Back to the campaign's budget (also of an ended campaign: it is where the points came from).
    batch.transfers.push(transfer(transferId, points, budgetAccountId(grant.campaignId), take, `cashback-reversal:${item.ref_id}`));
    batch.points.set(points, (batch.points.get(points) ?? 0n) - take);
    const key = `${grant.customerId}/${grant.campaignId}`;
    batch.totals.set(key, (batch.totals.get(key) ?? 0n) - take);
  }
  grant.refundedMinor = refunded;
  grant.targetsMinor += target;
  grant.reversedMinor += take;
  grant.unrecoveredMinor += target - take;
  batch.reversals.push({ refId: item.ref_id, paymentId: facts.id, refundAmountMinor: refundAmount, targetMinor: target, reversedMinor: take, transferId });
}

async function writeBatch(deps: PromoDeps, client: Parameters<Parameters<typeof withTransaction>[1]>[0], batch: Batch, items: readonly QueueItem[]): Promise<void> {
  if (batch.transfers.length > 0) {
    const results = await deps.ledger.createTransfersWithin(client, batch.transfers.map((t) => [t]));
    const refused = results.flat().filter((r) => !isSuccess(r.result));
    // A refusal means a balance moved under us (points spent by a payment between the read and the lock):
    // the whole batch rolls back and the next run decides it again from fresh balances.
    if (refused.length > 0) throw new Error(`promotion relay: the ledger refused ${refused.length} transfer(s) (${refused[0]?.result}); the batch is retried`);
  }
  for (const g of batch.newGrants) {
    await client.query(
      `insert into promo_grants (payment_id, campaign_id, customer_id, payment_amount_minor, wanted_minor, granted_minor, transfer_id, expires_at)
       values ($1, $2, $3, $4, $5, $6, $7, $8)`,
      [g.grant.paymentId, g.grant.campaignId, g.grant.customerId, g.grant.paymentAmountMinor, g.wantedMinor, g.grant.grantedMinor, g.transferId, g.expiresAt]);
  }
  for (const r of batch.reversals) {
    await client.query('insert into promo_reversals (ref_id, payment_id, refund_amount_minor, target_minor, reversed_minor, transfer_id) values ($1, $2, $3, $4, $5, $6)',
      [r.refId, r.paymentId, r.refundAmountMinor, r.targetMinor, r.reversedMinor, r.transferId]);
    const grant = batch.grants.get(r.paymentId);
    assert(grant !== undefined, 'a reversal has its grant');
    await client.query('update promo_grants set reversed_minor = $2, unrecovered_minor = $3 where payment_id = $1', [r.paymentId, grant.reversedMinor, grant.unrecoveredMinor]);
  }
  await client.query('delete from promo_queue where id = any($1::bigint[])', [items.map((i) => i.id)]);
}

function transfer(id: string, debitAccountId: string, creditAccountId: string, amount: bigint, reference: string): TransferRequest {
  return { id, debitAccountId, creditAccountId, amount, pendingId: null, ledger: Ledgers.JPY, code: TransferCodes.cashback, flags: 0, timeoutSeconds: 0, reference };
}

function min(...values: bigint[]): bigint {
  return values.reduce((a, b) => (b < a ? b : a));
}

function max(a: bigint, b: bigint): bigint {
  return a > b ? a : b;
}
