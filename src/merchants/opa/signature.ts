// PayPay Open Payment API (OPA) request authentication, as the official SDKs produce it:
//
//   Authorization: hmac OPA-Auth:{apiKey}:{macData}:{nonce}:{epoch}:{hash}
//   hash    = Base64(MD5(contentType ‖ body))            or "empty" when there is no body
//   macData = Base64(HMAC-SHA256(apiSecret, path \n method \n nonce \n epoch \n contentType \n hash))
//             with contentType = "empty" when there is no body, and path without its query string.
//
// See SDK-NOTES.md beside this file for the SDK source this was checked against.
// What the signature does NOT cover: the query string (so `?assumeMerchant=`), every header other than
// Authorization (so `X-ASSUME-MERCHANT`) and the host. Callers must authorise merchant scoping from the
// verified apiKey, never from those inputs alone.

import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { NonceStore } from './nonce-store.ts';

export const OPA_AUTH_PREFIX = 'hmac OPA-Auth:';
export const OPA_EMPTY = 'empty';
export const OPA_DEFAULT_MAX_SKEW_SEC = 120;

// Limits: a header longer than any legitimate one is refused before any parsing or lookup.
const HEADER_MAX_LENGTH = 512;
// Keys are issued by Koban; ':' is excluded because it is the header's field separator.
const API_KEY_PATTERN = /^[A-Za-z0-9._~-]{1,128}$/;
// The Java SDK sends 8 lowercase alphanumerics, the Node SDK a UUID v4 (36 chars with hyphens).
const NONCE_PATTERN = /^[A-Za-z0-9-]{8,64}$/;
// Seconds since 1970, no sign, no leading zero: the exact text is what was signed.
const EPOCH_PATTERN = /^[1-9][0-9]{0,11}$/;
const MAC_PATTERN = /^[A-Za-z0-9+/]{43}=$/; // Base64 of a 32-byte HMAC-SHA256
const BODY_HASH_PATTERN = /^[A-Za-z0-9+/]{22}==$/; // Base64 of a 16-byte MD5

export type OpaAuthFailure =
  | 'missing'
  | 'malformed'
  | 'unknown_key'
  | 'bad_signature'
  | 'bad_body_hash'
  | 'stale_epoch'
  | 'replayed_nonce';

export type OpaAuthResult =
  | { outcome: 'ok'; apiKey: string; nonce: string; epochSec: number }
  | { outcome: OpaAuthFailure };

export type OpaBody = string | Uint8Array | null | undefined;

export type ComputeOpaAuthInput = {
  apiKey: string;
  apiSecret: string;
  method: string;
  path: string;
  nonce: string;
  epochSec: number;
  contentType: string | undefined;
  body: OpaBody;
};

export type VerifyOpaAuthInput = {
  header: string | undefined;
  method: string;
  /** The request target as received on the wire (`request.raw.url`); the query string is ignored. */
  path: string;
  /** The Content-Type header exactly as received: clients sign the string they send, not a parsed form. */
  contentType: string | undefined;
  rawBody: Uint8Array | null | undefined;
  lookupSecret: (apiKey: string) => Promise<string | null>;
  nowSec: number;
  maxSkewSec?: number;
  nonceStore: NonceStore;
  /** The route is a money endpoint whose nonce may be written later (NonceStore.claim). */
  nonceDeferrable?: boolean;
};

type ParsedHeader = { apiKey: string; mac: string; nonce: string; epochText: string; bodyHash: string };

/** Builds the Authorization header value a conforming client sends. */
export function computeOpaAuthHeader(input: ComputeOpaAuthInput): string {
  const epochText = String(input.epochSec);
  const bodyHash = computeBodyHash(input.contentType, input.body);
  const mac = computeMac(input.apiSecret, {
    path: input.path,
    method: input.method,
    nonce: input.nonce,
    epochText,
    signedContentType: signedContentType(input.contentType, input.body),
    bodyHash,
  });
  return `${OPA_AUTH_PREFIX}${[input.apiKey, mac, input.nonce, epochText, bodyHash].join(':')}`;
}

/**
 * Checks an OPA Authorization header. Order matters: the signature is checked before the clock and the
 * nonce, so an unauthenticated caller learns nothing about either and cannot burn a merchant's nonces.
 * Routes should answer every failure with the same UNAUTHORIZED envelope and log the specific outcome.
 */
