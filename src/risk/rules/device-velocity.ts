/** Velocity per device: one phone driving many sign-ins, top-ups or payments is a script, not a person. */
import { BUCKET, HOUR } from '../keys.ts';
import { count, paramCodec, type ParamsOf } from '../params.ts';
import type { RiskRule } from '../types.ts';
import { deviceNeed } from './common.ts';

const spec = { eventsPerHourMax: count(1, 100_000) };

export const deviceVelocity: RiskRule<ParamsOf<typeof spec>> = {
  id: 'device_velocity',
  description: 'Too many events of one kind from one device within an hour',
  kinds: ['sign_in', 'top_up', 'payment', 'payment_code_mint'],
  defaults: { enabled: true, action: 'challenge', params: { eventsPerHourMax: 40 } },
  ...paramCodec('device_velocity', spec),
  needs: (event) => deviceNeed(event, event.kind, BUCKET.medium, HOUR, true),
  evaluate(event, facts, params) {
    const [need] = this.needs(event, params);
    if (need === undefined) return null;
    const seen = facts.counter(need).count;
    return seen > BigInt(params.eventsPerHourMax) ? { message: `${seen} ${event.kind} events from one device in an hour`, observed: String(seen), threshold: String(params.eventsPerHourMax) } : null;
  },
};
