/** Several top-ups within a minute: the 7pay pattern ("3 top-ups in 1 minute — is that human?"). */
import { BUCKET, MINUTE } from '../keys.ts';
import { count, paramCodec, type ParamsOf } from '../params.ts';
import type { RiskRule } from '../types.ts';
import { accountNeed } from './common.ts';

const spec = { topUpsPerMinuteMax: count(1, 100) };

export const rapidTopUps: RiskRule<ParamsOf<typeof spec>> = {
  id: 'rapid_top_ups',
  description: 'More top-ups on one account within a minute than a person makes',
  kinds: ['top_up'],
  defaults: { enabled: true, action: 'deny', params: { topUpsPerMinuteMax: 2 } },
  ...paramCodec('rapid_top_ups', spec),
  needs: (event) => accountNeed(event, 'top_up', BUCKET.fine, MINUTE, true),
  evaluate(event, facts, params) {
    const [need] = this.needs(event, params);
    if (need === undefined) return null;
    const seen = facts.counter(need).count;
    return seen > BigInt(params.topUpsPerMinuteMax) ? { message: `${seen} top-ups within a minute`, observed: String(seen), threshold: String(params.topUpsPerMinuteMax) } : null;
  },
};