export async function verifyOpaAuth(input: VerifyOpaAuthInput): Promise<OpaAuthResult> {
  if (input.header === undefined || input.header === '') return { outcome: 'missing' };
  const parsed = parseOpaAuthHeader(input.header);
  if (parsed === null) return { outcome: 'malformed' };

  const secret = await input.lookupSecret(parsed.apiKey);
  if (secret === null) return { outcome: 'unknown_key' };

  const expectedMac = computeMac(secret, {
    path: input.path,
    method: input.method,
    nonce: parsed.nonce,
    epochText: parsed.epochText,
    signedContentType: signedContentType(input.contentType, input.rawBody),
    bodyHash: parsed.bodyHash,
  });
  if (!constantTimeEqual(expectedMac, parsed.mac)) return { outcome: 'bad_signature' };
  // The MAC covers the claimed hash; this ties that hash to the bytes actually received.
  const actualBodyHash = computeBodyHash(input.contentType, input.rawBody);
  if (!constantTimeEqual(actualBodyHash, parsed.bodyHash)) return { outcome: 'bad_body_hash' };

  const maxSkewSec = input.maxSkewSec ?? OPA_DEFAULT_MAX_SKEW_SEC;
  const epochSec = Number(parsed.epochText);
  if (Math.abs(input.nowSec - epochSec) > maxSkewSec) return { outcome: 'stale_epoch' };
  // A nonce only needs remembering while its epoch is still acceptable; after that the clock check rejects it.
  const first = await input.nonceStore.claim(parsed.apiKey, parsed.nonce, epochSec + maxSkewSec, input.nonceDeferrable ?? false);
  if (!first) return { outcome: 'replayed_nonce' };
  return { outcome: 'ok', apiKey: parsed.apiKey, nonce: parsed.nonce, epochSec };
}

/** Splits and validates the header; null when it is not a well-formed OPA-Auth header. */
export function parseOpaAuthHeader(header: string): ParsedHeader | null {
  if (header.length > HEADER_MAX_LENGTH || !header.startsWith(OPA_AUTH_PREFIX)) return null;
  const fields = header.slice(OPA_AUTH_PREFIX.length).split(':');
  if (fields.length !== 5) return null;
  const [apiKey = '', mac = '', nonce = '', epochText = '', bodyHash = ''] = fields;
  if (!API_KEY_PATTERN.test(apiKey) || !MAC_PATTERN.test(mac)) return null;
  if (!NONCE_PATTERN.test(nonce) || !EPOCH_PATTERN.test(epochText)) return null;
  if (bodyHash !== OPA_EMPTY && !BODY_HASH_PATTERN.test(bodyHash)) return null;
  return { apiKey, mac, nonce, epochText, bodyHash };
}

function computeMac(
  secret: string,
  parts: { path: string; method: string; nonce: string; epochText: string; signedContentType: string; bodyHash: string },
): string {
  const data = [
    pathWithoutQuery(parts.path),
    parts.method,
    parts.nonce,
    parts.epochText,
    parts.signedContentType,
    parts.bodyHash,
  ].join('\n');
  // Both SDKs key the HMAC with the UTF-8 bytes of the secret string (no Base64 decoding).
  return createHmac('sha256', secret).update(data, 'utf8').digest('base64');
}

function computeBodyHash(contentType: string | undefined, body: OpaBody): string {
  if (isEmptyBody(body)) return OPA_EMPTY;
  return createHash('md5')
    .update(contentType ?? '', 'utf8')
    .update(typeof body === 'string' ? Buffer.from(body, 'utf8') : (body as Uint8Array))
    .digest('base64');
}

// With no body both SDKs sign the literal "empty" instead of a content type, whatever header was sent.
function signedContentType(contentType: string | undefined, body: OpaBody): string {
  return isEmptyBody(body) ? OPA_EMPTY : (contentType ?? '');
}

function isEmptyBody(body: OpaBody): boolean {
  return body === null || body === undefined || body.length === 0;
}

function pathWithoutQuery(path: string): string {
  const queryStart = path.indexOf('?');
  return queryStart === -1 ? path : path.slice(0, queryStart);
}

// Lengths are public (fixed by the format), so only equal-length inputs reach timingSafeEqual.
function constantTimeEqual(expected: string, actual: string): boolean {
  const a = Buffer.from(expected, 'utf8');
  const b = Buffer.from(actual, 'utf8');
  return a.length === b.length && timingSafeEqual(a, b);
}
