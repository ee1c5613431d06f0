/**
 * Payments far faster than this customer pays (issue 13): more than `paymentsMax` payments within
 * `windowMinutes`, or more than `dayMultiple` times the customer's average payments a day when that is higher
 * (the count of the day buckets the account budget is sized from, over `historyDays`). By default **review**:
 * the payment is refused and an operator sees the case. Malware on the victim's own established phone, paying
 * from the victim's own network at the victim's usual stores (`koban drill --attack stolen-session-home`), differs
 * from its owner in nothing but pace and amount; every challenge (the account budget's, the balance drain's) it
 * answered with the PIN it read on that phone, and it emptied the wallets ¥999 at a time. A person pays a few
 * times an hour at most; a till line is minutes per purchase. Only payments from a device the account has had for
 * `deviceAgeHours` are judged: there the challenge's confirmation (the PIN on the established phone) is the
 * malware's to give; on a newer device a challenge holds the payment already.
 */
import { BUCKET, DAY, MINUTE } from '../keys.ts';
import { count, paramCodec, type ParamsOf } from '../params.ts';
import type { RiskEvent, RiskRule } from '../types.ts';
import { accountNeed, payingFromEstablishedDevice } from './common.ts';

const spec = { windowMinutes: count(5, 24 * 60, 'minutes'), paymentsMax: count(2, 1_000), dayMultiple: count(1, 30, 'multiple'), historyDays: count(7, 60, 'days'), deviceAgeHours: count(1, 24 * 30, 'hours') };
type Params = ParamsOf<typeof spec>;

function needsOf(event: RiskEvent, params: Params) {
  // The same keys and buckets as account_velocity (payments) and account_spending_budget (the day history).
  const [recent] = accountNeed(event, 'payment', BUCKET.medium, params.windowMinutes * MINUTE, true);
  const [history] = accountNeed(event, 'spend', BUCKET.day, params.historyDays * DAY, true);
  return recent === undefined || history === undefined ? null : { recent, history };
}

/** How many payments within the window this customer may make: the floor, or a multiple of their average day. */
export function paceLimit(historyPayments: bigint, params: Params): bigint {
  const sized = (historyPayments * BigInt(params.dayMultiple)) / BigInt(params.historyDays);
  return sized > BigInt(params.paymentsMax) ? sized : BigInt(params.paymentsMax);
}

export const paymentPace: RiskRule<Params> = {
  id: 'payment_pace',
  description: 'Payments from an established phone within minutes far more than this customer makes (the floor, or a multiple of their average day)',
  kinds: ['payment'],
  defaults: { enabled: true, action: 'review', params: { windowMinutes: 10, paymentsMax: 8, dayMultiple: 2, historyDays: 30, deviceAgeHours: 24 } },
  ...paramCodec('payment_pace', spec),
  needs(event, params) {
    const needs = needsOf(event, params);
    return needs === null ? [] : [needs.recent, needs.history];
  },
  evaluate(event, facts, params) {
    const needs = needsOf(event, params);
    // A payment proved with the customer's passkey is the customer's, however fast they buy (a festival's stalls).
    if (needs === null || event.passkeyProved === true || !payingFromEstablishedDevice(facts, params.deviceAgeHours)) return null;
    const recent = facts.counter(needs.recent).count;
    const limit = paceLimit(facts.counter(needs.history).count, params);
    if (recent <= limit) return null;
    return { message: `${recent} payments within ${params.windowMinutes} min, more than this customer's ${limit}`, observed: String(recent), threshold: String(limit) };
  },
};
