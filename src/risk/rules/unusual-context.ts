/**
 * A payment in a context the account's owner has not shown before (issue 13): a device new to an
 * established account, a network new to it, a credential or contact changed in the last hours (counted from
 * `credential_change` events), a funding source added in the last hours (`funding_source_add`), or a store
 * new to a customer who has others. Each is what a takeover looks like (a stolen session elsewhere, a SIM
 * swap then a password change, the thief's own card); a challenge asks the customer to confirm with a
 * factor the thief is unlikely to hold. A credential change and a second device count on any account; a new
 * funding source, network or store only on an account established before the window (a brand-new
 * customer's first card, networks and stores are all new: the account budget covers them).
 *
 * Payments up to `smallAmountMinor` pass (a coffee on a new network), and that small amount is an **allowance per
 * cool-down, not per payment**: after a credential or contact change it is what the account spent within
 * `recentHours` (this payment included); in any other unusual context it is what the account spent in unusual
 * contexts within `recentHours` (the `unusual_spend` counter, added after each decision with `countsAfter`, held and
 * refused attempts included). Per payment, a thief holding a session on the victim's own phone paid ¥999 steps from
 * their own network up to the hourly account budget (≈ ¥10,000), and `koban drill --attack sim-swap` took ¥1,000
 * steps the same way; now both get at most the allowance once per window. Spending in the customer's usual
 * context never counts against it.
 */
import { BUCKET, HOUR } from '../keys.ts';
import { count, minor, paramCodec, type ParamsOf } from '../params.ts';
import type { Facts, RiskEvent, RiskRule } from '../types.ts';
import { accountNeed, amountOf, payingFromEstablishedDevice } from './common.ts';

const spec = { recentHours: count(1, 24 * 7, 'hours'), smallAmountMinor: minor() };
type Params = ParamsOf<typeof spec>;

/** The counters the rule keeps: credential changes and new funding sources per account, hourly buckets. */
function needsOf(event: RiskEvent, params: Params) {
  const window = params.recentHours * HOUR;
  return {
    credential: accountNeed(event, 'credential_change', BUCKET.coarse, window, event.kind === 'credential_change'),
    funding: accountNeed(event, 'funding_source_add', BUCKET.coarse, window, event.kind === 'funding_source_add'),
    // Read only: account_spending_budget counts every payment into the same hourly buckets.
    spent: event.kind === 'payment' ? accountNeed(event, 'spend', BUCKET.coarse, window, false) : [],
    // What the account spent in unusual contexts: read here, added to after the decision (countsAfter).
    unusualSpent: event.kind === 'payment' ? accountNeed(event, UNUSUAL_SPEND, BUCKET.coarse, window, false) : [],
  };
}

const CREDENTIAL_CHANGED = 'a credential or contact changed';
const UNUSUAL_SPEND = 'unusual_spend';

function recent(facts: Facts, firstSeenMs: number, params: Params): boolean {
  return facts.nowMs - firstSeenMs < params.recentHours * 3_600_000;
}

/** Why this context is unusual for the account, or null. */
export function unusualContext(event: RiskEvent, facts: Facts, params: Params): string | null {
  const needs = needsOf(event, params);
  const [credential] = needs.credential;
  if (credential !== undefined && facts.counter(credential).count > 0n) return `${CREDENTIAL_CHANGED} within ${params.recentHours} h`;
  const device = facts.device;
  if (device === null) return null;
  // A device new to an account that had another before it (a customer's first phone is not a takeover).
  const other = device.otherFirstSeenMs ?? null;
  if (recent(facts, device.firstSeenMs, params) && other !== null && other < device.firstSeenMs) return 'a device new to this account';
  // The rest only for an account established before the window: a newcomer's first card, networks and stores are all new.
  if (recent(facts, Math.min(device.firstSeenMs, other ?? device.firstSeenMs), params)) return null;
  const [funding] = needs.funding;
  if (funding !== undefined && facts.counter(funding).count > 0n) return `a funding source was added within ${params.recentHours} h`;
  if (facts.network !== null && recent(facts, facts.network.firstSeenMs, params)) return 'a network new to this account';
  if (facts.storeLink !== null && recent(facts, facts.storeLink.firstSeenMs, params) && (facts.store?.usual.length ?? 0) > 0) return 'a store new to this customer';
  return null;
}

