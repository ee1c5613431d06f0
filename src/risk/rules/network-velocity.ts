/** Velocity per network (/24, /48): credential stuffing comes from blocks of addresses, fast. */
import { BUCKET, MINUTE } from '../keys.ts';
import { count, paramCodec, type ParamsOf } from '../params.ts';
import type { RiskRule } from '../types.ts';
import { networkNeed } from './common.ts';

const spec = { attemptsPer10MinMax: count(1, 1_000_000) };

export const networkVelocity: RiskRule<ParamsOf<typeof spec>> = {
  id: 'network_velocity',
  description: 'Too many sign-in or recovery attempts from one network within ten minutes',
  kinds: ['sign_in', 'recovery'],
  defaults: { enabled: true, action: 'challenge', params: { attemptsPer10MinMax: 60 } },
  ...paramCodec('network_velocity', spec),
  needs: (event) => networkNeed(event, event.kind, BUCKET.medium, 10 * MINUTE, true),
  evaluate(event, facts, params) {
    const [need] = this.needs(event, params);
    if (need === undefined) return null;
    const seen = facts.counter(need).count;
    return seen > BigInt(params.attemptsPer10MinMax) ? { message: `${seen} ${event.kind} attempts from one network in ten minutes`, observed: String(seen), threshold: String(params.attemptsPer10MinMax) } : null;
  },
};
