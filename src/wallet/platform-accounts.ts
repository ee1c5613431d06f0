/**
 * The clearing accounts a top-up moves money out of: what the acquirer (300) or the bank (310) owes Koban
 * once it confirmed the funds. Same ids, codes and references as the demo seed and payments, so creating
 * them from any of the three is the same idempotent write.
 */
import type { Ledger } from '../ledger/ledger.ts';
import { AccountCodes, AccountFlags, Ledgers } from '../ledger/types.ts';

export const CLEARING_ACCOUNTS = {
  card: '00000000-0000-7000-8000-000000000301',
  bank: '00000000-0000-7000-8000-000000000311',
} as const;

export async function ensureClearingAccounts(ledger: Ledger): Promise<void> {
  await ledger.createAccounts([
    { id: CLEARING_ACCOUNTS.card, ledger: Ledgers.JPY, code: AccountCodes.fundingClearingCard, flags: AccountFlags.none, reference: 'platform:card-clearing' },
    { id: CLEARING_ACCOUNTS.bank, ledger: Ledgers.JPY, code: AccountCodes.fundingClearingBank, flags: AccountFlags.none, reference: 'platform:bank-clearing' },
  ]);
}
