import { describe, expect, it } from 'vitest';
import type { TopUpLimits } from '../platform/config.ts';
import { firstBreach, type LimitUsage } from './limits.ts';

const limits: TopUpLimits = {
  perTopUpMaxMinor: 50_000n, dailyMaxMinor: 100_000n, monthlyMaxMinor: 300_000n, walletBalanceMaxMinor: 1_000_000n,
  nonThreeDsPerTopUpMaxMinor: 5_000n, nonThreeDsDailyMaxMinor: 5_000n, nonThreeDsMonthlyMaxMinor: 5_000n,
};
const none: LimitUsage = {
  amountMinor: 1n, threeDs: true, last24hMinor: 0n, last30dMinor: 0n, nonThreeDsLast24hMinor: 0n, nonThreeDsLast30dMinor: 0n,
  walletBalanceMinor: 0n, openTopUpsMinor: 0n,
};

describe('top-up limits', () => {
  it('allows exactly up to each limit and refuses one yen more', () => {
    expect(firstBreach(limits, { ...none, amountMinor: 50_000n })).toBeNull();
    expect(firstBreach(limits, { ...none, amountMinor: 50_001n })).toMatchObject({ limit: 'per_top_up', availableMinor: 50_000n });
    expect(firstBreach(limits, { ...none, amountMinor: 10_000n, last24hMinor: 90_000n })).toBeNull();
    expect(firstBreach(limits, { ...none, amountMinor: 10_001n, last24hMinor: 90_000n })).toMatchObject({ limit: 'daily', availableMinor: 10_000n });
    expect(firstBreach(limits, { ...none, amountMinor: 1n, last30dMinor: 300_000n })).toMatchObject({ limit: 'monthly', availableMinor: 0n });
  });

  it('counts top-ups in flight against the balance cap', () => {
    expect(firstBreach(limits, { ...none, amountMinor: 1_000n, walletBalanceMinor: 998_000n, openTopUpsMinor: 1_000n })).toBeNull();
    expect(firstBreach(limits, { ...none, amountMinor: 1_001n, walletBalanceMinor: 998_000n, openTopUpsMinor: 1_000n })).toMatchObject({ limit: 'wallet_balance', availableMinor: 1_000n });
  });

  it('applies the lower caps only to top-ups without 3-D Secure', () => {
    expect(firstBreach(limits, { ...none, amountMinor: 5_001n })).toBeNull();
    expect(firstBreach(limits, { ...none, threeDs: false, amountMinor: 5_001n })).toMatchObject({ limit: 'non_3ds_per_top_up' });
    expect(firstBreach(limits, { ...none, threeDs: false, amountMinor: 1n, nonThreeDsLast24hMinor: 5_000n })).toMatchObject({ limit: 'non_3ds_daily' });
    expect(firstBreach(limits, { ...none, threeDs: false, amountMinor: 1n, nonThreeDsLast30dMinor: 5_000n })).toMatchObject({ limit: 'non_3ds_monthly' });
  });
});
