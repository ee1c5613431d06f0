/**
 * Limits per customer tier (issue 19): `basic` (identity not verified) and `verified` (eKYC done; holds a
 * funds-transfer balance). Configured per tier (`KOBAN_TOPUP_*` for basic, `KOBAN_VERIFIED_TOPUP_*` for
 * verified), decided in `top-ups.ts` under the customer's lock, and shown to the customer as what is left.
 */
import type { TierMoneyLimits, TopUpLimits, WalletConfig } from '../platform/config.ts';
import type { Queryable } from '../platform/db/database.ts';
import { isCustomerVerified } from './balances.ts';

export type Tier = 'basic' | 'verified';

export async function tierOf(db: Queryable, customerId: string): Promise<Tier> {
  return await isCustomerVerified(db, customerId) ? 'verified' : 'basic';
}

export function topUpLimitsFor(config: Pick<WalletConfig, 'limits' | 'verifiedLimits'>, tier: Tier): TopUpLimits {
  return tier === 'verified' ? { ...config.limits, ...config.verifiedLimits } : config.limits;
}

/** The tier's daily and monthly limits on payments, sends and withdrawals (`KOBAN_*_PAYMENT|SEND|WITHDRAWAL_*`). */
export function moneyLimitsFor(config: Pick<WalletConfig, 'transfers'>, tier: Tier): TierMoneyLimits {
  return tier === 'verified' ? config.transfers.verified : config.transfers.basic;
}

export interface Allowance {
  readonly limitMinor: bigint;
  readonly usedMinor: bigint;
  /** What can still be topped up under this limit now. */
  readonly remainingMinor: bigint;
}

export function allowance(limitMinor: bigint, usedMinor: bigint): Allowance {
  const remaining = limitMinor - usedMinor;
  return { limitMinor, usedMinor, remainingMinor: remaining > 0n ? remaining : 0n };
}
