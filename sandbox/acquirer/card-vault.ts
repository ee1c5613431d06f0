// Tokenisation. The vault keeps no PAN and no CVV: only a keyed fingerprint, brand, last 4 and expiry, which is
// all a card token needs (PCI DSS 3.3.1 / 3.4.1).
import { invalidRequest, SandboxError } from '../shared/errors.ts';
import { BoundedMap } from '../shared/bounded-map.ts';
import { newId } from '../shared/ids.ts';
import { cardBrand, cardFingerprint, luhnValid, TEST_CARDS, WRONG_CVV } from './cards.ts';
import type { CardBrand, TestCard, ThreeDSecure } from './cards.ts';

// Payments Japan (2019) asks for a limit on CVC attempts at card registration; three wrong in a row blocks the card.
export const MAX_CVV_FAILURES = 3;
const TOKEN_CAPACITY = 100_000;
const CARD_CAPACITY = 100_000;

export interface CardInput {
  number: string;
  expMonth: number;
  expYear: number;
  cvv: string;
  holderName: string;
}

export interface TokenRecord {
  id: string;
  fingerprint: string;
  brand: CardBrand;
  last4: string;
  expMonth: number;
  expYear: number;
  holderName: string;
  threeDSecure: ThreeDSecure;
  behaviour: TestCard;
  createdAtMs: number;
}

interface CardState {
  consecutiveCvvFailures: number;
  blocked: boolean;
}

function cardError(code: string, message: string, param: string, declineCode?: string): SandboxError {
  return new SandboxError(402, 'card_error', code, message, declineCode === undefined ? { param } : { param, declineCode });
}

export class CardVault {
  readonly #tokens = new BoundedMap<TokenRecord>('tokens', TOKEN_CAPACITY, 'reject');
  // Per card (by fingerprint), so the CVV limit holds across accounts and tokens.
  readonly #cards = new BoundedMap<CardState>('cards', CARD_CAPACITY, 'reject');
  readonly #fingerprintKey: string;

  constructor(fingerprintKey: string) {
    this.#fingerprintKey = fingerprintKey;
  }

  tokenize(input: CardInput, nowMs: number): TokenRecord {
    const behaviour = this.#testCard(input.number);
    const fingerprint = cardFingerprint(this.#fingerprintKey, input.number);
    const card = this.#cardState(fingerprint);
    if (card.blocked) throw cardError('card_declined', 'The card is blocked.', 'number', 'card_blocked');
    checkExpiry(input, nowMs);
    this.#checkCvv(card, input.cvv);
    const token: TokenRecord = {
      id: newId('tok'), fingerprint, brand: cardBrand(input.number), last4: input.number.slice(-4),
      expMonth: input.expMonth, expYear: input.expYear, holderName: input.holderName,
      threeDSecure: behaviour.threeDSecure, behaviour, createdAtMs: nowMs,
    };
    this.#tokens.set(token.id, token);
    return token;
  }

  get(tokenId: string): TokenRecord | undefined {
    return this.#tokens.get(tokenId);
  }

  isBlocked(fingerprint: string): boolean {
    return this.#cards.get(fingerprint)?.blocked === true;
  }

  #testCard(pan: string): TestCard {
    if (!luhnValid(pan)) throw cardError('incorrect_number', 'The card number is incorrect.', 'number');
    const behaviour = TEST_CARDS.get(pan);
    if (behaviour === undefined) {
      throw invalidRequest('unknown_test_card', 'The sandbox accepts only its documented test cards.', 'number');
    }
    return behaviour;
  }

  #cardState(fingerprint: string): CardState {
    const existing = this.#cards.get(fingerprint);
    if (existing !== undefined) return existing;
    const fresh: CardState = { consecutiveCvvFailures: 0, blocked: false };
    this.#cards.set(fingerprint, fresh);
    return fresh;
  }

  #checkCvv(card: CardState, cvv: string): void {
    if (cvv !== WRONG_CVV) {
      card.consecutiveCvvFailures = 0;
      return;
    }
    card.consecutiveCvvFailures += 1;
    if (card.consecutiveCvvFailures >= MAX_CVV_FAILURES) card.blocked = true;
    throw cardError('incorrect_cvc', "The card's security code is incorrect.", 'cvv');
  }
}

// A card is valid through the last day of its expiry month (UTC, as the sandbox has no issuer time zone).
function checkExpiry(input: CardInput, nowMs: number): void {
  const firstInvalidMs = Date.UTC(input.expYear, input.expMonth, 1);
  if (nowMs >= firstInvalidMs) throw cardError('expired_card', 'The card has expired.', 'expYear');
}
