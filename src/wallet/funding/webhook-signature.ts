// Webhook signatures of Koban's funding providers (sandbox acquirer and bank), Stripe-style:
//   Koban-Sandbox-Signature: t=<unix seconds>,v1=<hex HMAC-SHA256(secret, "<t>.<raw body>")>[,v1=…]
// This file is the single home of the scheme: the sandboxes import `signWebhook` from here so the signer and
// the verifier can never drift apart.
import { createHmac, timingSafeEqual } from 'node:crypto';

export const WEBHOOK_SIGNATURE_HEADER = 'koban-sandbox-signature';
export const DEFAULT_WEBHOOK_TOLERANCE_SEC = 300;

// Bounds on what we parse from an attacker-controlled header, so a huge header cannot make us spin.
const MAX_HEADER_CHARS = 2048;
const MAX_SIGNATURES = 8;
const SIGNATURE_HEX = /^[0-9a-f]{64}$/;
const TIMESTAMP_DIGITS = /^[0-9]{1,12}$/;

export type RawBody = string | Uint8Array;

export type WebhookVerification =
  | { status: 'ok'; timestampSec: number }
  | { status: 'malformed' }
  | { status: 'stale_timestamp'; timestampSec: number }
  | { status: 'bad_signature' };

export interface VerifyWebhookInput {
  header: string | undefined;
  rawBody: RawBody;
  // Several secrets are accepted while an endpoint secret is being rotated.
  secret: string | readonly string[];
  nowSec: number;
  toleranceSec?: number;
}

function hmacDigest(secret: string, timestampSec: number, rawBody: RawBody): Buffer {
  return createHmac('sha256', secret).update(`${timestampSec}.`).update(rawBody).digest();
}

/** Returns the full header value for one secret. */
export function signWebhook(secret: string, timestampSec: number, rawBody: RawBody): string {
  if (secret.length === 0) throw new Error('webhook secret must not be empty');
  if (!Number.isSafeInteger(timestampSec) || timestampSec < 0) throw new Error('timestampSec must be a non-negative integer');
  return `t=${timestampSec},v1=${hmacDigest(secret, timestampSec, rawBody).toString('hex')}`;
}

interface ParsedHeader {
  timestampSec: number;
  signatures: Buffer[];
}

// Unknown schemes (a future v2, a test-mode v0) are skipped rather than rejected, as Stripe does.
function parseHeader(header: string | undefined): ParsedHeader | undefined {
  if (header === undefined || header.length === 0 || header.length > MAX_HEADER_CHARS) return undefined;
  let timestampSec: number | undefined;
  const signatures: Buffer[] = [];
  for (const part of header.split(',')) {
    const separator = part.indexOf('=');
    if (separator <= 0) return undefined;
    const key = part.slice(0, separator).trim();
    const value = part.slice(separator + 1).trim();
    if (key === 't') {
      if (timestampSec !== undefined || !TIMESTAMP_DIGITS.test(value)) return undefined;
      timestampSec = Number(value);
    } else if (key === 'v1') {
      if (!SIGNATURE_HEX.test(value) || signatures.length === MAX_SIGNATURES) return undefined;
      signatures.push(Buffer.from(value, 'hex'));
    }
  }
  if (timestampSec === undefined || signatures.length === 0) return undefined;
  return { timestampSec, signatures };
}

// Every (secret, signature) pair is compared so the time taken does not depend on which one matched.
function anySignatureMatches(parsed: ParsedHeader, secrets: readonly string[], rawBody: RawBody): boolean {
  let matched = false;
  for (const secret of secrets) {
    const expected = hmacDigest(secret, parsed.timestampSec, rawBody);
    for (const candidate of parsed.signatures) {
      if (timingSafeEqual(expected, candidate)) matched = true;
    }
  }
  return matched;
}

/**
 * Verifies over the raw body bytes exactly as received: re-serialised JSON would not match.
 * The signature is checked before the timestamp so `stale_timestamp` means "authentic but too old".
 */
export function verifyWebhookSignature(input: VerifyWebhookInput): WebhookVerification {
  const secrets = typeof input.secret === 'string' ? [input.secret] : input.secret;
  if (secrets.length === 0 || secrets.some((secret) => secret.length === 0)) {
    throw new Error('at least one non-empty webhook secret is required');
  }
  const parsed = parseHeader(input.header);
  if (parsed === undefined) return { status: 'malformed' };
  if (!anySignatureMatches(parsed, secrets, input.rawBody)) return { status: 'bad_signature' };
  const toleranceSec = input.toleranceSec ?? DEFAULT_WEBHOOK_TOLERANCE_SEC;
  if (Math.abs(input.nowSec - parsed.timestampSec) > toleranceSec) {
    return { status: 'stale_timestamp', timestampSec: parsed.timestampSec };
  }
  return { status: 'ok', timestampSec: parsed.timestampSec };
}
