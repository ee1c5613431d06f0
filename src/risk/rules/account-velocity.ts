/** Velocity per account: how many top-ups, payments, code mints and funding sources, and how much money. */
import { BUCKET, DAY, HOUR } from '../keys.ts';
import { count, minor, paramCodec, type ParamsOf } from '../params.ts';
import type { RiskRule } from '../types.ts';
import { accountNeed } from './common.ts';

const spec = {
  topUpsPerHourMax: count(1, 1000), topUpAmountPerDayMaxMinor: minor(),
  paymentsPerHourMax: count(1, 10_000), paymentAmountPerDayMaxMinor: minor(),
  codeMintsPerHourMax: count(1, 10_000), fundingSourcesPerDayMax: count(1, 100),
};
const codec = paramCodec('account_velocity', spec);
interface Limits { readonly count: number | null; readonly amount: bigint | null; readonly countPerDay: number | null }

export const accountVelocity: RiskRule<ParamsOf<typeof spec>> = {
  id: 'account_velocity',
  description: 'Too many top-ups, payments, code mints or new funding sources per account, or too much money, over sliding windows',
  kinds: ['top_up', 'payment', 'payment_code_mint', 'funding_source_add'],
  defaults: { enabled: true, action: 'review', params: {
    topUpsPerHourMax: 6, topUpAmountPerDayMaxMinor: 100_000n, paymentsPerHourMax: 30, paymentAmountPerDayMaxMinor: 200_000n,
    codeMintsPerHourMax: 60, fundingSourcesPerDayMax: 3 } },
  ...codec,
  needs: (event) => [...accountNeed(event, event.kind, BUCKET.medium, HOUR, true), ...accountNeed(event, event.kind, BUCKET.coarse, DAY, true)],
  evaluate(event, facts, params) {
    const [hour, day] = this.needs(event, params);
    if (hour === undefined || day === undefined) return null;
    const perHour = facts.counter(hour).count;
    const perDay = facts.counter(day);
    const table: Record<string, Limits> = {
      top_up: { count: params.topUpsPerHourMax, amount: params.topUpAmountPerDayMaxMinor, countPerDay: null },
      payment: { count: params.paymentsPerHourMax, amount: params.paymentAmountPerDayMaxMinor, countPerDay: null },
      payment_code_mint: { count: params.codeMintsPerHourMax, amount: null, countPerDay: null },
      funding_source_add: { count: null, amount: null, countPerDay: params.fundingSourcesPerDayMax },
    };
    const limits = table[event.kind];
    if (limits === undefined) return null;
    if (limits.count !== null && perHour > BigInt(limits.count)) return { message: `${perHour} ${event.kind} events in an hour`, observed: String(perHour), threshold: String(limits.count) };
    if (limits.countPerDay !== null && perDay.count > BigInt(limits.countPerDay)) return { message: `${perDay.count} ${event.kind} events in a day`, observed: String(perDay.count), threshold: String(limits.countPerDay) };
    if (limits.amount !== null && perDay.amountMinor > limits.amount) return { message: `${perDay.amountMinor} in ${event.kind} within a day`, observed: String(perDay.amountMinor), threshold: String(limits.amount) };
    return null;
  },
};