export const unusualContextRule: RiskRule<Params> = {
  id: 'unusual_context',
  description: 'A payment from a device or network new to an established account, after a credential or contact change, after a new funding source, or at a store new to the customer',
  kinds: ['payment', 'credential_change', 'funding_source_add'],
  defaults: { enabled: true, action: 'challenge', params: { recentHours: 24, smallAmountMinor: 1_000n } },
  ...paramCodec('unusual_context', spec),
  needs(event, params) {
    const needs = needsOf(event, params);
    return [...needs.credential, ...needs.funding, ...needs.spent, ...needs.unusualSpent];
  },
  countsAfter(event, facts, params) {
    if (event.kind !== 'payment' || unusualContext(event, facts, params) === null) return [];
    return accountNeed(event, UNUSUAL_SPEND, BUCKET.coarse, params.recentHours * HOUR, true);
  },
  evaluate(event, facts, params) {
    if (event.kind !== 'payment') return null;
    const why = unusualContext(event, facts, params);
    if (why === null) return null;
    const needs = needsOf(event, params);
    const [allowanceUsed] = why.startsWith(CREDENTIAL_CHANGED) ? needs.spent : needs.unusualSpent;
    const counted = (allowanceUsed === undefined ? 0n : facts.counter(allowanceUsed).amountMinor) + amountOf(event);
    if (counted <= params.smallAmountMinor) return null;
    return { message: `payment of ${amountOf(event)}: ${why}`, observed: String(counted), threshold: String(params.smallAmountMinor) };
  },
};

const CEILING_SPEND = 'unusual_spend_ceiling';
const ceilingSpec = { recentHours: count(1, 24 * 7, 'hours'), amountMaxMinor: minor(), deviceAgeHours: count(1, 24 * 30, 'hours') };
type CeilingParams = ParamsOf<typeof ceilingSpec>;

function ceilingNeeds(event: RiskEvent, params: CeilingParams, increment: boolean) {
  const context = needsOf(event, { recentHours: params.recentHours, smallAmountMinor: 1n });
  const spent = event.kind === 'payment' ? accountNeed(event, CEILING_SPEND, BUCKET.coarse, params.recentHours * HOUR, increment) : [];
  return { context: [...context.credential, ...context.funding], spent };
}

/** Why this payment counts toward the ceiling, or null. One proved with the customer's passkey never does: malware cannot make it. */
function ceilingContext(event: RiskEvent, facts: Facts, params: CeilingParams): string | null {
  if (event.kind !== 'payment' || event.passkeyProved === true || !payingFromEstablishedDevice(facts, params.deviceAgeHours)) return null;
  return unusualContext(event, facts, { recentHours: params.recentHours, smallAmountMinor: 1n });
}

/**
 * A ceiling on money leaving in unusual contexts (issue 13), above `unusual_context`'s challenge: what the
 * account spent within `recentHours` in contexts that rule calls unusual (its own counter, held and refused
 * attempts included), this payment included, above `amountMaxMinor` — by default **review**, so the payment is
 * refused and an operator sees the case. A challenge is answered by the PIN on the customer's established phone,
 * and malware on that phone holds both: `koban drill --attack stolen-session` (the thief's network) and
 * `colluding-merchant` (stores new to every victim) with established victims confirmed every held payment and
 * emptied the wallets (¥30,000 each), where a newcomer's phone was refused the confirmation. Only payments from a
 * device the account has had for `deviceAgeHours` count (where that PIN can be given on the paying device itself):
 * on a newer one the challenge holds the payment already, and a customer who just moved to a new phone is not
 * refused outright. A customer really travelling with their phone confirms up to the ceiling on it (or with a
 * passkey) and then needs an operator.
 */
export const unusualContextCeiling: RiskRule<CeilingParams> = {
  id: 'unusual_context_ceiling',
  description: 'Money leaving from an established phone in unusual contexts (new network, after a credential change or a new card, a new store) above a ceiling within hours, confirmed or not',
  kinds: ['payment'],
  defaults: { enabled: true, action: 'review', params: { recentHours: 24, amountMaxMinor: 3_000n, deviceAgeHours: 24 } },
  ...paramCodec('unusual_context_ceiling', ceilingSpec),
  needs(event, params) {
    const needs = ceilingNeeds(event, params, false);
    return [...needs.context, ...needs.spent];
  },
  countsAfter(event, facts, params) {
    return ceilingContext(event, facts, params) === null ? [] : ceilingNeeds(event, params, true).spent;
  },
  evaluate(event, facts, params) {
    const why = ceilingContext(event, facts, params);
    if (why === null) return null;
    const [spent] = ceilingNeeds(event, params, false).spent;
    const counted = (spent === undefined ? 0n : facts.counter(spent).amountMinor) + amountOf(event);
    if (counted <= params.amountMaxMinor) return null;
    return { message: `${counted} spent in unusual contexts within ${params.recentHours} h (this payment: ${why})`, observed: String(counted), threshold: String(params.amountMaxMinor) };
  },
};
