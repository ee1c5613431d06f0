/** A top-up followed at once by spending most of it: the 7pay cash-out pattern (¥190k in, ¥195k out). */
import { BUCKET, MINUTE } from '../keys.ts';
import { count, minor, paramCodec, type ParamsOf } from '../params.ts';
import type { RiskRule } from '../types.ts';
import { accountNeed, amountOf } from './common.ts';

const spec = { windowMinutes: count(1, 60, 'minutes'), topUpMinMinor: minor(), spendPercentMin: count(1, 100, 'percent') };

export const topUpThenSpend: RiskRule<ParamsOf<typeof spec>> = {
  id: 'top_up_then_spend',
  description: 'A payment that spends most of what was topped up within the last minutes',
  kinds: ['payment'],
  defaults: { enabled: true, action: 'review', params: { windowMinutes: 10, topUpMinMinor: 10_000n, spendPercentMin: 80 } },
  ...paramCodec('top_up_then_spend', spec),
  needs: (event, params) => accountNeed(event, 'top_up', BUCKET.fine, params.windowMinutes * MINUTE, false),
  evaluate(event, facts, params) {
    const [need] = this.needs(event, params);
    if (need === undefined) return null;
    const toppedUp = facts.counter(need).amountMinor;
    if (toppedUp < params.topUpMinMinor) return null;
    const spent = amountOf(event);
    return spent * 100n >= toppedUp * BigInt(params.spendPercentMin)
      ? { message: `spends ${spent} of ${toppedUp} topped up in the last ${params.windowMinutes} minutes`, observed: String(spent), threshold: `${params.spendPercentMin}% of ${toppedUp}` }
      : null;
  },
};
