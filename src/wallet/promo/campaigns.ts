/**
 * Campaigns (issue 19): an operator defines what payments earn points (a merchant or a merchant category, a
 * rate in basis points, a cap per customer, a total budget, start and end), and funds the campaign's own budget
 * account (code 500, flag "debits must not exceed credits") from the platform's promotion account by one
 * ledger transfer. Grants are taken from that account only, so they stop exactly at the budget.
 */
import { ownedAccountId } from '../../ledger/owned-accounts.ts';
import { PLATFORM_ACCOUNTS } from '../../ledger/platform-accounts.ts';
import { requireTransferCreated, type Ledger } from '../../ledger/ledger.ts';
import { AccountCodes, AccountFlags, availableBalance, Ledgers, TransferCodes } from '../../ledger/types.ts';
import { assert } from '../../platform/assert.ts';
import type { Database, Queryable } from '../../platform/db/database.ts';
import { KobanError } from '../../platform/errors.ts';
import { decodeCursor, pageLimit, pageAtSql, pageOf } from '../../platform/cursor.ts';
import { derivedUuid, isUuid, uuidv7 } from '../../platform/ids.ts';

export const POINTS_VALID_DAYS_DEFAULT = 180;
export const CAMPAIGNS_LIST_MAX = 200;

export interface CampaignDefinition {
  readonly name: string;
  readonly merchantId: string | null;
  readonly categoryCode: string | null;
  readonly rateBps: number;
  readonly capPerCustomerMinor: bigint;
  readonly budgetMinor: bigint;
  readonly startsAt: Date;
  readonly endsAt: Date;
  readonly pointsValidDays: number;
}

export interface Campaign extends CampaignDefinition {
  readonly id: string;
  readonly budgetAccountId: string;
  readonly status: CampaignStatus;
  readonly createdBy: string;
}

/**
 * `proposed`: a budget at or above the four-eyes threshold waits for a second operator (its budget is already
 * reserved in its own account, so approval is one status change and cannot fail for want of money);
 * `rejected`: never earned anything, its reserved budget stays in its account as an ended campaign's rest does.
 */
export type CampaignStatus = 'proposed' | 'active' | 'ended' | 'rejected';

export interface CampaignView extends Campaign {
  /** What is left of the budget: the budget account's balance. */
  readonly remainingMinor: bigint;
  readonly grantedMinor: bigint;
}

interface CampaignRow {
  id: string; name: string; merchant_id: string | null; category_code: string | null; rate_bps: number; cap_per_customer_minor: string;
  budget_minor: string; starts_at: Date; ends_at: Date; points_valid_days: number; budget_account_id: string; status: CampaignStatus; created_by: string;
}

export const CAMPAIGN_COLUMNS = `id, name, merchant_id, category_code, rate_bps, cap_per_customer_minor::text, budget_minor::text, starts_at, ends_at,
  points_valid_days, budget_account_id, status, created_by`;

export function toCampaign(row: CampaignRow): Campaign {
  return {
    id: row.id, name: row.name, merchantId: row.merchant_id, categoryCode: row.category_code, rateBps: row.rate_bps,
    capPerCustomerMinor: BigInt(row.cap_per_customer_minor), budgetMinor: BigInt(row.budget_minor), startsAt: row.starts_at, endsAt: row.ends_at,
    pointsValidDays: row.points_valid_days, budgetAccountId: row.budget_account_id, status: row.status, createdBy: row.created_by,
  };
}

export function budgetAccountId(campaignId: string): string {
  return ownedAccountId(AccountCodes.promotionBudget, campaignId);
}

function validate(definition: CampaignDefinition): void {
  const errors: Array<{ pointer: string; message: string }> = [];
  if ((definition.merchantId === null) === (definition.categoryCode === null)) errors.push({ pointer: '/body/merchantId', message: 'name a merchant or a category, not both' });
  if (!Number.isInteger(definition.rateBps) || definition.rateBps < 1 || definition.rateBps > 10_000) errors.push({ pointer: '/body/rateBps', message: 'must be 1..10000' });
  if (definition.capPerCustomerMinor <= 0n) errors.push({ pointer: '/body/capPerCustomer', message: 'must be positive' });
  if (definition.budgetMinor <= 0n) errors.push({ pointer: '/body/budget', message: 'must be positive' });
  if (definition.endsAt.getTime() <= definition.startsAt.getTime()) errors.push({ pointer: '/body/endsAt', message: 'must be after startsAt' });
  if (errors.length > 0) throw new KobanError('validation_failed', { errors });
}

/** A campaign validated, its budget account made and funded; the row is written by `recordCampaign`. */
export interface FundedCampaign { readonly id: string; readonly accountId: string; readonly definition: CampaignDefinition }

/**
 * Validates, then creates the budget account and the funding transfer (platform promotion account → campaign
 * budget, id derived from the campaign: funded once). The row is written afterwards (`recordCampaign`), so the
 * relay never sees an active campaign without its budget.
 */
export async function fundCampaign(ledger: Ledger, definition: CampaignDefinition): Promise<FundedCampaign> {
  validate(definition);
  const id = uuidv7();
  const accountId = budgetAccountId(id);
  await ledger.createAccounts([{ id: accountId, ledger: Ledgers.JPY, code: AccountCodes.promotionBudget, flags: AccountFlags.debitsMustNotExceedCredits, reference: `campaign:${id}` }]);
  await fundCampaignAccount(ledger, accountId, definition.budgetMinor, derivedUuid('koban-campaign-funding', id));
  return { id, accountId, definition };
}

