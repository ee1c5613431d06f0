/** Velocity per card: a stolen card is drained fast, whichever account it sits on. */
import { BUCKET, DAY, HOUR } from '../keys.ts';
import { count, minor, paramCodec, type ParamsOf } from '../params.ts';
import type { RiskRule } from '../types.ts';
import { cardNeed } from './common.ts';

const spec = { topUpsPerHourMax: count(1, 1000), amountPerDayMaxMinor: minor() };

export const cardVelocity: RiskRule<ParamsOf<typeof spec>> = {
  id: 'card_velocity',
  description: 'Too many top-ups from one card within an hour, or too much money within a day',
  kinds: ['top_up'],
  defaults: { enabled: true, action: 'review', params: { topUpsPerHourMax: 5, amountPerDayMaxMinor: 100_000n } },
  ...paramCodec('card_velocity', spec),
  needs: (event) => [...cardNeed(event, 'top_up', BUCKET.medium, HOUR, true), ...cardNeed(event, 'top_up', BUCKET.coarse, DAY, true)],
  evaluate(event, facts, params) {
    const [hour, day] = this.needs(event, params);
    if (hour === undefined || day === undefined) return null;
    const perHour = facts.counter(hour).count;
    if (perHour > BigInt(params.topUpsPerHourMax)) return { message: `${perHour} top-ups from one card in an hour`, observed: String(perHour), threshold: String(params.topUpsPerHourMax) };
    const perDay = facts.counter(day).amountMinor;
    return perDay > params.amountPerDayMaxMinor ? { message: `${perDay} topped up from one card within a day`, observed: String(perDay), threshold: String(params.amountPerDayMaxMinor) } : null;
  },
};
