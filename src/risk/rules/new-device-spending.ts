/**
 * A device new to an established account spending fast. `koban drill --assume-sessions` showed why this rule exists:
 * an attacker who passes sign-in (7pay: no second factor at all) spends the victim's balance in ¥5,000
 * payments that stay under every per-payment threshold, and the wallet is empty in seconds — long before
 * an operator can act. A customer on a new phone rarely spends tens of thousands of yen in minutes; when
 * they do, review (refuse, open a case) costs one phone call, and the cap bounds what an attacker gets.
 */
import { BUCKET, MINUTE } from '../keys.ts';
import { count, minor, paramCodec, type ParamsOf } from '../params.ts';
import type { RiskRule } from '../types.ts';
import { deviceNeed } from './common.ts';

const spec = { newForHours: count(1, 24 * 30), windowMinutes: count(5, 24 * 60), amountMaxMinor: minor(), paymentsMax: count(1, 1000) };

export const newDeviceSpending: RiskRule<ParamsOf<typeof spec>> = {
  id: 'new_device_spending',
  description: 'A device first seen recently on an account that already had another device, spending more, or more often, than a person does within minutes',
  kinds: ['payment'],
  defaults: { enabled: true, action: 'review', params: { newForHours: 24, windowMinutes: 30, amountMaxMinor: 20_000n, paymentsMax: 8 } },
  ...paramCodec('new_device_spending', spec),
  // Counted per device in 5-minute buckets: the window slides in steps of at most five minutes.
  needs: (event, params) => deviceNeed(event, 'spend', BUCKET.medium, params.windowMinutes * MINUTE, true),
  evaluate(event, facts, params) {
    if (facts.device === null) return null;
    const ageMs = facts.nowMs - facts.device.firstSeenMs;
    if (ageMs > params.newForHours * 3_600_000) return null;
    // Only a device new to an account that already had another: a new customer's first phone is not a takeover.
    const other = facts.device.otherFirstSeenMs ?? null;
    if (other === null || other >= facts.device.firstSeenMs) return null;
    const [need] = this.needs(event, params);
    if (need === undefined) return null;
    const spent = facts.counter(need);
    const minutes = Math.round(ageMs / 60_000);
    if (spent.amountMinor > params.amountMaxMinor) {
      return { message: `${spent.amountMinor} spent within ${params.windowMinutes} minutes from a device first seen ${minutes} minutes ago`, observed: String(spent.amountMinor), threshold: String(params.amountMaxMinor) };
    }
    if (spent.count > BigInt(params.paymentsMax)) {
      return { message: `${spent.count} payments within ${params.windowMinutes} minutes from a device first seen ${minutes} minutes ago`, observed: String(spent.count), threshold: String(params.paymentsMax) };
    }
    return null;
  },
};
