/**
 * The wallet's 「現金でチャージ」 route (issue 19): `POST /v1/wallet/cash-top-up-code` shows a fresh top-up code
 * and what cash it can take (the per-code cap, what is left of the customer's cash day and of their tier's
 * day). Routes parse, call the module and map.
 */
import type { App } from '../../http/app.ts';
import type { WalletIdentity } from '../identity-port.ts';
import { topUpAllowance } from '../top-ups.ts';
import { cashAllowance, type CashDeps } from './cash-top-ups.ts';
import { mintTopUpCode } from './codes.ts';

const tags = ['wallet funding'];

export function registerCashCodeRoutes(app: App, identity: WalletIdentity, deps: CashDeps): void {
  app.post('/v1/wallet/cash-top-up-code', {
    schema: { tags, summary: 'Show a one-time top-up code for cash at a register (22 digits starting 81; 3 minutes; one use; a new one revokes the last)' },
  }, async (request) => {
    const session = await identity.guard(request);
    deps.wallet.switches?.assertOn('top_ups');
    deps.wallet.switches?.assertOn('top_ups.cash');
    const minted = await mintTopUpCode(deps.wallet.db, deps.pepper, session.customerId, deps.now());
    const tier = await topUpAllowance(deps.wallet, session.customerId);
    const cash = await cashAllowance(deps, session.customerId);
    const most = [cash.maxAmountMinor, tier.daily.remainingMinor, tier.monthly.remainingMinor].reduce((a, b) => (a < b ? a : b));
    return {
      code: minted.code, expiresAt: minted.expiresAt.toISOString(),
      minAmount: cash.minAmountMinor.toString(), maxAmount: (most > 0n ? most : 0n).toString(),
      perCodeMax: cash.perCodeMaxMinor.toString(), cashDailyRemaining: cash.dailyRemainingMinor.toString(),
    };
  });
}
