/**
 * Which balances a refund or a cancel credits (issue 19). A payment paid from more than one balance (its
 * stored `payment_debit_plans` legs) is returned to those same balances, never more to a balance than was
 * paid from it (over all of the payment's refunds and its cancel), so prepaid money (前払式支払手段) never
 * becomes funds-transfer money (資金移動業), which could then leave as cash.
 *
 * A partial refund returns the **funds-transfer part first**, then the prepaid part, then points spent on the
 * payment (as points): every order is legal (each balance gets back at most what it paid), and this one keeps
 * as much as possible of what the customer can still withdraw or send, and gives money before points. A payment paid from the wallet alone has no debit plan and no credit plan: its
 * refunds and cancel credit the wallet, as always.
 *
 * The plan is stored (`refund_credit_plans`) under the payment row's lock with the refund's reservation or
 * the cancel's decision, so what earlier refunds credited is read consistently and every path that runs the
 * legs later (the request, the repair sweeper) runs the same ones.
 */
import { assert } from '../platform/assert.ts';
import type { Queryable } from '../platform/db/database.ts';
import { derivedUuid } from '../platform/ids.ts';
import { pointsAccountId } from '../wallet/promo/relay.ts';

/** One balance a refund credits, how much, and the ledger transfer id. */
export interface Credit {
  readonly accountId: string;
  readonly amountMinor: bigint;
  readonly transferId: string;
}

interface StoredLeg { accountId: string; amountMinor: string; transferId: string }

/**
 * Pure: the credits of a refund of `amountMinor`, given what each account paid (`debits`) and what earlier
 * refunds of the payment credited it. Accounts not in `lastAccountIds` (the funds-transfer balance) come first,
 * then those in that order (the prepaid wallet, then points).
 */
export function planRefundCredits(
  debits: ReadonlyArray<{ accountId: string; amountMinor: bigint }>, alreadyCredited: ReadonlyMap<string, bigint>,
  amountMinor: bigint, lastAccountIds: readonly string[], firstTransferId: string,
): Credit[] {
  assert(amountMinor > 0n, 'a refund is positive');
  const rank = (accountId: string): number => lastAccountIds.indexOf(accountId);
  const ordered = [...debits].sort((a, b) => rank(a.accountId) - rank(b.accountId));
  const credits: Credit[] = [];
  let rest = amountMinor;
  for (const debit of ordered) {
    if (rest === 0n) break;
    const open = debit.amountMinor - (alreadyCredited.get(debit.accountId) ?? 0n);
    assert(open >= 0n, 'no balance was ever credited more than it paid');
    const take = open < rest ? open : rest;
    if (take === 0n) continue;
    const transferId = credits.length === 0 ? firstTransferId : derivedUuid('koban-refund-credit', firstTransferId, String(credits.length));
    credits.push({ accountId: debit.accountId, amountMinor: take, transferId });
    rest -= take;
  }
  assert(rest === 0n, 'a refund never exceeds what the balances paid and was not yet returned');
  return credits;
}

/**
 * Plans and stores the credits of a refund (or a cancel) under the payment row's lock, which the caller
 * holds in `client`'s transaction. Null when the payment was paid from the wallet alone (no debit plan).
 */
export async function storeRefundCredits(
  client: Queryable, payment: { id: string; paymentTransferId: string | null; walletAccountId: string | null; customerId: string | null },
  amountMinor: bigint, firstTransferId: string,
): Promise<Credit[] | null> {
  assert(payment.paymentTransferId !== null && payment.walletAccountId !== null && payment.customerId !== null, 'a paid payment');
  const plan = await client.query<{ debits: StoredLeg[] }>('select debits from payment_debit_plans where payment_transfer_id = $1', [payment.paymentTransferId]);
  const debits = plan.rows[0]?.debits;
  if (debits === undefined) return null;
  const credits = planRefundCredits(debits.map((d) => ({ accountId: d.accountId, amountMinor: BigInt(d.amountMinor) })),
    await creditedSoFar(client, payment.id), amountMinor, [payment.walletAccountId, pointsAccountId(payment.customerId)], firstTransferId);
  const json = JSON.stringify(credits.map((c) => ({ accountId: c.accountId, amountMinor: c.amountMinor.toString(), transferId: c.transferId })));
  await client.query('insert into refund_credit_plans (transfer_id, payment_id, credits) values ($1, $2, $3::jsonb)', [firstTransferId, payment.id, json]);
  return credits;
}

/**
 * What the payment's refunds credited each account, counting every refund that has not failed (one in
 * flight may still succeed). A failed refund returned nothing, so its share is open again.
 */
async function creditedSoFar(client: Queryable, paymentId: string): Promise<Map<string, bigint>> {
  const rows = await client.query<{ credits: StoredLeg[] }>(
    `select p.credits from refund_credit_plans p join refunds r on r.refund_transfer_id = p.transfer_id
     where p.payment_id = $1 and r.status <> 'REFUND_FAILED'`, [paymentId]);
  const credited = new Map<string, bigint>();
  for (const row of rows.rows) {
    for (const leg of row.credits) credited.set(leg.accountId, (credited.get(leg.accountId) ?? 0n) + BigInt(leg.amountMinor));
  }
  return credited;
}

/** The stored credits of a refund or cancel, or null (paid from the wallet alone: credit the wallet). */
export async function readRefundCredits(db: Queryable, firstTransferId: string): Promise<Credit[] | null> {
  const stored = await db.query<{ credits: StoredLeg[] }>('select credits from refund_credit_plans where transfer_id = $1', [firstTransferId]);
  const credits = stored.rows[0]?.credits;
  if (credits === undefined) return null;
  return credits.map((c) => ({ accountId: c.accountId, amountMinor: BigInt(c.amountMinor), transferId: c.transferId }));
}
