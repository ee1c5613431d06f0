// Wire views: amounts become integer strings, times ISO 8601; nothing from the card but brand and last 4.
import { formatAmountMinor } from '../shared/amount.ts';
import type { AuthorizationRecord, ChallengeRecord, RefundRecord } from './authorizations.ts';
import type { TokenRecord } from './card-vault.ts';

const iso = (ms: number): string => new Date(ms).toISOString();

export function tokenView(token: TokenRecord) {
  return {
    id: token.id, object: 'token' as const, brand: token.brand, last4: token.last4, expMonth: token.expMonth,
    expYear: token.expYear, fingerprint: token.fingerprint, threeDSecure: token.threeDSecure, createdAt: iso(token.createdAtMs),
  };
}

export function challengePath(challengeId: string): string {
  return `/v1/challenges/${challengeId}`;
}

export function authorizationView(record: AuthorizationRecord, token: TokenRecord, challenge: ChallengeRecord | undefined, baseUrl: string) {
  return {
    id: record.id, object: 'authorization' as const, reference: record.reference, amount: formatAmountMinor(record.amountMinor),
    currency: record.currency, status: record.status, declineCode: record.declineCode,
    capturedAmount: formatAmountMinor(record.capturedMinor), refundedAmount: formatAmountMinor(record.refundedMinor),
    card: { brand: token.brand, last4: token.last4 },
    challenge: challenge === undefined ? null : {
      id: challenge.id, url: `${baseUrl}${challengePath(challenge.id)}`, status: challenge.status, expiresAt: iso(challenge.expiresAtMs),
    },
    createdAt: iso(record.createdAtMs),
  };
}

export function refundView(refund: RefundRecord) {
  return {
    id: refund.id, object: 'refund' as const, authorizationId: refund.authorizationId,
    amount: formatAmountMinor(refund.amountMinor), status: 'succeeded' as const, createdAt: iso(refund.createdAtMs),
  };
}
