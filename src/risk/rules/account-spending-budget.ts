/**
 * Money leaves an account only as fast as its customer usually spends it (issue 13). The budget belongs to
 * the account, not to a device: the rule it replaces (`new_device_spending`) budgeted per device, so each
 * fresh sign-in on a new device restored ¥20,000 and a thief signing in again and again emptied the wallet in
 * steps. Windows slide (1 h in 5-minute buckets, 24 h in hourly ones); the size comes from the customer's
 * own history (day buckets over `historyDays`), so a new customer gets the small default and a customer who
 * spends ¥50,000 a week gets room for a normal day. Above it the payment needs a strong confirmation (a
 * challenge: payments holds a till payment for the customer's confirmation, a QR payment asks for the
 * PIN plus a factor the thief is unlikely to hold); counts include payments that were held or refused, so a
 * thief probing the budget does not get to reset it.
 */
import { BUCKET, DAY, HOUR } from '../keys.ts';
import { count, minor, paramCodec, type ParamsOf } from '../params.ts';
import type { CounterNeed, RiskEvent, RiskRule } from '../types.ts';
import { accountNeed } from './common.ts';

const spec = { defaultHourMinor: minor(), defaultDayMinor: minor(), historyDays: count(7, 60, 'days'), dayMultipleOfAverage: count(1, 30, 'multiple') };
type Params = ParamsOf<typeof spec>;

function needsOf(event: RiskEvent, params: Params): { hour: CounterNeed; day: CounterNeed; history: CounterNeed } | null {
  const [hour] = accountNeed(event, 'spend', BUCKET.medium, HOUR, true);
  const [day] = accountNeed(event, 'spend', BUCKET.coarse, DAY, true);
  const [history] = accountNeed(event, 'spend', BUCKET.day, params.historyDays * DAY, true);
  return hour === undefined || day === undefined || history === undefined ? null : { hour, day, history };
}

/** The day's budget: the default, or `dayMultipleOfAverage` times what the customer spends on an average day. */
export function dayBudgetMinor(historyMinor: bigint, params: Params): bigint {
  const average = historyMinor / BigInt(params.historyDays);
  const sized = average * BigInt(params.dayMultipleOfAverage);
  return sized > params.defaultDayMinor ? sized : params.defaultDayMinor;
}

export const accountSpendingBudget: RiskRule<Params> = {
  id: 'account_spending_budget',
  description: 'Payments from one account above its spending budget over the last hour or day (sized from its own history; a new customer gets the default)',
  kinds: ['payment'],
  defaults: { enabled: true, action: 'challenge', params: { defaultHourMinor: 10_000n, defaultDayMinor: 20_000n, historyDays: 30, dayMultipleOfAverage: 3 } },
  ...paramCodec('account_spending_budget', spec),
  needs(event, params) {
    const needs = needsOf(event, params);
    return needs === null ? [] : [needs.hour, needs.day, needs.history];
  },
  evaluate(event, facts, params) {
    const needs = needsOf(event, params);
    if (needs === null) return null;
    const dayBudget = dayBudgetMinor(facts.counter(needs.history).amountMinor, params);
    const hourBudget = dayBudget / 2n > params.defaultHourMinor ? dayBudget / 2n : params.defaultHourMinor;
    const hour = facts.counter(needs.hour).amountMinor;
    if (hour > hourBudget) return { message: `${hour} spent within an hour, above this account's hourly budget`, observed: String(hour), threshold: String(hourBudget) };
    const day = facts.counter(needs.day).amountMinor;
    if (day > dayBudget) return { message: `${day} spent within a day, above this account's daily budget`, observed: String(day), threshold: String(dayBudget) };
    return null;
  },
};
