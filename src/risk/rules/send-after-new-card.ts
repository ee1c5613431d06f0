/**
 * A send soon after a top-up from a card registered in the last 24 hours: the cash-out of a stolen card
 * (top up with it, send the money on to an accomplice before the cardholder notices). The wallet says how
 * much such top-ups brought in; the rule decides whether it matters.
 */
import { minor, paramCodec, type ParamsOf } from '../params.ts';
import type { RiskRule } from '../types.ts';

const spec = { newCardTopUpMinMinor: minor() };

export const sendAfterNewCardTopUp: RiskRule<ParamsOf<typeof spec>> = {
  id: 'send_after_new_card_top_up',
  description: 'A send soon after a top-up from a card registered within the last 24 hours',
  kinds: ['send', 'withdrawal'],
  defaults: { enabled: true, action: 'review', params: { newCardTopUpMinMinor: 1n } },
  ...paramCodec('send_after_new_card_top_up', spec),
  needs: () => [],
  evaluate(event, _facts, params) {
    const toppedUp = event.newCardTopUpMinor ?? 0n;
    return toppedUp >= params.newCardTopUpMinMinor
      ? { message: `${toppedUp} topped up from a card added within 24 h, then sent on`, observed: String(toppedUp), threshold: String(params.newCardTopUpMinMinor) }
      : null;
  },
};
