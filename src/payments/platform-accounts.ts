/**
 * Koban's own ledger accounts that payments move money through. The ids and fields are those the demo
 * seed uses (src/demo/seed.ts), so creating them here and there is the same idempotent write.
 */
import type { Ledger } from '../ledger/ledger.ts';
import { AccountCodes, AccountFlags, Ledgers } from '../ledger/types.ts';

export const PLATFORM_ACCOUNTS = {
  feeRevenue: '00000000-0000-7000-8000-000000000401',
  bankClearing: '00000000-0000-7000-8000-000000000311',
} as const;

export async function ensurePlatformAccounts(ledger: Ledger): Promise<void> {
  await ledger.createAccounts([
    { id: PLATFORM_ACCOUNTS.feeRevenue, ledger: Ledgers.JPY, code: AccountCodes.feeRevenue, flags: AccountFlags.none, reference: 'platform:fee-revenue' },
    { id: PLATFORM_ACCOUNTS.bankClearing, ledger: Ledgers.JPY, code: AccountCodes.fundingClearingBank, flags: AccountFlags.none, reference: 'platform:bank-clearing' },
  ]);
}
