/**
 * Many people who never sent to this recipient before, all sending within a short window: a money mule
 * collecting from victims (or from accounts an attacker took over). Scored on each send, counted per recipient.
 */
import { BUCKET, counterKey, HOUR } from '../keys.ts';
import { count, paramCodec, type ParamsOf } from '../params.ts';
import type { CounterNeed, RiskEvent, RiskRule } from '../types.ts';

const spec = { windowHours: count(1, 72, 'hours'), newSendersMax: count(1, 1000, 'accounts') };

function recipientNeed(event: RiskEvent, windowHours: number): CounterNeed[] {
  if (event.counterpartyId === null || event.counterpartyId === undefined) return [];
  // Only a first send from this sender counts: a flatmate who pays the rent every month is one sender.
  return [{ key: counterKey('acct', event.counterpartyId, 'new_sender'), bucketSec: BUCKET.medium, windowSec: windowHours * HOUR, increment: event.firstToCounterparty === true }];
}

export const muleNewSenders: RiskRule<ParamsOf<typeof spec>> = {
  id: 'mule_new_senders',
  description: 'More people sending to one recipient for the first time within hours than a person collects',
  kinds: ['send'],
  defaults: { enabled: true, action: 'review', params: { windowHours: 24, newSendersMax: 10 } },
  ...paramCodec('mule_new_senders', spec),
  needs: (event, params) => recipientNeed(event, params.windowHours),
  evaluate(event, facts, params) {
    const [need] = this.needs(event, params);
    if (need === undefined || !need.increment) return null;
    const seen = facts.counter(need).count;
    return seen > BigInt(params.newSendersMax)
      ? { message: `${seen} new senders to this recipient within ${params.windowHours} h`, observed: String(seen), threshold: String(params.newSendersMax) }
      : null;
  },
};
