/**
 * Koban's own ledger accounts: the clearing accounts top-ups come from, fee revenue, the promotion
 * and compensation budgets, suspense. One list, fixed ids, created idempotently when Koban starts,
 * so payments, the wallet, operations and the demo seed all name the same accounts and a production
 * database has them without any demo data.
 */
import type { Ledger } from './ledger.ts';
import { AccountCodes, AccountFlags, Ledgers } from './types.ts';

export const PLATFORM_ACCOUNTS = {
  cardClearing: '00000000-0000-7000-8000-000000000301',
  bankClearing: '00000000-0000-7000-8000-000000000311',
  feeRevenue: '00000000-0000-7000-8000-000000000401',
  promotionBudget: '00000000-0000-7000-8000-000000000501',
  compensation: '00000000-0000-7000-8000-000000000601',
  transfersInFlight: '00000000-0000-7000-8000-000000000701',
  suspense: '00000000-0000-7000-8000-000000000901',
} as const;

/** The platform's accounts on the test ledger (Ledgers.TEST_JPY): a test twin's fee goes here; test wallets are topped up from the issuer. */
export const TEST_PLATFORM_ACCOUNTS = {
  feeRevenue: '00000000-0000-7000-8000-000000963401',
  moneyIssuer: '00000000-0000-7000-8000-000000963801',
} as const;

/** Where a merchant's fee goes: the fee revenue account of the merchant's own ledger (a twin's is test money). */
export function feeRevenueAccountOf(ledger: number): string {
  if (ledger === Ledgers.TEST_JPY) return TEST_PLATFORM_ACCOUNTS.feeRevenue;
  if (ledger === Ledgers.JPY) return PLATFORM_ACCOUNTS.feeRevenue;
  throw new Error(`no fee revenue account on ledger ${ledger}`);
}

const SPECS = [
  { id: PLATFORM_ACCOUNTS.cardClearing, code: AccountCodes.fundingClearingCard, reference: 'platform:card-clearing' },
  { id: PLATFORM_ACCOUNTS.bankClearing, code: AccountCodes.fundingClearingBank, reference: 'platform:bank-clearing' },
  { id: PLATFORM_ACCOUNTS.feeRevenue, code: AccountCodes.feeRevenue, reference: 'platform:fee-revenue' },
  { id: PLATFORM_ACCOUNTS.promotionBudget, code: AccountCodes.promotionBudget, reference: 'platform:promotion-budget' },
  { id: PLATFORM_ACCOUNTS.compensation, code: AccountCodes.compensation, reference: 'platform:compensation' },
  // Never pays out more than was sent into it: an accept or return without its send is refused by the ledger.
  { id: PLATFORM_ACCOUNTS.transfersInFlight, code: AccountCodes.transfersInFlight, reference: 'platform:transfers-in-flight', flags: AccountFlags.debitsMustNotExceedCredits },
  { id: PLATFORM_ACCOUNTS.suspense, code: AccountCodes.suspense, reference: 'platform:suspense' },
] as const;

export async function ensurePlatformAccounts(ledger: Ledger): Promise<void> {
  await ledger.createAccounts([
    ...SPECS.map((spec) => ({ ...spec, ledger: Ledgers.JPY, flags: 'flags' in spec ? spec.flags : AccountFlags.none })),
    { id: TEST_PLATFORM_ACCOUNTS.feeRevenue, ledger: Ledgers.TEST_JPY, code: AccountCodes.feeRevenue, flags: AccountFlags.none, reference: 'platform:test-fee-revenue' },
    { id: TEST_PLATFORM_ACCOUNTS.moneyIssuer, ledger: Ledgers.TEST_JPY, code: AccountCodes.testMoneyIssuer, flags: AccountFlags.none, reference: 'platform:test-money-issuer' },
  ]);
}
