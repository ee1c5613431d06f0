/** TypeBox schemas shared by the customer routes (they appear in /openapi.json). */
import { Type } from 'typebox';
import { UUID_PATTERN } from '../../platform/ids.ts';
import { STEP_UP_ACTIONS } from '../step-up/actions.ts';

export const Uuid = Type.String({ pattern: UUID_PATTERN });
export const Code = Type.String({ minLength: 1, maxLength: 16, description: 'The 6-digit code' });
export const Password = Type.String({ minLength: 1, maxLength: 256, description: '8 to 64 characters (after NFKC); no composition rules' });
export const Identifier = Type.String({ minLength: 3, maxLength: 320, description: 'The verified e-mail address or phone number of the account' });
export const GrantHeader = Type.Object({ 'x-step-up-grant': Type.Optional(Type.String({ maxLength: 128 })) });

/**
 * WebAuthn responses as @simplewebauthn/browser (or PublicKeyCredential.toJSON) produces them, with a
 * limit on every field (issue 14: a 1,030-byte credential id reached the database and answered 500).
 * The library validates the content; these bound the shape and sizes so bad input is a 400 naming the
 * field. A credential id is at most 1023 bytes (WebAuthn §5.1 / §7.1 step 24): 1364 base64url characters.
 */
export const WEBAUTHN_FIELD_LIMITS = {
  credentialIdChars: 1364,
  clientDataJsonChars: 8192,
  attestationObjectChars: 65536,
  authenticatorDataChars: 16384,
  /** Room for post-quantum signatures (ML-DSA-87: 4,627 bytes), which browsers' authenticators already use. */
  signatureChars: 8192,
  publicKeyChars: 4096,
  /** A user handle is at most 64 bytes (WebAuthn §5.4.3). */
  userHandleChars: 86,
  transportsMax: 8,
  extensionResultsMax: 16,
} as const;
const Base64Url = (maxLength: number, minLength = 1) => Type.String({ minLength, maxLength, pattern: '^[A-Za-z0-9_-]+$' });
const CredentialId = Base64Url(WEBAUTHN_FIELD_LIMITS.credentialIdChars, 16);
const Transport = Type.Union(['usb', 'nfc', 'ble', 'smart-card', 'hybrid', 'internal', 'cable'].map((t) => Type.Literal(t)));
const Attachment = Type.Union([Type.Literal('platform'), Type.Literal('cross-platform')]);
const ExtensionResults = Type.Record(Type.String({ maxLength: 64 }), Type.Unknown(), { maxProperties: WEBAUTHN_FIELD_LIMITS.extensionResultsMax });

export const WebAuthnRegistrationCredential = Type.Object({
  id: CredentialId, rawId: CredentialId, type: Type.Literal('public-key'),
  response: Type.Object({
    clientDataJSON: Base64Url(WEBAUTHN_FIELD_LIMITS.clientDataJsonChars),
    attestationObject: Base64Url(WEBAUTHN_FIELD_LIMITS.attestationObjectChars),
    authenticatorData: Type.Optional(Base64Url(WEBAUTHN_FIELD_LIMITS.authenticatorDataChars)),
    transports: Type.Optional(Type.Array(Transport, { maxItems: WEBAUTHN_FIELD_LIMITS.transportsMax })),
    publicKeyAlgorithm: Type.Optional(Type.Integer({ minimum: -65536, maximum: 65535 })),
    publicKey: Type.Optional(Base64Url(WEBAUTHN_FIELD_LIMITS.publicKeyChars)),
  }, { additionalProperties: false }),
  authenticatorAttachment: Type.Optional(Attachment),
  clientExtensionResults: ExtensionResults,
}, { additionalProperties: false });

export const WebAuthnCredential = Type.Object({
  id: CredentialId, rawId: CredentialId, type: Type.Literal('public-key'),
  response: Type.Object({
    clientDataJSON: Base64Url(WEBAUTHN_FIELD_LIMITS.clientDataJsonChars),
    authenticatorData: Base64Url(WEBAUTHN_FIELD_LIMITS.authenticatorDataChars),
    signature: Base64Url(WEBAUTHN_FIELD_LIMITS.signatureChars),
    userHandle: Type.Optional(Base64Url(WEBAUTHN_FIELD_LIMITS.userHandleChars)),
  }, { additionalProperties: false }),
  authenticatorAttachment: Type.Optional(Attachment),
  clientExtensionResults: ExtensionResults,
}, { additionalProperties: false });

export const StepUpAction = Type.Union(STEP_UP_ACTIONS.map((action) => Type.Literal(action)));
export const StepUpParams = Type.Record(Type.String({ pattern: '^[a-zA-Z][a-zA-Z0-9_]{0,63}$' }), Type.Union([Type.String({ maxLength: 256 }), Type.Integer(), Type.Boolean()]), { maxProperties: 16 });

export const SignedIn = Type.Object({ status: Type.Literal('signed_in'), customerId: Type.String(), csrfToken: Type.String() });
export const SecondFactorRequired = Type.Object({ status: Type.Literal('second_factor_required'), challengeId: Type.String(), methods: Type.Array(Type.String()) });
export const LoginResult = Type.Union([SignedIn, SecondFactorRequired]);
export const Ok = Type.Object({ status: Type.Literal('ok') });
