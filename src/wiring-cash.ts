/**
 * Cash top-up at the register (issue 19), wired: the wallet decides and moves the money (`wallet/cash/`), the
 * till side says where and applies the second-clerk rule (`payments/terminal/cash-top-up.ts`). The top-up
 * code's HMAC key is derived from KOBAN_SECRET_KEY here, because the wallet does not hold the secret box.
 */
import type { Ledger } from './ledger/ledger.ts';
import type { App } from './http/app.ts';
import { deriveKey } from './merchants/secret-box.ts';
import { resolveSecretKey } from './merchants/secret-key.ts';
import type { PaymentsModule } from './payments/module.ts';
import { registerTillCashRoutes } from './payments/terminal/cash-routes.ts';
import { createTillCash, type TillCash } from './payments/terminal/cash-top-up.ts';
import type { Config } from './platform/config.ts';
import type { Database } from './platform/db/database.ts';
import type { CashDeps } from './wallet/cash/cash-top-ups.ts';
import { registerCashCodeRoutes } from './wallet/cash/routes.ts';
import type { Wallet } from './wallet/wallet.ts';

export interface CashTopUps {
  readonly deps: CashDeps;
  readonly till: TillCash;
}

export async function wireCashTopUps(options: { config: Config; db: Database; ledger: Ledger; app: App; wallet: Wallet; payments: PaymentsModule; now: () => Date }): Promise<CashTopUps> {
  const secretKey = await resolveSecretKey(options.config);
  const deps: CashDeps = { wallet: options.wallet.deps, pepper: deriveKey(secretKey, 'cash-top-up-code-hmac v1'), now: options.now };
  const till = createTillCash({ cash: deps, ledger: options.ledger, staff: { db: options.db, box: options.payments.box, now: options.now } });
  registerCashCodeRoutes(options.app, options.wallet.identity, deps);
  registerTillCashRoutes(options.app, { access: options.payments.terminals, cash: till, publicUrl: options.config.publicUrl, maxAmountMinor: options.config.wallet.cash.perCodeMaxMinor * 10n });
  return { deps, till };
}
