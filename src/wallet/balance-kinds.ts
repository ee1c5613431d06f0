/**
 * The two kinds of balance Japan's Payment Services Act (資金決済法) allows a wallet to hold, and what each
 * may do (issue 19; `../shared/reference/wallet-features-and-regulation.md` §3). Pure rules: the code paths
 * that move money out of a customer's balance ask `mayLeaveAs` before they build a transfer.
 *
 * - **prepaid** (前払式支払手段, ledger code 100 — every wallet that existed before this): spent at merchants;
 *   never withdrawn, never sent to another person; refunded as cash only when the business is abolished
 *   (Art. 20).
 * - **funds_transfer** (資金移動業 type 2, ledger code 110): spent, sent and withdrawn to the customer's own
 *   verified bank account, at most ¥1,000,000 per transfer; held only by identity-verified customers.
 */
import { AccountCodes } from '../ledger/types.ts';
import { ownedAccountId } from '../ledger/owned-accounts.ts';

export const BALANCE_KINDS = ['prepaid', 'funds_transfer'] as const;
export type BalanceKind = (typeof BALANCE_KINDS)[number];

/** Why money leaves a customer's balance. */
export type OutgoingPurpose = 'payment' | 'send' | 'withdrawal' | 'abolition_refund';

/** Type 2 funds transfer: at most ¥1,000,000 per transfer (Art. 36-2). */
export const FUNDS_TRANSFER_PER_TRANSFER_MAX_MINOR = 1_000_000n;

const ALLOWED: Readonly<Record<BalanceKind, readonly OutgoingPurpose[]>> = {
  // A prepaid balance is not money the customer may take back: only spending, and the refund the law
  // orders when the issuer abolishes the instrument.
  prepaid: ['payment', 'abolition_refund'],
  funds_transfer: ['payment', 'send', 'withdrawal'],
};

export function mayLeaveAs(kind: BalanceKind, purpose: OutgoingPurpose): boolean {
  return ALLOWED[kind].includes(purpose);
}

/** Where a top-up lands: card money is prepaid; bank money is funds-transfer for a verified customer. */
export function topUpDestination(sourceKind: 'card' | 'bank', customerVerified: boolean): BalanceKind {
  return sourceKind === 'bank' && customerVerified ? 'funds_transfer' : 'prepaid';
}

export function balanceKindOfAccountCode(code: number): BalanceKind | null {
  if (code === AccountCodes.customerWallet) return 'prepaid';
  if (code === AccountCodes.customerFundsTransfer) return 'funds_transfer';
  return null;
}

/** The funds-transfer account's id, derived from the customer (created once, idempotently). */
export function fundsTransferAccountId(customerId: string): string {
  return ownedAccountId(AccountCodes.customerFundsTransfer, customerId);
}
