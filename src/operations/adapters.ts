/**
 * What operations needs from modules it does not own, as small interfaces those modules implement
 * (identity: sessions and credentials; wallet: which ledger account is a customer's wallet). They are
 * passed to createKoban; until a module provides its side, the actions that need it answer 503
 * `operations_dependency_missing` instead of pretending to have worked.
 */
import { KobanError } from '../platform/errors.ts';
import type { SignInHealth } from '../identity/sign-in-health.ts';

export interface IdentityControl {
  /** Next sign-in must set a new password and a new charge PIN; existing credentials stop working. */
  forcePasswordAndPinReset(customerId: string, reason: string): Promise<void>;
  /** Ends every session and refresh token of the customer; answers how many. */
  revokeSessions(customerId: string): Promise<number>;
  /** The incident action: every customer must reset, every session ends. */
  forceResetAllCustomers(reason: string): Promise<{ customers: number; sessions: number }>;
  /** Platform-wide sign-in health now (issue 13): the console's series and recent platform sign-in alerts. */
  signInHealth?(): Promise<SignInHealth>;
}

export interface CustomerWallets {
  /** The customer's wallet account in the ledger, or null if they have none. */
  walletAccountIdOf(customerId: string): Promise<string | null>;
  /** The customer behind a wallet account (for compensation exports and notices). */
  customerIdOf(walletAccountId: string): Promise<string | null>;
}

export interface OperationsAdapters {
  readonly identity?: IdentityControl;
  readonly wallets?: CustomerWallets;
}

export function required<T>(adapter: T | undefined, name: string): T {
  if (adapter === undefined) throw new KobanError('operations_dependency_missing', { detail: `${name} is not connected to operations yet` });
  return adapter;
}
