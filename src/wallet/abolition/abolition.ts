/**
 * The wallet's side of abolition (issue 19), as the composition root and the routes use it. The four-eyes start
 * and the switches live in `src/wiring-abolition.ts` (the wallet cannot import operations).
 */
import type { Ledger } from '../../ledger/ledger.ts';
import type { Database, Queryable } from '../../platform/db/database.ts';
import { KobanError } from '../../platform/errors.ts';
import { ensureCustomerWallet } from '../customer-wallets.ts';
import type { WalletIdentity, WalletSession } from '../identity-port.ts';
import type { BankRail } from '../funding/bank.ts';
import { sendAbolitionNotices } from './notices.ts';
import { activeProcedure, claimBalance, claimsOf, outstandingCsv, recordProcedure, runPayoutBatch, type BankAccount, type Claim, type Procedure } from './claims.ts';

export const ABOLITION_PAYOUT_INTERVAL_MS = 60_000;
export const ABOLITION_NOTICE_INTERVAL_MS = 10_000;

export interface Abolition {
  procedure(): Promise<Procedure | null>;
  start(client: Queryable, startedBy: string, approvedBy: string, claimDays: number): Promise<Procedure>;
  /**
   * Money leaving to a bank account: refused during the recovery cool-down, and only with a fresh step-up bound to
   * this account's last four digits (identity's `add_funding_source {kind: "bank", last4}` action for now), so a
   * thief holding only a session cannot send the balance to their own account.
   */
  claim(session: WalletSession, grant: string | null | undefined, account: BankAccount): Promise<Claim>;
  claims(customerId: string): Promise<Claim[]>;
  /** One payout batch, when a procedure is active; the number of claims it touched. */
  payoutBatch(): Promise<number>;
  outstandingCsv(): Promise<string>;
  /** One batch of notices to customers not yet told (notices.ts). */
  notify(): Promise<number>;
}

export function createAbolition(db: Database, ledger: Ledger, bank: BankRail | null, identity: Pick<WalletIdentity, 'requireStepUp' | 'isInRecoveryCooldown'>, now: () => Date): Abolition {
  const deps = { db, ledger, bank, now };
  return {
    procedure: () => activeProcedure(db.pool),
    start: (client, startedBy, approvedBy, claimDays) => recordProcedure(client, startedBy, approvedBy, now(), claimDays),
    async claim(session, grant, account) {
      if (await identity.isInRecoveryCooldown(session.customerId)) throw new KobanError('recovery_cooldown');
      if (await activeProcedure(db.pool) === null) throw new KobanError('abolition_not_active');
      await identity.requireStepUp(db.pool, session, grant, 'add_funding_source', { kind: 'bank', last4: account.accountNumber.slice(-4) });
      // The customer's prepaid wallet (created on first use: an empty one has nothing to claim).
      const walletAccountId = await ensureCustomerWallet(db, ledger, session.customerId);
      return claimBalance(deps, session.customerId, walletAccountId, account);
    },
    claims: (customerId) => claimsOf(db.pool, customerId),
    async payoutBatch() {
      if (bank === null || await activeProcedure(db.pool) === null) return 0;
      return runPayoutBatch(deps);
    },
    outstandingCsv: () => outstandingCsv(db.pool),
    notify: () => sendAbolitionNotices(db),
  };
}
