/**
 * A balance being emptied quickly (issue 13): the wallet was drained in minutes in every takeover the drill
 * ran, in steps under every per-payment threshold. Fires when the payments of the last `windowMinutes`
 * (this one included) take at least `percentMin` % of what the wallet held before them, above `amountMinMinor`.
 * Needs the balance before the payment (`balanceMinor`, given by payments).
 */
import { BUCKET, MINUTE } from '../keys.ts';
import { count, minor, paramCodec, type ParamsOf } from '../params.ts';
import type { RiskRule } from '../types.ts';
import { accountNeed } from './common.ts';

const spec = { windowMinutes: count(5, 24 * 60, 'minutes'), percentMin: count(10, 100, 'percent'), amountMinMinor: minor() };

export const balanceDrain: RiskRule<ParamsOf<typeof spec>> = {
  id: 'balance_drain',
  description: 'Payments within minutes taking most of what the wallet held',
  kinds: ['payment'],
  defaults: { enabled: true, action: 'challenge', params: { windowMinutes: 30, percentMin: 80, amountMinMinor: 5_000n } },
  ...paramCodec('balance_drain', spec),
  needs: (event, params) => accountNeed(event, 'spend', BUCKET.medium, params.windowMinutes * MINUTE, true),
  evaluate(event, facts, params) {
    const balance = event.balanceMinor;
    const [need] = this.needs(event, params);
    if (balance === undefined || balance === null || need === undefined) return null;
    const spent = facts.counter(need).amountMinor;
    // What the wallet held before this window's payments: the balance now plus what they took already.
    const held = balance + spent - (event.amountMinor ?? 0n);
    if (spent < params.amountMinMinor || held <= 0n) return null;
    return spent * 100n >= held * BigInt(params.percentMin)
      ? { message: `${spent} of ${held} spent within ${params.windowMinutes} minutes`, observed: String(spent), threshold: `${params.percentMin}% of ${held}` }
      : null;
  },
};
