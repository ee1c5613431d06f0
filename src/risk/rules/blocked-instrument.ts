/** A device, card or network an operator blocked: refused whatever else is true. */
import { paramCodec } from '../params.ts';
import type { RiskRule } from '../types.ts';

export const blockedInstrument: RiskRule<Record<string, never>> = {
  id: 'blocked_instrument',
  description: 'Anything from a blocked device, card or network',
  kinds: ['sign_in', 'recovery', 'social_link', 'funding_source_add', 'top_up', 'payment_code_mint', 'payment', 'credential_change'],
  defaults: { enabled: true, action: 'deny', params: {} },
  ...paramCodec('blocked_instrument', {}),
  needs: () => [],
  evaluate(event, facts) {
    if (event.deviceId && facts.lists.has('blocked_device', event.deviceId)) return { message: 'blocked device', observed: event.deviceId };
    if (event.cardRef && facts.lists.has('blocked_card', event.cardRef)) return { message: 'blocked card', observed: event.cardRef };
    if (event.ip && facts.lists.networkIn('blocked_network', event.ip)) return { message: 'blocked network', observed: event.ip };
    return null;
  },
};