/** Writes the funded campaign's row, active at once or proposed (waiting for a second operator), in the caller's transaction. */
export async function recordCampaign(client: Queryable, funded: FundedCampaign, status: 'active' | 'proposed', createdBy: string): Promise<Campaign> {
  const { id, accountId, definition } = funded;
  const inserted = await client.query<CampaignRow>(
    `insert into promo_campaigns (id, name, merchant_id, category_code, rate_bps, cap_per_customer_minor, budget_minor, starts_at, ends_at, points_valid_days,
       budget_account_id, status, created_by)
     values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13) returning ${CAMPAIGN_COLUMNS}`,
    [id, definition.name, definition.merchantId, definition.categoryCode, definition.rateBps, definition.capPerCustomerMinor, definition.budgetMinor,
      definition.startsAt, definition.endsAt, definition.pointsValidDays, accountId, status, createdBy]);
  return toCampaign(inserted.rows[0] as CampaignRow);
}

/** A campaign below the four-eyes threshold: funded and active at once. */
export async function createCampaign(db: Database, ledger: Ledger, definition: CampaignDefinition, createdBy: string): Promise<Campaign> {
  return recordCampaign(db.pool, await fundCampaign(ledger, definition), 'active', createdBy);
}

/** Decides a proposed campaign (in the approval's transaction when approved): active, or rejected. */
export async function decideProposedCampaign(client: Queryable, campaignId: string, approve: boolean): Promise<Campaign> {
  const updated = await client.query<CampaignRow>(
    `update promo_campaigns set status = $2 where id = $1 and status = 'proposed' returning ${CAMPAIGN_COLUMNS}`, [campaignId, approve ? 'active' : 'rejected']);
  const row = updated.rows[0];
  if (row === undefined) throw new KobanError('campaign_not_found', { detail: 'no proposed campaign with this id' });
  return toCampaign(row);
}

async function fundCampaignAccount(ledger: Ledger, accountId: string, amountMinor: bigint, transferId: string): Promise<void> {
  requireTransferCreated(await ledger.createTransfers([{ id: transferId, debitAccountId: PLATFORM_ACCOUNTS.promotionBudget, creditAccountId: accountId, amount: amountMinor,
    pendingId: null, ledger: Ledgers.JPY, code: TransferCodes.cashback, flags: 0, timeoutSeconds: 0, reference: 'campaign funding' }]));
}

/**
 * Ends a campaign: no payment relayed after this earns from it (a grant already made is not undone). What is
 * left stays in its budget account, where refunds of its payments still return their points.
 */
export async function endCampaign(db: Database, campaignId: string): Promise<Campaign> {
  const updated = await db.pool.query<CampaignRow>(`update promo_campaigns set status = 'ended' where id = $1 and status in ('active', 'ended') returning ${CAMPAIGN_COLUMNS}`, [campaignId]);
  const row = updated.rows[0];
  if (row === undefined) throw new KobanError('campaign_not_found');
  return toCampaign(row);
}

/** Campaigns, newest first, a page at a time (`before`: the previous page's `nextBefore`). */
export async function listCampaigns(db: Database, ledger: Ledger, query: { limit?: number; before?: string } = {}): Promise<{ campaigns: CampaignView[]; nextBefore: string | null }> {
  const limit = Math.min(pageLimit(query.limit), CAMPAIGNS_LIST_MAX);
  const before = decodeCursor(query.before);
  const rows = await db.pool.query<CampaignRow & { granted: string; created_at: Date; page_at: string }>(
    `select ${CAMPAIGN_COLUMNS}, c.created_at, ${pageAtSql('c.created_at')} as page_at, (select coalesce(sum(granted_minor - reversed_minor), 0)::text from promo_grants g where g.campaign_id = c.id) as granted
     from promo_campaigns c where ($2::timestamptz is null or (c.created_at, c.id) < ($2, $3::uuid))
     order by c.created_at desc, c.id desc limit $1`, [limit + 1, before?.at ?? null, before !== null && isUuid(before.id) ? before.id : null]);
  const page = pageOf(rows.rows, limit, (row) => ({ at: row.page_at, id: row.id }));
  const accounts = new Map((await ledger.getAccounts(page.items.map((r) => r.budget_account_id))).map((a) => [a.id, a]));
  const campaigns = page.items.map((row) => {
    const account = accounts.get(row.budget_account_id);
    assert(account !== undefined, 'a campaign has its budget account');
    return { ...toCampaign(row), remainingMinor: availableBalance(account), grantedMinor: BigInt(row.granted) };
  });
  return { campaigns, nextBefore: page.nextBefore };
}

/** The campaigns a payment at this merchant (of this category) at `at` earns from, best rate first. */
export async function matchingCampaigns(client: Queryable, merchantId: string, categoryCode: string, at: Date): Promise<Campaign[]> {
  const rows = await client.query<CampaignRow>(
    `select ${CAMPAIGN_COLUMNS} from promo_campaigns where status = 'active' and starts_at <= $3 and $3 < ends_at
       and (merchant_id = $1 or category_code = $2) order by rate_bps desc, id`, [merchantId, categoryCode, at]);
  return rows.rows.map(toCampaign);
}
