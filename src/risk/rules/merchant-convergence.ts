/**
 * Money converging on one merchant from accounts that just changed hands (issue 13: stolen sessions paying a
 * colluding merchant's order QRs). A payment comes from a **recently changed** account when, within
 * `recentHours`, a credential or contact changed on it, a funding source was added to it, or it is paying from
 * a device new to it (an account that had another device before); or from an **unusual context** on an account
 * established before the window: a network new to it, or a store new to a customer who has usual ones. Malware on
 * the victim's own established phone changes nothing on the account, so the first version, which counted changes
 * only, never saw the drill's malware sessions converging on a colluding merchant (`koban drill --attack
 * colluding-merchant`: no merchant case, the merchant never suspended); their payments do come from the thief's
 * network and go to stores none of the victims ever paid at. Each such payment is counted against its
 * merchant (5-minute buckets over `windowMinutes`); from the `paymentsMin`-th one on, every further payment
 * to that merchant from such an account fires: by default a challenge (the payment waits for the
 * customer's strong confirmation, customer-confirmation.ts), and the alert opens or joins a case on the merchant
 * (`merchant:<id>`) as well as on the customer, with the reasons. Ordinary customers' payments (no change, an
 * old device, a network and a store they have used before) are never counted and never fire.
 *
 * Unlike the other rules, the merchant's counter grows only after the facts are known (whether the account
 * changed recently is a fact, not an input): the engine writes it after the decision (`countsAfter`), in one
 * extra statement only for such payments.
 */
import { BUCKET, counterKey, HOUR, MINUTE } from '../keys.ts';
import { count, paramCodec, type ParamsOf } from '../params.ts';
import type { CounterNeed, Facts, RiskEvent, RiskRule } from '../types.ts';
import { accountNeed } from './common.ts';

const spec = { paymentsMin: count(2, 10_000), windowMinutes: count(5, 24 * 60, 'minutes'), recentHours: count(1, 24 * 7, 'hours') };
type Params = ParamsOf<typeof spec>;

function changeNeeds(event: RiskEvent, params: Params) {
  const window = params.recentHours * HOUR;
  return {
    credential: accountNeed(event, 'credential_change', BUCKET.coarse, window, event.kind === 'credential_change'),
    funding: accountNeed(event, 'funding_source_add', BUCKET.coarse, window, event.kind === 'funding_source_add'),
  };
}

function merchantNeed(event: RiskEvent, params: Params, increment: boolean): CounterNeed[] {
  return event.kind === 'payment' && event.merchantId
    ? [{ key: counterKey('merchant', event.merchantId, 'changed_payment'), bucketSec: BUCKET.medium, windowSec: params.windowMinutes * MINUTE, increment }]
    : [];
}

/** What changed on the account recently, or null. */
export function recentChange(event: RiskEvent, facts: Facts, params: Params): string | null {
  const { credential, funding } = changeNeeds(event, params);
  const [c] = credential;
  if (c !== undefined && facts.counter(c).count > 0n) return 'a credential or contact changed';
  const device = facts.device;
  if (device === null) return null;
  const recent = (firstSeenMs: number) => facts.nowMs - firstSeenMs < params.recentHours * 3_600_000;
  const other = device.otherFirstSeenMs ?? null;
  // A new phone set up on a network the account has long known is a customer moving phones, not a change of hands
  // (the drill's operator froze such movers' wallets from this rule's cases); a thief's new device is elsewhere.
  const movedAtHome = facts.network !== null && !recent(facts.network.firstSeenMs);
  if (other !== null && other < device.firstSeenMs && recent(device.firstSeenMs) && !movedAtHome) return 'a device new to the account';
  // A new funding source, network or store counts only on an account established before the window (as
  // unusual_context): a newcomer's first card, networks and stores, which every ordinary new customer has, are
  // not a change of hands.
  if (recent(Math.min(device.firstSeenMs, other ?? device.firstSeenMs))) return null;
  const [f] = funding;
  if (f !== undefined && facts.counter(f).count > 0n) return 'a funding source was added';
  if (facts.network !== null && recent(facts.network.firstSeenMs)) return 'a network new to the account';
  if (facts.storeLink !== null && recent(facts.storeLink.firstSeenMs) && (facts.store?.usual.length ?? 0) > 0) return 'a store new to this customer';
  return null;
}

export const merchantConvergence: RiskRule<Params> = {
  id: 'merchant_convergence',
  description: 'Many payments to one merchant from accounts changed recently (credential or contact change, new funding source, new device) or paying from an unusual context (a network new to an established account, a store new to the customer)',
  kinds: ['payment', 'credential_change', 'funding_source_add'],
  defaults: { enabled: true, action: 'challenge', params: { paymentsMin: 5, windowMinutes: 60, recentHours: 24 } },
  ...paramCodec('merchant_convergence', spec),
  needs(event, params) {
    const { credential, funding } = changeNeeds(event, params);
    return [...credential, ...funding, ...merchantNeed(event, params, false)];
  },
  evaluate(event, facts, params) {
    if (event.kind !== 'payment') return null;
    const [merchant] = merchantNeed(event, params, false);
    if (merchant === undefined) return null;
    const why = recentChange(event, facts, params);
    if (why === null) return null;
    const converging = facts.counter(merchant).count + 1n;
    if (converging < BigInt(params.paymentsMin)) return null;
    return {
      message: `${converging} payments within ${params.windowMinutes} min to merchant ${event.merchantId} from recently changed accounts or unusual contexts (this one: ${why} within ${params.recentHours} h)`,
      observed: String(converging), threshold: String(params.paymentsMin),
    };
  },
  countsAfter(event, facts, params) {
    if (event.kind !== 'payment' || recentChange(event, facts, params) === null) return [];
    return merchantNeed(event, params, true);
  },
};

/** The case subject a merchant's alerts go to (cases are keyed by a subject; a customer's is their id). */
export function merchantCaseSubject(merchantId: string): string {
  return `merchant:${merchantId}`;
}

/**
 * Who an alert is about: the customer, and — when money converging on one merchant fired — the merchant too,
 * so an operator sees the merchant's case grow with every such payment and can suspend it.
 */
export function alertSubjects(event: RiskEvent, decision: { readonly reasons: ReadonlyArray<{ readonly rule: string }> }): Array<{ accountId: string | null }> {
  const merchant = event.merchantId && decision.reasons.some((reason) => reason.rule === merchantConvergence.id) ? [{ accountId: merchantCaseSubject(event.merchantId) }] : [];
  return [{ accountId: event.accountId }, ...merchant];
}
