/** A payment at a store far from every store the account usually pays at (a mule in another city). */
import { distanceKm } from '../keys.ts';
import { count, number, paramCodec, type ParamsOf } from '../params.ts';
import type { RiskRule } from '../types.ts';

const spec = { distanceKmMin: number(1, 20_000), usualStoresMin: count(1, 100, 'stores') };

export const distantStore: RiskRule<ParamsOf<typeof spec>> = {
  id: 'distant_store',
  description: 'A payment at a store far from all the stores the account used in the last 90 days',
  kinds: ['payment'],
  defaults: { enabled: true, action: 'challenge', params: { distanceKmMin: 300, usualStoresMin: 2 } },
  ...paramCodec('distant_store', spec),
  needs: () => [],
  evaluate(_event, facts, params) {
    const store = facts.store;
    if (store === null || store.here === null || store.usual.length < params.usualStoresMin) return null;
    const here = store.here;
    const nearest = Math.min(...store.usual.map((usual) => distanceKm(here, usual)));
    return nearest > params.distanceKmMin ? { message: `store ${Math.round(nearest)} km from the nearest usual store`, observed: String(Math.round(nearest)), threshold: String(params.distanceKmMin) } : null;
  },
};
