import { createHmac, timingSafeEqual } from 'node:crypto';

// Per-interaction anti-CSRF token: an HMAC of the interaction uid under a key that lives only in this
// process. The interaction cookie already binds the form to the browser; the token also makes a
// cross-site POST fail without relying on SameSite behaviour.
export function formTokenFor(key: Buffer, uid: string): string {
  return createHmac('sha256', key).update(`koban-dev-idp:interaction:${uid}`).digest('base64url');
}

export function formTokenMatches(key: Buffer, uid: string, presented: string): boolean {
  const expected = Buffer.from(formTokenFor(key, uid));
  const actual = Buffer.from(presented);
  return actual.length === expected.length && timingSafeEqual(actual, expected);
}
