/** Bursts of failed passwords or PINs, per account and per network (counted by risk.recordFailure). */
import { BUCKET, MINUTE } from '../keys.ts';
import { count, paramCodec, type ParamsOf } from '../params.ts';
import type { RiskRule } from '../types.ts';
import { accountNeed, networkNeed } from './common.ts';

const spec = { accountFailuresMax: count(1, 1000), networkFailuresMax: count(1, 1_000_000) };
const WINDOW = 10 * MINUTE;

export const failureBurst: RiskRule<ParamsOf<typeof spec>> = {
  id: 'failure_burst',
  description: 'Many failed passwords or PINs on the account, or from its network, within ten minutes',
  kinds: ['sign_in', 'recovery', 'top_up', 'payment', 'funding_source_add'],
  defaults: { enabled: true, action: 'challenge', params: { accountFailuresMax: 5, networkFailuresMax: 30 } },
  ...paramCodec('failure_burst', spec),
  needs: (event) => [...accountNeed(event, 'failure', BUCKET.medium, WINDOW, false), ...networkNeed(event, 'failure', BUCKET.medium, WINDOW, false)],
  evaluate(event, facts, params) {
    for (const need of this.needs(event, params)) {
      const failures = facts.counter(need).count;
      const max = need.key.startsWith('acct:') ? params.accountFailuresMax : params.networkFailuresMax;
      if (failures >= BigInt(max)) return { message: `${failures} failed passwords or PINs ${need.key.startsWith('acct:') ? 'on the account' : 'from the network'} in ten minutes`, observed: String(failures), threshold: String(max) };
    }
    return null;
  },
};
