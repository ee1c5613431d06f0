/**
 * The wallet's promotions (issue 19), as the composition root and the routes use them: campaigns for
 * operators, the points balance for the customer, the relay and the expiry job.
 */
import type { Ledger } from '../../ledger/ledger.ts';
import { availableBalance } from '../../ledger/types.ts';
import type { Database, Queryable } from '../../platform/db/database.ts';
import {
  createCampaign, decideProposedCampaign, endCampaign, fundCampaign, listCampaigns, recordCampaign, type Campaign, type CampaignDefinition, type CampaignView, type FundedCampaign,
} from './campaigns.ts';
import { expirePoints } from './expiry.ts';
import { pointsAccountId, relayPromotions } from './relay.ts';

/** How often the relay looks for consequences the kick missed (a crash, another node's payments). */
export const PROMO_RELAY_INTERVAL_MS = 1_000;
export const POINTS_EXPIRY_INTERVAL_MS = 60 * 60 * 1_000;
const EXPIRING_SHOWN_MAX = 5;

export interface PointsView {
  readonly balanceMinor: bigint;
  /** The next expiries: what of the balance each date takes, oldest first (balance beyond later grants). */
  readonly expiring: ReadonlyArray<{ readonly expiresAt: Date; readonly amountMinor: bigint }>;
}

export interface Promotions {
  createCampaign(definition: CampaignDefinition, createdBy: string): Promise<Campaign>;
  /** For a budget that needs four eyes: the budget is reserved now, the row is written proposed in the caller's transaction. */
  fundCampaign(definition: CampaignDefinition): Promise<FundedCampaign>;
  recordProposedCampaign(client: Queryable, funded: FundedCampaign, createdBy: string): Promise<Campaign>;
  decideProposedCampaign(client: Queryable, campaignId: string, approve: boolean): Promise<Campaign>;
  endCampaign(campaignId: string): Promise<Campaign>;
  listCampaigns(query?: { limit?: number; before?: string }): Promise<{ campaigns: CampaignView[]; nextBefore: string | null }>;
  points(customerId: string): Promise<PointsView>;
  relay(): Promise<number>;
  expire(): Promise<bigint>;
}

export function createPromotions(db: Database, ledger: Ledger, now: () => Date): Promotions {
  const deps = { db, ledger, now };
  return {
    createCampaign: (definition, createdBy) => createCampaign(db, ledger, definition, createdBy),
    fundCampaign: (definition) => fundCampaign(ledger, definition),
    recordProposedCampaign: (client, funded, createdBy) => recordCampaign(client, funded, 'proposed', createdBy),
    decideProposedCampaign,
    endCampaign: (campaignId) => endCampaign(db, campaignId),
    listCampaigns: (query) => listCampaigns(db, ledger, query),
    points: (customerId) => pointsOf(db, ledger, customerId, now()),
    relay: () => relayPromotions(deps),
    expire: () => expirePoints(deps),
  };
}

/**
 * The balance and when it expires: the oldest points go first, so a date takes what of the balance the grants
 * still valid after it do not cover (the same rule as expiry.ts).
 */
async function pointsOf(db: Database, ledger: Ledger, customerId: string, at: Date): Promise<PointsView> {
  const account = await ledger.getAccount(pointsAccountId(customerId));
  const balance = account === null ? 0n : availableBalance(account);
  if (balance === 0n) return { balanceMinor: 0n, expiring: [] };
  const grants = await db.pool.query<{ expires_at: Date; live: string }>(
    `select expires_at, (granted_minor - reversed_minor)::text as live from promo_grants
     where customer_id = $1 and expires_at > $2 and granted_minor > reversed_minor order by expires_at desc`, [customerId, at]);
  const expiring: Array<{ expiresAt: Date; amountMinor: bigint }> = [];
  // Newest first: the balance is made of the newest grants' points.
  let uncovered = balance;
  for (const grant of grants.rows) {
    const live = BigInt(grant.live);
    const taken = live < uncovered ? live : uncovered;
    if (taken > 0n) expiring.unshift({ expiresAt: grant.expires_at, amountMinor: taken });
    uncovered -= taken;
  }
  return { balanceMinor: balance, expiring: expiring.slice(0, EXPIRING_SHOWN_MAX) };
}
