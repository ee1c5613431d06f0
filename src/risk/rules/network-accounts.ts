/** Many accounts from one network: a list of leaked passwords being tried from a rented block. */
import { count, paramCodec, type ParamsOf } from '../params.ts';
import type { RiskRule } from '../types.ts';

const spec = { accountsPerDayMax: count(1, 1_000_000, 'accounts') };

export const networkAccounts: RiskRule<ParamsOf<typeof spec>> = {
  id: 'network_accounts',
  description: 'More distinct accounts from one network within a day than one office or household has',
  kinds: ['sign_in', 'recovery', 'social_link', 'funding_source_add'],
  defaults: { enabled: true, action: 'challenge', params: { accountsPerDayMax: 20 } },
  ...paramCodec('network_accounts', spec),
  needs: () => [],
  countsAccountsOf: ['network'],
  evaluate(_event, facts, params) {
    if (facts.network === null || facts.network.accounts <= params.accountsPerDayMax) return null;
    return { message: `${facts.network.accounts} accounts from one network within a day`, observed: String(facts.network.accounts), threshold: String(params.accountsPerDayMax) };
  },
};
