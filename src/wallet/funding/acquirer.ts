// The card acquirer as Koban's wallet sees it. Implemented over HTTP by `http-acquirer.ts`; the sandbox in
// `sandbox/acquirer` (or a real PSP) sits behind it. Amounts are bigint JPY minor units.
//
// PCI scope: `tokenize` takes a PAN, which puts whichever Koban process calls it in full PCI DSS scope (SAQ D).
// In production the card form should post the PAN straight to the PSP (hosted fields, SAQ A) and Koban should
// only ever see the token (security-requirements.md PCI-01). Whatever calls it must not log or store its input.
import type { ProviderResult } from './provider-result.ts';

export interface CardDetails {
  number: string;
  expMonth: number;
  expYear: number;
  cvv: string;
  holderName: string;
}

export interface CardToken {
  token: string;
  brand: string;
  last4: string;
  expMonth: number;
  expYear: number;
  // Keyed hash of the PAN: the same card on several accounts has the same fingerprint (LOG-02 "one card across many accounts").
  fingerprint: string;
  threeDSecure: 'required' | 'optional';
}

export type AuthorizationStatus = 'requires_challenge' | 'authorized' | 'captured' | 'voided' | 'declined';

export interface Authorization {
  id: string;
  reference: string;
  status: AuthorizationStatus;
  amountMinor: bigint;
  capturedAmountMinor: bigint;
  refundedAmountMinor: bigint;
  currency: 'JPY';
  // e.g. insufficient_funds, generic_decline, expired_card, card_blocked, authentication_failed, authentication_expired.
  declineCode: string | null;
  card: { brand: string; last4: string };
  // Where to send the cardholder for 3-D Secure while `status` is `requires_challenge`.
  challenge: { id: string; url: string; status: string; expiresAtMs: number } | null;
  createdAtMs: number;
}

export interface Refund {
  id: string;
  authorizationId: string;
  amountMinor: bigint;
  status: 'succeeded';
  createdAtMs: number;
}

export interface AuthorizeRequest {
  token: string;
  amountMinor: bigint;
  // Koban's own id for the top-up; echoed in webhooks for reconciliation.
  reference: string;
  returnUrl?: string;
  // 'challenge' forces 3-D Secure even when the card does not require it (first top-up, new card: LED-07).
  requestThreeDSecure?: 'automatic' | 'challenge';
  idempotencyKey: string;
}

export interface CardAcquirer {
  tokenize(request: { card: CardDetails; idempotencyKey: string }): Promise<ProviderResult<CardToken>>;
  authorize(request: AuthorizeRequest): Promise<ProviderResult<Authorization>>;
  getAuthorization(authorizationId: string): Promise<ProviderResult<Authorization>>;
  // Without an amount the whole authorisation is captured; one capture per authorisation, the rest is released.
  capture(request: { authorizationId: string; amountMinor?: bigint; idempotencyKey: string }): Promise<ProviderResult<Authorization>>;
  void(request: { authorizationId: string; idempotencyKey: string }): Promise<ProviderResult<Authorization>>;
  refund(request: { authorizationId: string; amountMinor: bigint; idempotencyKey: string }): Promise<ProviderResult<Refund>>;
}
