// A software WebAuthn authenticator (the drill operator's passkey, and tests): real ES256 (P-256) keys from node:crypto, real
// `none`-attestation registration responses and real assertions, so @simplewebauthn/server checks
// exactly what it checks for a browser. Every knob an attacker controls (origin, RP id, UV flag,
// counter, user handle, reused credential id) can be set per call, so tests can show each refusal.
import { createHash, generateKeyPairSync, randomBytes, sign, type KeyObject } from 'node:crypto';
import type {
  AuthenticationResponseJSON, PublicKeyCredentialCreationOptionsJSON, PublicKeyCredentialRequestOptionsJSON, RegistrationResponseJSON,
} from '@simplewebauthn/server';

// ---- A minimal CBOR encoder (RFC 8949) for the types WebAuthn needs: maps, byte/text strings, ints.

type CborValue = number | string | Uint8Array | ReadonlyMap<CborValue, CborValue>;

function cborHead(major: number, length: number): Buffer {
  if (length < 24) return Buffer.from([(major << 5) | length]);
  if (length < 0x100) return Buffer.from([(major << 5) | 24, length]);
  if (length < 0x10000) {
    const out = Buffer.alloc(3);
    out[0] = (major << 5) | 25;
    out.writeUInt16BE(length, 1);
    return out;
  }
  const out = Buffer.alloc(5);
  out[0] = (major << 5) | 26;
  out.writeUInt32BE(length, 1);
  return out;
}

export function cborEncode(value: CborValue): Buffer {
  if (typeof value === 'number') {
    if (!Number.isSafeInteger(value) || Math.abs(value) > 0xffffffff) throw new Error('cbor: integers up to 32 bits only');
    return value >= 0 ? cborHead(0, value) : cborHead(1, -1 - value);
  }
  if (typeof value === 'string') {
    const bytes = Buffer.from(value, 'utf8');
    return Buffer.concat([cborHead(3, bytes.length), bytes]);
  }
  if (value instanceof Uint8Array) return Buffer.concat([cborHead(2, value.length), Buffer.from(value)]);
  const parts: Buffer[] = [cborHead(5, value.size)];
  for (const [key, item] of value) parts.push(cborEncode(key), cborEncode(item));
  return Buffer.concat(parts);
}

// ---- Authenticator data (WebAuthn §6.1).

export const FLAGS = { UP: 0x01, UV: 0x04, BE: 0x08, BS: 0x10, AT: 0x40 } as const;
const AAGUID_NONE = Buffer.alloc(16);

function sha256(data: string | Buffer): Buffer {
  return createHash('sha256').update(data).digest();
}

/** The COSE_Key of an ES256 public key: kty EC2, alg -7, crv P-256, x, y. */
function coseKey(publicKey: KeyObject): Buffer {
  const jwk = publicKey.export({ format: 'jwk' });
  if (jwk.x === undefined || jwk.y === undefined) throw new Error('not an EC key');
  return cborEncode(new Map<CborValue, CborValue>([
    [1, 2], [3, -7], [-1, 1], [-2, Buffer.from(jwk.x, 'base64url')], [-3, Buffer.from(jwk.y, 'base64url')],
  ]));
}

function authenticatorData(rpId: string, flags: number, signCount: number, attested?: { credentialId: Buffer; publicKey: KeyObject }): Buffer {
  const counter = Buffer.alloc(4);
  counter.writeUInt32BE(signCount, 0);
  const head = Buffer.concat([sha256(rpId), Buffer.from([flags]), counter]);
  if (attested === undefined) return head;
  const idLength = Buffer.alloc(2);
  idLength.writeUInt16BE(attested.credentialId.length, 0);
  return Buffer.concat([head, AAGUID_NONE, idLength, attested.credentialId, coseKey(attested.publicKey)]);
}

function clientData(type: 'webauthn.create' | 'webauthn.get', challenge: string, overrides: CeremonyOverrides, defaultOrigin: string): Buffer {
  const embedded = overrides.embeddedIn === undefined ? { crossOrigin: false } : { crossOrigin: true, topOrigin: overrides.embeddedIn };
  return Buffer.from(JSON.stringify({ type, challenge, origin: overrides.origin ?? defaultOrigin, ...embedded }), 'utf8');
}

// ---- The authenticator.

export interface SoftCredential {
  readonly id: Buffer;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
  readonly rpId: string;
  /** The WebAuthn user handle (base64url) the RP gave at registration. */
  readonly userHandle: string;
  signCount: number;
}

