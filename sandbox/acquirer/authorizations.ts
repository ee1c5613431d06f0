// The authorisation state machine: authorise (with an optional 3-D Secure challenge), capture once (full or
// partial), void while uncaptured, refund up to what was captured.
//
//   requires_challenge ──code ok──▶ authorized ──capture──▶ captured ──refund*──▶ (captured, refunded ≤ captured)
//        │  └─3 wrong / expired──▶ declined        └──void──▶ voided
//        └──void──▶ voided
import assert from 'node:assert/strict';
import { timingSafeEqual } from 'node:crypto';
import { BoundedMap } from '../shared/bounded-map.ts';
import { invalidRequest, invalidState, notFound, SandboxError } from '../shared/errors.ts';
import { newId } from '../shared/ids.ts';
import type { CardVault } from './card-vault.ts';
import type { DeclineCode } from './cards.ts';

export const CHALLENGE_CODE = '123456';
export const MAX_CHALLENGE_FAILURES = 3;
export const CHALLENGE_TTL_MS = 10 * 60 * 1000;
const AUTHORIZATION_CAPACITY = 100_000;
const REFUND_CAPACITY = 100_000;

export type AuthorizationStatus = 'requires_challenge' | 'authorized' | 'captured' | 'voided' | 'declined';
export type ChallengeStatus = 'pending' | 'succeeded' | 'failed' | 'expired' | 'canceled';
export type AcquirerEventType = 'authorized' | 'captured' | 'voided' | 'declined' | 'refunded' | 'challenge_failed';

export interface AuthorizationRecord {
  id: string;
  tokenId: string;
  reference: string;
  amountMinor: bigint;
  currency: 'JPY';
  status: AuthorizationStatus;
  declineCode: DeclineCode | null;
  capturedMinor: bigint;
  refundedMinor: bigint;
  challengeId: string | null;
  returnUrl: string | null;
  createdAtMs: number;
}

export interface ChallengeRecord {
  id: string;
  authorizationId: string;
  status: ChallengeStatus;
  failedAttempts: number;
  expiresAtMs: number;
}

export interface RefundRecord {
  id: string;
  authorizationId: string;
  amountMinor: bigint;
  createdAtMs: number;
}

export interface AuthorizeInput {
  tokenId: string;
  amountMinor: bigint;
  reference: string;
  returnUrl: string | null;
  // 'challenge' lets the merchant demand 3-D Secure even for cards that do not require it (first top-up, new card).
  requestThreeDSecure: 'automatic' | 'challenge';
}

export type ChallengeOutcome = 'succeeded' | 'incorrect_code' | 'failed';

export type EmitEvent = (type: AcquirerEventType, authorization: AuthorizationRecord, details: { amountMinor: bigint; refundId?: string }) => void;

function codeMatches(code: string): boolean {
  const presented = Buffer.from(code);
  const expected = Buffer.from(CHALLENGE_CODE);
  return presented.length === expected.length && timingSafeEqual(presented, expected);
}

function assertAmounts(record: AuthorizationRecord): void {
  assert.ok(record.refundedMinor >= 0n && record.refundedMinor <= record.capturedMinor, 'refunded must be within captured');
  assert.ok(record.capturedMinor <= record.amountMinor, 'captured must be within authorised');
}

export class AuthorizationBook {
  readonly #authorizations = new BoundedMap<AuthorizationRecord>('authorizations', AUTHORIZATION_CAPACITY, 'reject');
  readonly #challenges = new BoundedMap<ChallengeRecord>('challenges', AUTHORIZATION_CAPACITY, 'reject');
  readonly #refunds = new BoundedMap<RefundRecord>('refunds', REFUND_CAPACITY, 'reject');
  // Only challenges still pending, so the expiry sweep does not walk finished ones.
  readonly #pendingChallengeIds = new Set<string>();
  readonly #vault: CardVault;
  readonly #now: () => number;
  readonly #emit: EmitEvent;

  constructor(vault: CardVault, now: () => number, emit: EmitEvent) {
    this.#vault = vault;
    this.#now = now;
    this.#emit = emit;
  }

