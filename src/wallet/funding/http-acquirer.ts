// CardAcquirer over the sandbox acquirer's HTTP API (the same shape a Stripe/Adyen adapter would have).
import { Type } from 'typebox';
import { Compile } from 'typebox/compile';
import type { Authorization, AuthorizeRequest, CardAcquirer, CardDetails, CardToken, Refund } from './acquirer.ts';
import { isoMs, pathId, ProviderClient, toWireAmount, WIRE_AMOUNT_PATTERN, wireAmountMinor } from './provider-http.ts';
import type { ProviderClientOptions } from './provider-http.ts';
import type { ProviderResult } from './provider-result.ts';

const WireAmount = Type.String({ pattern: WIRE_AMOUNT_PATTERN });
const WireTime = Type.String({ format: 'date-time' });

const checkToken = Compile(Type.Object({
  id: Type.String({ pattern: '^tok_' }),
  brand: Type.String(),
  last4: Type.String({ pattern: '^[0-9]{4}$' }),
  expMonth: Type.Integer({ minimum: 1, maximum: 12 }),
  expYear: Type.Integer(),
  fingerprint: Type.String({ minLength: 1 }),
  threeDSecure: Type.Union([Type.Literal('required'), Type.Literal('optional')]),
}));

const checkAuthorization = Compile(Type.Object({
  id: Type.String({ pattern: '^auth_' }),
  reference: Type.String(),
  amount: WireAmount,
  currency: Type.Literal('JPY'),
  status: Type.Union([
    Type.Literal('requires_challenge'), Type.Literal('authorized'), Type.Literal('captured'), Type.Literal('voided'), Type.Literal('declined'),
  ]),
  declineCode: Type.Union([Type.String(), Type.Null()]),
  capturedAmount: WireAmount,
  refundedAmount: WireAmount,
  card: Type.Object({ brand: Type.String(), last4: Type.String() }),
  challenge: Type.Union([Type.Object({ id: Type.String(), url: Type.String(), status: Type.String(), expiresAt: WireTime }), Type.Null()]),
  createdAt: WireTime,
}));

const checkRefund = Compile(Type.Object({
  id: Type.String({ pattern: '^re_' }),
  authorizationId: Type.String(),
  amount: WireAmount,
  status: Type.Literal('succeeded'),
  createdAt: WireTime,
}));

function decodeToken(json: unknown): CardToken | undefined {
  if (!checkToken.Check(json)) return undefined;
  return {
    token: json.id, brand: json.brand, last4: json.last4, expMonth: json.expMonth, expYear: json.expYear,
    fingerprint: json.fingerprint, threeDSecure: json.threeDSecure,
  };
}

// Postcondition after a read: refunded ≤ captured ≤ authorised, or the answer is not trusted.
function decodeAuthorization(json: unknown): Authorization | undefined {
  if (!checkAuthorization.Check(json)) return undefined;
  const amountMinor = wireAmountMinor(json.amount);
  const capturedAmountMinor = wireAmountMinor(json.capturedAmount);
  const refundedAmountMinor = wireAmountMinor(json.refundedAmount);
  if (capturedAmountMinor > amountMinor || refundedAmountMinor > capturedAmountMinor) return undefined;
  const challenge = json.challenge;
  return {
    id: json.id, reference: json.reference, status: json.status, amountMinor, capturedAmountMinor,
    refundedAmountMinor, currency: json.currency, declineCode: json.declineCode, card: { brand: json.card.brand, last4: json.card.last4 },
    challenge: challenge === null ? null : { id: challenge.id, url: challenge.url, status: challenge.status, expiresAtMs: isoMs(challenge.expiresAt) },
    createdAtMs: isoMs(json.createdAt),
  };
}

function decodeRefund(json: unknown): Refund | undefined {
  if (!checkRefund.Check(json)) return undefined;
  return { id: json.id, authorizationId: json.authorizationId, amountMinor: wireAmountMinor(json.amount), status: json.status, createdAtMs: isoMs(json.createdAt) };
}

export class HttpCardAcquirer implements CardAcquirer {
  readonly #client: ProviderClient;

  constructor(options: ProviderClientOptions) {
    this.#client = new ProviderClient(options);
  }

  tokenize(request: { card: CardDetails; idempotencyKey: string }): Promise<ProviderResult<CardToken>> {
    const { number, expMonth, expYear, cvv, holderName } = request.card;
    return this.#client.request({
      method: 'POST', path: '/v1/tokens', idempotencyKey: request.idempotencyKey, body: { number, expMonth, expYear, cvv, holderName },
    }, decodeToken);
  }

  authorize(request: AuthorizeRequest): Promise<ProviderResult<Authorization>> {
    const body: Record<string, string> = {
      token: request.token, amount: toWireAmount(request.amountMinor), currency: 'JPY', reference: request.reference,
    };
    if (request.returnUrl !== undefined) body['returnUrl'] = request.returnUrl;
    if (request.requestThreeDSecure !== undefined) body['requestThreeDSecure'] = request.requestThreeDSecure;
    return this.#client.request({ method: 'POST', path: '/v1/authorizations', idempotencyKey: request.idempotencyKey, body }, decodeAuthorization);
  }

  getAuthorization(authorizationId: string): Promise<ProviderResult<Authorization>> {
    return this.#client.request({ method: 'GET', path: `/v1/authorizations/${pathId(authorizationId)}` }, decodeAuthorization);
  }

  capture(request: { authorizationId: string; amountMinor?: bigint; idempotencyKey: string }): Promise<ProviderResult<Authorization>> {
    const body = request.amountMinor === undefined ? {} : { amount: toWireAmount(request.amountMinor) };
    return this.#client.request({
      method: 'POST', path: `/v1/authorizations/${pathId(request.authorizationId)}/capture`, idempotencyKey: request.idempotencyKey, body,
    }, decodeAuthorization);
  }

  void(request: { authorizationId: string; idempotencyKey: string }): Promise<ProviderResult<Authorization>> {
    return this.#client.request({
      method: 'POST', path: `/v1/authorizations/${pathId(request.authorizationId)}/void`, idempotencyKey: request.idempotencyKey,
    }, decodeAuthorization);
  }

  refund(request: { authorizationId: string; amountMinor: bigint; idempotencyKey: string }): Promise<ProviderResult<Refund>> {
    return this.#client.request({
      method: 'POST', path: '/v1/refunds', idempotencyKey: request.idempotencyKey,
      body: { authorizationId: request.authorizationId, amount: toWireAmount(request.amountMinor) },
    }, decodeRefund);
  }
}