export interface CeremonyOverrides {
  /** The page origin the browser reports (a phishing site's origin, for example). */
  readonly origin?: string;
  /** The RP id whose hash goes into authenticatorData. */
  readonly rpId?: string;
  /** User verification performed (biometric/PIN); default true. */
  readonly userVerified?: boolean;
  /** Synced passkey flags (BE and BS); default false, so the counter is meaningful. */
  readonly backedUp?: boolean;
  /** Run the ceremony in an iframe on this top-level origin (clientData crossOrigin true). */
  readonly embeddedIn?: string;
}

export interface AssertionOverrides extends CeremonyOverrides {
  /** Use this credential (by default: the first one allowed, or the first for the RP id). */
  readonly credential?: SoftCredential;
  /** Report this counter instead of the next one (a cloned authenticator). */
  readonly signCount?: number;
  /** Report another user handle than the one stored with the credential. */
  readonly userHandle?: string;
}

export interface RegistrationOverrides extends CeremonyOverrides {
  /** Reuse this credential id (an attacker re-registering someone else's credential id). */
  readonly credentialId?: Buffer;
  readonly initialSignCount?: number;
}

export interface SoftAuthenticator {
  readonly credentials: SoftCredential[];
  register(options: PublicKeyCredentialCreationOptionsJSON, overrides?: RegistrationOverrides): RegistrationResponseJSON;
  assert(options: PublicKeyCredentialRequestOptionsJSON, overrides?: AssertionOverrides): AuthenticationResponseJSON;
}

function flagsFor(overrides: CeremonyOverrides, attested: boolean): number {
  let flags = FLAGS.UP;
  if (overrides.userVerified ?? true) flags |= FLAGS.UV;
  if (overrides.backedUp ?? false) flags |= FLAGS.BE | FLAGS.BS;
  if (attested) flags |= FLAGS.AT;
  return flags;
}

export function createSoftAuthenticator(defaultOrigin: string): SoftAuthenticator {
  const credentials: SoftCredential[] = [];

  function pick(options: PublicKeyCredentialRequestOptionsJSON, overrides: AssertionOverrides): SoftCredential {
    if (overrides.credential !== undefined) return overrides.credential;
    const allowed = new Set((options.allowCredentials ?? []).map((c) => c.id));
    const found = credentials.find((c) => (allowed.size === 0 ? c.rpId === options.rpId : allowed.has(c.id.toString('base64url'))));
    if (found === undefined) throw new Error('soft authenticator: no credential for this request');
    return found;
  }

  return {
    credentials,
    register(options, overrides = {}) {
      const rpId = overrides.rpId ?? options.rp.id ?? new URL(defaultOrigin).hostname;
      const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
      const credential: SoftCredential = {
        id: overrides.credentialId ?? randomBytes(32), privateKey, publicKey, rpId, userHandle: options.user.id, signCount: overrides.initialSignCount ?? 0,
      };
      const authData = authenticatorData(rpId, flagsFor(overrides, true), credential.signCount, { credentialId: credential.id, publicKey });
      const attestationObject = cborEncode(new Map<CborValue, CborValue>([['fmt', 'none'], ['attStmt', new Map()], ['authData', authData]]));
      credentials.push(credential);
      const id = credential.id.toString('base64url');
      return {
        id, rawId: id, type: 'public-key', authenticatorAttachment: 'platform', clientExtensionResults: {},
        response: {
          clientDataJSON: clientData('webauthn.create', options.challenge, overrides, defaultOrigin).toString('base64url'),
          attestationObject: attestationObject.toString('base64url'),
          transports: ['internal'],
        },
      };
    },
    assert(options, overrides = {}) {
      const credential = pick(options, overrides);
      const signCount = overrides.signCount ?? credential.signCount + 1;
      credential.signCount = Math.max(credential.signCount, signCount);
      const authData = authenticatorData(overrides.rpId ?? credential.rpId, flagsFor(overrides, false), signCount);
      const client = clientData('webauthn.get', options.challenge, overrides, defaultOrigin);
      // ES256 in WebAuthn is an ASN.1 DER ECDSA signature over authData || SHA-256(clientDataJSON) (§6.3.3).
      const signature = sign('sha256', Buffer.concat([authData, sha256(client)]), credential.privateKey);
      const id = credential.id.toString('base64url');
      return {
        id, rawId: id, type: 'public-key', authenticatorAttachment: 'platform', clientExtensionResults: {},
        response: {
          clientDataJSON: client.toString('base64url'), authenticatorData: authData.toString('base64url'),
          signature: signature.toString('base64url'), userHandle: overrides.userHandle ?? credential.userHandle,
        },
      };
    },
  };
}
