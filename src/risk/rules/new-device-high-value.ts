/** A device this account has never used, asking for a high-value action (new phone + big top-up). */
import { count, minor, paramCodec, type ParamsOf } from '../params.ts';
import type { RiskRule } from '../types.ts';
import { amountOf } from './common.ts';

const spec = { newForHours: count(1, 24 * 30), amountMinMinor: minor() };

export const newDeviceHighValue: RiskRule<ParamsOf<typeof spec>> = {
  id: 'new_device_high_value',
  description: 'A high-value action (or a new funding source) from a device first seen on this account recently',
  kinds: ['top_up', 'payment', 'payment_code_mint', 'funding_source_add'],
  defaults: { enabled: true, action: 'challenge', params: { newForHours: 24, amountMinMinor: 10_000n } },
  ...paramCodec('new_device_high_value', spec),
  needs: () => [],
  evaluate(event, facts, params) {
    if (facts.device === null) return null;
    const ageMs = facts.nowMs - facts.device.firstSeenMs;
    if (ageMs > params.newForHours * 3_600_000) return null;
    const highValue = event.kind === 'funding_source_add' || amountOf(event) >= params.amountMinMinor;
    return highValue ? { message: `${event.kind} from a device first seen ${Math.round(ageMs / 60_000)} minutes ago`, observed: String(amountOf(event)), threshold: String(params.amountMinMinor) } : null;
  },
};
