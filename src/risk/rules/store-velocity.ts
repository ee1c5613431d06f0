/** Velocity per store: a till suddenly taking far more money than it ever does (mules at one shop). */
import { BUCKET, MINUTE } from '../keys.ts';
import { count, minor, paramCodec, type ParamsOf } from '../params.ts';
import type { RiskRule } from '../types.ts';
import { storeNeed } from './common.ts';

const spec = { paymentsPerMinuteMax: count(1, 1_000_000), amountPer10MinMaxMinor: minor(100_000_000_000n) };

export const storeVelocity: RiskRule<ParamsOf<typeof spec>> = {
  id: 'store_velocity',
  description: 'Too many payments at one store within a minute, or too much money within ten minutes',
  kinds: ['payment'],
  defaults: { enabled: true, action: 'review', params: { paymentsPerMinuteMax: 600, amountPer10MinMaxMinor: 5_000_000n } },
  ...paramCodec('store_velocity', spec),
  needs: (event) => [...storeNeed(event, 'payment', BUCKET.fine, MINUTE, true), ...storeNeed(event, 'payment', BUCKET.medium, 10 * MINUTE, true)],
  evaluate(event, facts, params) {
    const [minute, tenMinutes] = this.needs(event, params);
    if (minute === undefined || tenMinutes === undefined) return null;
    const perMinute = facts.counter(minute).count;
    if (perMinute > BigInt(params.paymentsPerMinuteMax)) return { message: `${perMinute} payments at one store in a minute`, observed: String(perMinute), threshold: String(params.paymentsPerMinuteMax) };
    const amount = facts.counter(tenMinutes).amountMinor;
    return amount > params.amountPer10MinMaxMinor ? { message: `${amount} paid at one store within ten minutes`, observed: String(amount), threshold: String(params.amountPer10MinMaxMinor) } : null;
  },
};
