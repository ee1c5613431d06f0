/**
 * Bulk purchases at merchants selling easily resold goods (tobacco, electronics, jewellery, gift cards).
 * 7pay's thieves bought cigarette cartons at convenience stores, which a category code cannot see:
 * Koban sees the merchant's category, so operators list the categories and tune the amount.
 */
import { BUCKET, HOUR } from '../keys.ts';
import { codes, minor, paramCodec, type ParamsOf } from '../params.ts';
import type { RiskRule } from '../types.ts';
import { accountNeed } from './common.ts';

const spec = { categoryCodes: codes(/^[0-9]{4}$/, 100), amountPerHourMaxMinor: minor() };

export const resaleBulk: RiskRule<ParamsOf<typeof spec>> = {
  id: 'resale_bulk',
  description: 'Too much spent within an hour at merchants in easily resold categories',
  kinds: ['payment'],
  defaults: { enabled: true, action: 'review', params: { categoryCodes: ['5993', '5732', '5944', '5947', '5094'], amountPerHourMaxMinor: 30_000n } },
  ...paramCodec('resale_bulk', spec),
  needs: (event, params) => (event.merchantCategoryCode && params.categoryCodes.includes(event.merchantCategoryCode)
    ? accountNeed(event, 'resale_payment', BUCKET.medium, HOUR, true) : []),
  evaluate(event, facts, params) {
    const [need] = this.needs(event, params);
    if (need === undefined) return null;
    const spent = facts.counter(need).amountMinor;
    return spent > params.amountPerHourMaxMinor ? { message: `${spent} spent at category ${event.merchantCategoryCode ?? ''} merchants within an hour`, observed: String(spent), threshold: String(params.amountPerHourMaxMinor) } : null;
  },
};
