/** Requests from networks or countries an operator marked (e.g. "overseas access" during 7pay). */
import { paramCodec } from '../params.ts';
import type { RiskRule } from '../types.ts';

export const markedSource: RiskRule<Record<string, never>> = {
  id: 'marked_source',
  description: 'Sign-ins and account changes from a network or country on the operators\' marked lists',
  kinds: ['sign_in', 'recovery', 'social_link', 'funding_source_add'],
  defaults: { enabled: true, action: 'challenge', params: {} },
  ...paramCodec('marked_source', {}),
  needs: () => [],
  evaluate(event, facts) {
    if (event.ip && facts.lists.networkIn('marked_network', event.ip)) return { message: `from marked network (${event.ip})`, observed: event.ip };
    if (event.country && facts.lists.has('marked_country', event.country.toUpperCase())) return { message: `from marked country ${event.country.toUpperCase()}`, observed: event.country };
    return null;
  },
};
