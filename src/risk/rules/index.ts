/** The rules Koban ships with, one per file; operators tune their thresholds at run time (settings.ts). */
import type { RiskRule } from '../types.ts';
import { accountSpendingBudget } from './account-spending-budget.ts';
import { accountVelocity } from './account-velocity.ts';
import { balanceDrain } from './balance-drain.ts';
import { blockedInstrument } from './blocked-instrument.ts';
import { cardVelocity } from './card-velocity.ts';
import { deviceVelocity } from './device-velocity.ts';
import { distantStore } from './distant-store.ts';
import { failureBurst } from './failure-burst.ts';
import { muleNewSenders } from './mule-new-senders.ts';
import { sendAfterNewCardTopUp } from './send-after-new-card.ts';
import { markedSource } from './marked-source.ts';
import { merchantConvergence } from './merchant-convergence.ts';
import { networkAccounts } from './network-accounts.ts';
import { networkVelocity } from './network-velocity.ts';
import { newDeviceHighValue } from './new-device-high-value.ts';
import { rapidTopUps } from './rapid-top-ups.ts';
import { resaleBulk } from './resale-bulk.ts';
import { sharedInstrument } from './shared-instrument.ts';
import { storeVelocity } from './store-velocity.ts';
import { topUpThenSpend } from './top-up-then-spend.ts';
import { unusualContextCeiling, unusualContextRule } from './unusual-context.ts';
import { paymentPace } from './payment-pace.ts';

// Each rule keeps its own parameter type; the engine handles them through this erased view (the
// params a rule is given always come from that rule's own parse or defaults).
export type AnyRule = RiskRule<unknown>;

export const DEFAULT_RULES: readonly AnyRule[] = [
  blockedInstrument, rapidTopUps, accountVelocity, deviceVelocity, networkVelocity, cardVelocity, storeVelocity,
  topUpThenSpend, newDeviceHighValue, accountSpendingBudget, unusualContextRule, balanceDrain, sharedInstrument, networkAccounts, failureBurst, distantStore, resaleBulk, markedSource,
  muleNewSenders, sendAfterNewCardTopUp, merchantConvergence, unusualContextCeiling, paymentPace,
];
