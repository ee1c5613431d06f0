/** A device this account has never used, asking for a high-value action (new phone + big top-up). */
import { count, minor, paramCodec, type ParamsOf } from '../params.ts';
import type { RiskRule } from '../types.ts';
import { amountOf } from './common.ts';

const spec = { newForHours: count(1, 24 * 30, 'hours'), amountMinMinor: minor() };

export const newDeviceHighValue: RiskRule<ParamsOf<typeof spec>> = {
  id: 'new_device_high_value',
  description: 'A high-value action from a device first seen on this account recently, or a new funding source from a device new to an account that had another',
  kinds: ['top_up', 'payment', 'payment_code_mint', 'funding_source_add'],
  defaults: { enabled: true, action: 'challenge', params: { newForHours: 24, amountMinMinor: 10_000n } },
  ...paramCodec('new_device_high_value', spec),
  needs: () => [],
  evaluate(event, facts, params) {
    if (facts.device === null) return null;
    const ageMs = facts.nowMs - facts.device.firstSeenMs;
    if (ageMs > params.newForHours * 3_600_000) return null;
    // A card added from a device new to an account that already had another is a takeover's first move;
    // a new customer adding the first card on their first phone is how everyone starts (it opened a case
    // for every sign-up). Amounts over the threshold are judged the same on any new device.
    const other = facts.device.otherFirstSeenMs ?? null;
    const newcomersFirstDevice = other === null || other >= facts.device.firstSeenMs;
    const highValue = (event.kind === 'funding_source_add' && !newcomersFirstDevice) || amountOf(event) >= params.amountMinMinor;
    return highValue ? { message: `${event.kind} from a device first seen ${Math.round(ageMs / 60_000)} minutes ago`, observed: String(amountOf(event)), threshold: String(params.amountMinMinor) } : null;
  },
};
