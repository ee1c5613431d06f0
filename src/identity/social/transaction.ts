import { assert } from '../../platform/assert.ts';
import { SocialLoginError } from './errors.ts';

// What startSocialLogin hands to the identity module and finishSocialLogin takes back.
//
// Storage contract (the identity module's job, FED-01):
// - Store it server-side only, never in a URL and never readable by the browser. state, nonce and
//   codeVerifier are secrets until the callback is processed.
// - Bind it to the browser session that started the login (e.g. keyed by the session id behind an
//   HttpOnly __Host- cookie). A callback arriving in another session must find no transaction.
// - Single use: take it atomically (read and delete in one step) before calling finishSocialLogin, and do
//   not put it back on failure. A replayed or raced callback then finds nothing.
// - Keep at most a few per session and expire them after TRANSACTION_MAX_AGE_MS.
export type SocialLoginTransaction = {
  readonly providerId: string;
  readonly state: string;
  readonly nonce: string;
  readonly codeVerifier: string;
  readonly createdAtMs: number;
};

// Long enough to type a password and pass a second factor at the provider; short enough that an
// abandoned transaction is useless soon after.
export const TRANSACTION_MAX_AGE_MS = 10 * 60 * 1000;
// A timestamp slightly ahead of our clock is tolerated (several app servers); further ahead is a bug.
export const TRANSACTION_CLOCK_SKEW_MS = 30 * 1000;
// openid-client's random values are 43 base64url characters; RFC 7636 allows 43..128 for the verifier.
const SECRET = /^[A-Za-z0-9_-]{43,128}$/;

// Precondition: the transaction came from startSocialLogin via storage. A malformed one is a bug in the
// storage code, not something an attacker can send, so it crashes the operation.
export function assertTransactionShape(transaction: SocialLoginTransaction): void {
  assert(transaction.providerId.length > 0, 'transaction.providerId');
  assert(SECRET.test(transaction.state), 'transaction.state');
  assert(SECRET.test(transaction.nonce), 'transaction.nonce');
  assert(SECRET.test(transaction.codeVerifier), 'transaction.codeVerifier');
  assert(Number.isSafeInteger(transaction.createdAtMs) && transaction.createdAtMs > 0, 'transaction.createdAtMs');
}

export function checkTransactionAge(transaction: SocialLoginTransaction, nowMs: number): void {
  const ageMs = nowMs - transaction.createdAtMs;
  if (ageMs > TRANSACTION_MAX_AGE_MS || ageMs < -TRANSACTION_CLOCK_SKEW_MS) {
    throw new SocialLoginError('transaction_expired');
  }
}
