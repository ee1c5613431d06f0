/**
 * Top-up limits as one pure decision (LED-05): per top-up, 24 hours, 30 days and the wallet balance cap, and
 * the lower caps for cards that have not passed 3-D Secure. Usage counts top-ups still in flight as well as
 * completed ones, so several top-ups started in the same minute (the 7pay pattern) cannot each see the old
 * total. The caller reads the usage and decides under one per-customer lock.
 */
import { assert } from '../platform/assert.ts';
import type { TopUpLimits } from '../platform/config.ts';

export interface LimitUsage {
  readonly amountMinor: bigint;
  /** Counted under the 3-D Secure caps (bank debits too: the bank's own code authenticated the mandate). */
  readonly threeDs: boolean;
  readonly last24hMinor: bigint;
  readonly last30dMinor: bigint;
  readonly nonThreeDsLast24hMinor: bigint;
  readonly nonThreeDsLast30dMinor: bigint;
  readonly walletBalanceMinor: bigint;
  /** Top-ups started but not yet credited: they will land in the wallet if they complete. */
  readonly openTopUpsMinor: bigint;
}

export const LIMIT_NAMES = ['per_top_up', 'daily', 'monthly', 'wallet_balance', 'non_3ds_per_top_up', 'non_3ds_daily', 'non_3ds_monthly'] as const;
export type LimitName = (typeof LIMIT_NAMES)[number];

export interface LimitBreach {
  readonly limit: LimitName;
  readonly limitMinor: bigint;
  /** What could still be topped up under this limit (0 when nothing). */
  readonly availableMinor: bigint;
}

export function firstBreach(limits: TopUpLimits, usage: LimitUsage): LimitBreach | null {
  assert(usage.amountMinor > 0n, 'a top-up amount is positive');
  for (const [used, value] of Object.entries(usage)) assert(typeof value !== 'bigint' || value >= 0n, `usage ${used} is not negative`);
  const checks: Array<[LimitName, bigint, bigint]> = [
    ['per_top_up', limits.perTopUpMaxMinor, 0n],
    ['daily', limits.dailyMaxMinor, usage.last24hMinor],
    ['monthly', limits.monthlyMaxMinor, usage.last30dMinor],
    ['wallet_balance', limits.walletBalanceMaxMinor, usage.walletBalanceMinor + usage.openTopUpsMinor],
  ];
  if (!usage.threeDs) {
    checks.push(
      ['non_3ds_per_top_up', limits.nonThreeDsPerTopUpMaxMinor, 0n],
      ['non_3ds_daily', limits.nonThreeDsDailyMaxMinor, usage.nonThreeDsLast24hMinor],
      ['non_3ds_monthly', limits.nonThreeDsMonthlyMaxMinor, usage.nonThreeDsLast30dMinor],
    );
  }
  for (const [limit, limitMinor, usedMinor] of checks) {
    if (usedMinor + usage.amountMinor > limitMinor) {
      const available = limitMinor - usedMinor;
      return { limit, limitMinor, availableMinor: available > 0n ? available : 0n };
    }
  }
  return null;
}
