/** TypeBox schemas shared by the customer routes (they appear in /openapi.json). */
import { Type } from 'typebox';
import { UUID_PATTERN } from '../../platform/ids.ts';
import { STEP_UP_ACTIONS } from '../step-up/actions.ts';

export const Uuid = Type.String({ pattern: UUID_PATTERN });
export const Code = Type.String({ minLength: 1, maxLength: 16, description: 'The 6-digit code' });
export const Password = Type.String({ minLength: 1, maxLength: 256, description: '8 to 64 characters (after NFKC); no composition rules' });
export const Identifier = Type.String({ minLength: 3, maxLength: 320, description: 'The verified e-mail address or phone number of the account' });
export const GrantHeader = Type.Object({ 'x-step-up-grant': Type.Optional(Type.String({ maxLength: 128 })) });

/** A WebAuthn response as produced by @simplewebauthn/browser; the library validates its content. */
export const WebAuthnCredential = Type.Object({
  id: Type.String({ maxLength: 1400 }), rawId: Type.String({ maxLength: 1400 }), type: Type.Literal('public-key'),
  response: Type.Record(Type.String(), Type.Union([Type.String({ maxLength: 65536 }), Type.Array(Type.String({ maxLength: 32 }), { maxItems: 8 }), Type.Integer()])),
  authenticatorAttachment: Type.Optional(Type.String({ maxLength: 32 })),
  clientExtensionResults: Type.Record(Type.String(), Type.Unknown()),
}, { additionalProperties: false });

export const StepUpAction = Type.Union(STEP_UP_ACTIONS.map((action) => Type.Literal(action)));
export const StepUpParams = Type.Record(Type.String({ pattern: '^[a-zA-Z][a-zA-Z0-9_]{0,63}$' }), Type.Union([Type.String({ maxLength: 256 }), Type.Integer(), Type.Boolean()]), { maxProperties: 16 });

export const SignedIn = Type.Object({ status: Type.Literal('signed_in'), customerId: Type.String(), csrfToken: Type.String() });
export const SecondFactorRequired = Type.Object({ status: Type.Literal('second_factor_required'), challengeId: Type.String(), methods: Type.Array(Type.String()) });
export const LoginResult = Type.Union([SignedIn, SecondFactorRequired]);
export const Ok = Type.Object({ status: Type.Literal('ok') });
