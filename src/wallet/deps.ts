/** What the wallet module is built from (src/koban.ts wires it; tests build it the same way). */
import type { Ledger } from '../ledger/ledger.ts';
import type { WalletConfig } from '../platform/config.ts';
import type { Database } from '../platform/db/database.ts';
import type { CardAcquirer } from './funding/acquirer.ts';
import type { BankRail } from './funding/bank.ts';

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
}
