// Card-number rules and the sandbox's documented test cards (see README.md). Only test cards are accepted,
// as in Stripe's test mode: a real PAN typed into a sandbox is refused rather than processed and kept.
import { createHmac } from 'node:crypto';

export type CardBrand = 'visa' | 'mastercard' | 'amex' | 'jcb' | 'diners' | 'discover' | 'unknown';
export type ThreeDSecure = 'required' | 'optional';
export type DeclineCode =
  | 'insufficient_funds'
  | 'generic_decline'
  | 'expired_card'
  | 'card_blocked'
  | 'authentication_failed'
  | 'authentication_expired';

export interface TestCard {
  threeDSecure: ThreeDSecure;
  // null approves; a code declines (after the challenge, for 3-D Secure cards).
  declineCode: DeclineCode | null;
}

export const TEST_CARDS: ReadonlyMap<string, TestCard> = new Map<string, TestCard>([
  ['4242424242424242', { threeDSecure: 'optional', declineCode: null }],
  ['5555555555554444', { threeDSecure: 'optional', declineCode: null }],
  ['3566002020360505', { threeDSecure: 'optional', declineCode: null }],
  ['378282246310005', { threeDSecure: 'optional', declineCode: null }],
  ['4000000000003220', { threeDSecure: 'required', declineCode: null }],
  ['4000008400001629', { threeDSecure: 'required', declineCode: 'generic_decline' }],
  ['4000000000009995', { threeDSecure: 'optional', declineCode: 'insufficient_funds' }],
  ['4000000000000002', { threeDSecure: 'optional', declineCode: 'generic_decline' }],
  ['4000000000000069', { threeDSecure: 'optional', declineCode: 'expired_card' }],
]);

/** CVV that the sandbox treats as wrong; every other well-formed CVV is right. */
export const WRONG_CVV = '000';

export function luhnValid(pan: string): boolean {
  let sum = 0;
  for (let index = 0; index < pan.length; index += 1) {
    let digit = pan.charCodeAt(pan.length - 1 - index) - 48;
    if (digit < 0 || digit > 9) return false;
    if (index % 2 === 1) digit = digit * 2 > 9 ? digit * 2 - 9 : digit * 2;
    sum += digit;
  }
  return pan.length > 0 && sum % 10 === 0;
}

function prefixIn(pan: string, length: number, low: number, high: number): boolean {
  const prefix = Number(pan.slice(0, length));
  return prefix >= low && prefix <= high;
}

export function cardBrand(pan: string): CardBrand {
  if (pan.startsWith('4')) return 'visa';
  if (prefixIn(pan, 2, 51, 55) || prefixIn(pan, 4, 2221, 2720)) return 'mastercard';
  if (pan.startsWith('34') || pan.startsWith('37')) return 'amex';
  if (prefixIn(pan, 4, 3528, 3589)) return 'jcb';
  if (pan.startsWith('36') || prefixIn(pan, 3, 300, 305)) return 'diners';
  if (pan.startsWith('6011') || pan.startsWith('65')) return 'discover';
  return 'unknown';
}

// Keyed, so the fingerprint cannot be reversed by hashing the small space of valid card numbers.
export function cardFingerprint(key: string, pan: string): string {
  return createHmac('sha256', key).update(pan).digest('base64url').slice(0, 22);
}
