/** What the wallet module is built from (src/koban.ts wires it; tests build it the same way). */
import type { Ledger } from '../ledger/ledger.ts';
import type { WalletConfig } from '../platform/config.ts';
import type { Database } from '../platform/db/database.ts';
import type { CardAcquirer } from './funding/acquirer.ts';
import type { BankRail } from './funding/bank.ts';
import type { CreditGate } from './credit-gate.ts';
import type { WalletRisk } from './risk-port.ts';

export interface WalletLogger {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
  error(object: object, message: string): void;
}

export interface WalletDeps {
  readonly db: Database;
  readonly ledger: Ledger;
  readonly config: WalletConfig;
  /** Koban's public base URL: the 3-D Secure return URL is built from it, never from a Host header. */
  readonly publicUrl: string;
  /** Null when no acquirer is configured: card funding answers `funding_unavailable`. */
  readonly acquirer: CardAcquirer | null;
  readonly bank: BankRail | null;
  readonly log: WalletLogger;
  /** The risk engine; null scores nothing (unit setups). */
  readonly risk: WalletRisk | null;
  /** Operations' kill switches; null obeys none (unit setups). */
  readonly switches: WalletSwitches | null;
  readonly creditGate: CreditGate;
  /** Withdrawals (transfers/withdrawals.ts) plug in here to hear of the bank's payout webhooks; null until then. */
  readonly payoutListener: { advance: ((withdrawalId: string) => Promise<unknown>) | null };
}

/** The kill switches the wallet obeys (src/operations/switches/catalogue.ts); throws `service_switched_off`. */
export type WalletSwitchName = 'funding.card' | 'funding.bank' | 'top_ups' | 'top_ups.cash' | 'top_ups.auto' | 'transfers' | 'withdrawals';
export interface WalletSwitches {
  assertOn(name: WalletSwitchName): void;
}