  authorize(input: AuthorizeInput): AuthorizationRecord {
    const token = this.#vault.get(input.tokenId);
    if (token === undefined) throw notFound('token', 'token');
    const record: AuthorizationRecord = {
      id: newId('auth'), tokenId: token.id, reference: input.reference, amountMinor: input.amountMinor, currency: 'JPY',
      status: 'requires_challenge', declineCode: null, capturedMinor: 0n, refundedMinor: 0n, challengeId: null,
      returnUrl: input.returnUrl, createdAtMs: this.#now(),
    };
    // Stored before its challenge: the expiry sweep must always find a challenge's authorization.
    this.#authorizations.set(record.id, record);
    const needsChallenge = token.threeDSecure === 'required' || input.requestThreeDSecure === 'challenge';
    // A blocked card is declined at once; challenging it would only give an attacker more attempts.
    if (needsChallenge && !this.#vault.isBlocked(token.fingerprint)) record.challengeId = this.#openChallenge(record.id);
    else this.#decide(record);
    return record;
  }

  get(id: string): AuthorizationRecord {
    const record = this.#authorizations.get(id);
    if (record === undefined) throw notFound('authorization', 'id');
    return record;
  }

  capture(id: string, amountMinor: bigint | undefined): AuthorizationRecord {
    const record = this.get(id);
    if (record.status !== 'authorized') {
      throw invalidState('authorization_not_capturable', `An authorization in status ${record.status} cannot be captured.`);
    }
    const captureMinor = amountMinor ?? record.amountMinor;
    if (captureMinor > record.amountMinor) throw invalidRequest('amount_too_large', 'The capture exceeds the authorised amount.', 'amount');
    record.capturedMinor = captureMinor;
    record.status = 'captured';
    assertAmounts(record);
    this.#emit('captured', record, { amountMinor: captureMinor });
    return record;
  }

  void(id: string): AuthorizationRecord {
    const record = this.get(id);
    if (record.status !== 'authorized' && record.status !== 'requires_challenge') {
      throw invalidState('authorization_not_voidable', `An authorization in status ${record.status} cannot be voided.`);
    }
    if (record.challengeId !== null) this.#closeChallenge(record.challengeId, 'canceled');
    record.status = 'voided';
    this.#emit('voided', record, { amountMinor: record.amountMinor });
    return record;
  }

  refund(id: string, amountMinor: bigint): RefundRecord {
    const record = this.get(id);
    if (record.status !== 'captured') {
      throw invalidState('authorization_not_refundable', `An authorization in status ${record.status} cannot be refunded.`);
    }
    if (amountMinor > record.capturedMinor - record.refundedMinor) {
      throw invalidRequest('amount_too_large', 'The refund exceeds the captured amount not yet refunded.', 'amount');
    }
    const refund: RefundRecord = { id: newId('re'), authorizationId: id, amountMinor, createdAtMs: this.#now() };
    this.#refunds.set(refund.id, refund);
    record.refundedMinor += amountMinor;
    assertAmounts(record);
    this.#emit('refunded', record, { amountMinor, refundId: refund.id });
    return refund;
  }

  getRefund(id: string): RefundRecord {
    const refund = this.#refunds.get(id);
    if (refund === undefined) throw notFound('refund', 'id');
    return refund;
  }

  getChallenge(id: string): ChallengeRecord {
    const challenge = this.#challenges.get(id);
    if (challenge === undefined) throw notFound('challenge', 'id');
    return challenge;
  }

  answerChallenge(id: string, code: string): ChallengeOutcome {
    const challenge = this.getChallenge(id);
    if (challenge.status === 'expired') throw new SandboxError(410, 'invalid_request_error', 'challenge_expired', 'The challenge has expired.');
    if (challenge.status !== 'pending') throw invalidState('challenge_not_pending', `The challenge is already ${challenge.status}.`);
    const record = this.get(challenge.authorizationId);
    if (codeMatches(code)) {
      this.#closeChallenge(id, 'succeeded');
      this.#decide(record);
      return 'succeeded';
    }
    challenge.failedAttempts += 1;
    if (challenge.failedAttempts < MAX_CHALLENGE_FAILURES) return 'incorrect_code';
    this.#failChallenge(challenge, record, 'failed', 'authentication_failed');
    return 'failed';
  }

  /**
   * Challenges time out even if nobody answers. Called on every request (a walk over pending challenges only),
   * so expiry follows the injected clock and the sandbox needs no timer.
   */
  expireDueChallenges(): void {
    const nowMs = this.#now();
    for (const id of this.#pendingChallengeIds) {
      const challenge = this.getChallenge(id);
      if (nowMs >= challenge.expiresAtMs) {
        this.#failChallenge(challenge, this.get(challenge.authorizationId), 'expired', 'authentication_expired');
      }
    }
  }

  #openChallenge(authorizationId: string): string {
    const challenge: ChallengeRecord = {
      id: newId('chl'), authorizationId, status: 'pending', failedAttempts: 0, expiresAtMs: this.#now() + CHALLENGE_TTL_MS,
    };
    this.#challenges.set(challenge.id, challenge);
    this.#pendingChallengeIds.add(challenge.id);
    return challenge.id;
  }

  #closeChallenge(id: string, status: Exclude<ChallengeStatus, 'pending'>): void {
    const challenge = this.getChallenge(id);
    if (challenge.status !== 'pending') return;
    challenge.status = status;
    this.#pendingChallengeIds.delete(id);
  }

  #failChallenge(challenge: ChallengeRecord, record: AuthorizationRecord, status: 'failed' | 'expired', declineCode: DeclineCode): void {
    this.#closeChallenge(challenge.id, status);
    record.status = 'declined';
    record.declineCode = declineCode;
    this.#emit('challenge_failed', record, { amountMinor: record.amountMinor });
  }

  // The issuer's answer once authentication (if any) is done: the test card decides, and a CVV-blocked card
  // declines every authorisation whatever token it comes through.
  #decide(record: AuthorizationRecord): void {
    const token = this.#vault.get(record.tokenId);
    assert.ok(token !== undefined, 'an authorization always references a stored token');
    const declineCode = this.#vault.isBlocked(token.fingerprint) ? 'card_blocked' : token.behaviour.declineCode;
    record.status = declineCode === null ? 'authorized' : 'declined';
    record.declineCode = declineCode;
    this.#emit(declineCode === null ? 'authorized' : 'declined', record, { amountMinor: record.amountMinor });
  }
}
