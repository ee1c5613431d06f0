/**
 * Points expire (issue 19). Each grant carries `expires_at` (accepted at + the campaign's `points_valid_days`).
 * Points are fungible in the customer's points account, and spending, reversals and expiry take the oldest
 * points first, so after a grant's expiry the customer may keep at most the points of the grants still valid:
 * `expire = balance − Σ(granted − reversed of grants not yet expired)`, when positive.
 *
 * Expired points go to the platform's promotion account (code 500, the account that funds every campaign):
 * breakage is recognised there, not returned to a campaign's budget (a campaign may have ended long before).
 * A leased job runs it (`wallet.points-expiry`), under the same advisory lock as the relay, in one transaction
 * per batch of customers that also marks their expired grants done: each grant's expiry is applied once.
 * Points that come back later (a refund of a payment paid with points) after all their grants expired stay
 * until the customer's next grant expires (a known limit).
 */
import { PLATFORM_ACCOUNTS } from '../../ledger/platform-accounts.ts';
import { availableBalance, isSuccess, Ledgers, TransferCodes } from '../../ledger/types.ts';
import { assert } from '../../platform/assert.ts';
import { withTransaction } from '../../platform/db/database.ts';
import { uuidv7 } from '../../platform/ids.ts';
import { pointsAccountId, PROMO_LOCK_KEY, type PromoDeps } from './relay.ts';

export const EXPIRY_CUSTOMERS_PER_RUN_MAX = 200;

/** Expires what is due at the injected clock's now; the points expired in this run. */
export async function expirePoints(deps: PromoDeps, limit = EXPIRY_CUSTOMERS_PER_RUN_MAX): Promise<bigint> {
  assert(limit > 0 && limit <= EXPIRY_CUSTOMERS_PER_RUN_MAX, 'a bounded run');
  const now = deps.now();
  return withTransaction(deps.db, async (client) => {
    const locked = await client.query<{ ok: boolean }>('select pg_try_advisory_xact_lock($1) as ok', [PROMO_LOCK_KEY]);
    if (locked.rows[0]?.ok !== true) return 0n;
    const due = await client.query<{ customer_id: string; live: string }>(
      `select d.customer_id, (select coalesce(sum(granted_minor - reversed_minor), 0)::text from promo_grants l where l.customer_id = d.customer_id and l.expires_at > $1) as live
       from (select distinct customer_id from promo_grants where not expiry_done and expires_at <= $1 limit $2) d`, [now, limit]);
    if (due.rows.length === 0) return 0n;
    const accounts = new Map((await deps.ledger.getAccounts(due.rows.map((r) => pointsAccountId(r.customer_id)), client)).map((a) => [a.id, a]));
    const expiries: Array<{ customerId: string; amountMinor: bigint; transferId: string }> = [];
    for (const row of due.rows) {
      const account = accounts.get(pointsAccountId(row.customer_id));
      assert(account !== undefined, 'a customer with grants has a points account');
      const excess = availableBalance(account) - BigInt(row.live);
      if (excess > 0n) expiries.push({ customerId: row.customer_id, amountMinor: excess, transferId: uuidv7() });
    }
    if (expiries.length > 0) {
      const results = await deps.ledger.createTransfersWithin(client, expiries.map((e) => [{ id: e.transferId, debitAccountId: pointsAccountId(e.customerId),
        creditAccountId: PLATFORM_ACCOUNTS.promotionBudget, amount: e.amountMinor, pendingId: null, ledger: Ledgers.JPY, code: TransferCodes.cashback, flags: 0,
        timeoutSeconds: 0, reference: 'points expiry' }]));
      const refused = results.flat().find((r) => !isSuccess(r.result));
      if (refused !== undefined) throw new Error(`points expiry: the ledger refused a transfer (${refused.result}); the run is retried`);
      for (const e of expiries) {
        await client.query('insert into promo_expiries (transfer_id, customer_id, amount_minor, expired_at) values ($1, $2, $3, $4)', [e.transferId, e.customerId, e.amountMinor, now]);
      }
    }
    await client.query('update promo_grants set expiry_done = true where not expiry_done and expires_at <= $1 and customer_id = any($2::uuid[])', [now, due.rows.map((r) => r.customer_id)]);
    return expiries.reduce((sum, e) => sum + e.amountMinor, 0n);
  });
}
