/** One device or one card across many accounts: a mule's phone, or a stolen card tried everywhere. */
import { count, paramCodec, type ParamsOf } from '../params.ts';
import type { RiskRule } from '../types.ts';

const spec = { deviceAccountsMax: count(1, 1000, 'accounts'), cardAccountsMax: count(1, 1000, 'accounts') };

export const sharedInstrument: RiskRule<ParamsOf<typeof spec>> = {
  id: 'shared_instrument',
  description: 'A device or card used by more accounts than a household has, within 30 days',
  kinds: ['sign_in', 'top_up', 'payment', 'funding_source_add', 'payment_code_mint'],
  defaults: { enabled: true, action: 'review', params: { deviceAccountsMax: 3, cardAccountsMax: 2 } },
  ...paramCodec('shared_instrument', spec),
  needs: () => [],
  countsAccountsOf: ['device', 'card'],
  evaluate(_event, facts, params) {
    if (facts.device !== null && facts.device.accounts > params.deviceAccountsMax) {
      return { message: `device used by ${facts.device.accounts} accounts`, observed: String(facts.device.accounts), threshold: String(params.deviceAccountsMax) };
    }
    if (facts.card !== null && facts.card.accounts > params.cardAccountsMax) {
      return { message: `card used by ${facts.card.accounts} accounts`, observed: String(facts.card.accounts), threshold: String(params.cardAccountsMax) };
    }
    return null;
  },
};
