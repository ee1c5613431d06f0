import { Type } from 'typebox';
import { AmountSchema } from '../shared/amount.ts';

const TOKEN_ID = '^tok_[A-Za-z0-9_-]{1,64}$';
const AUTHORIZATION_ID = '^auth_[A-Za-z0-9_-]{1,64}$';
const PRINTABLE = '^[^\\u0000-\\u001F\\u007F]+$';

export const TokenBodySchema = Type.Object({
  number: Type.String({ pattern: '^[0-9]{12,19}$' }),
  expMonth: Type.Integer({ minimum: 1, maximum: 12 }),
  expYear: Type.Integer({ minimum: 2000, maximum: 2099 }),
  cvv: Type.String({ pattern: '^[0-9]{3,4}$' }),
  holderName: Type.String({ minLength: 1, maxLength: 64, pattern: PRINTABLE }),
}, { additionalProperties: false });

export const TokenSchema = Type.Object({
  id: Type.String(),
  object: Type.Literal('token'),
  brand: Type.String(),
  last4: Type.String(),
  expMonth: Type.Integer(),
  expYear: Type.Integer(),
  fingerprint: Type.String(),
  threeDSecure: Type.Union([Type.Literal('required'), Type.Literal('optional')]),
  createdAt: Type.String(),
});

export const AuthorizationBodySchema = Type.Object({
  token: Type.String({ pattern: TOKEN_ID }),
  amount: AmountSchema,
  currency: Type.Literal('JPY'),
  reference: Type.String({ pattern: '^[A-Za-z0-9._:-]{1,64}$' }),
  returnUrl: Type.Optional(Type.String({ minLength: 1, maxLength: 2048 })),
  requestThreeDSecure: Type.Optional(Type.Union([Type.Literal('automatic'), Type.Literal('challenge')])),
}, { additionalProperties: false });

export const AuthorizationSchema = Type.Object({
  id: Type.String(),
  object: Type.Literal('authorization'),
  reference: Type.String(),
  amount: Type.String(),
  currency: Type.Literal('JPY'),
  status: Type.String(),
  declineCode: Type.Union([Type.String(), Type.Null()]),
  capturedAmount: Type.String(),
  refundedAmount: Type.String(),
  card: Type.Object({ brand: Type.String(), last4: Type.String() }),
  challenge: Type.Union([
    Type.Object({ id: Type.String(), url: Type.String(), status: Type.String(), expiresAt: Type.String() }),
    Type.Null(),
  ]),
  createdAt: Type.String(),
});

export const AuthorizationParamsSchema = Type.Object({ id: Type.String({ pattern: AUTHORIZATION_ID }) });

export const CaptureBodySchema = Type.Object({ amount: Type.Optional(AmountSchema) }, { additionalProperties: false });

export const RefundBodySchema = Type.Object({
  authorizationId: Type.String({ pattern: AUTHORIZATION_ID }),
  amount: AmountSchema,
}, { additionalProperties: false });

export const RefundSchema = Type.Object({
  id: Type.String(),
  object: Type.Literal('refund'),
  authorizationId: Type.String(),
  amount: Type.String(),
  status: Type.Literal('succeeded'),
  createdAt: Type.String(),
});

export const RefundParamsSchema = Type.Object({ id: Type.String({ pattern: '^re_[A-Za-z0-9_-]{1,64}$' }) });

export const ChallengeParamsSchema = Type.Object({ id: Type.String({ pattern: '^chl_[A-Za-z0-9_-]{1,64}$' }) });

// Any short string: a mistyped code counts as a wrong attempt rather than a schema error, as a bank's page would.
export const ChallengeBodySchema = Type.Object({ code: Type.String({ minLength: 1, maxLength: 16 }) }, { additionalProperties: false });
