/**
 * Contact points in one canonical form, so "the same phone" and "the same e-mail" mean the same row.
 * Phones: Japanese numbers only, stored in E.164 (+81 and 9 or 10 digits without the leading 0).
 * E-mail: trimmed, NFKC, lower-cased; a syntax check only (the code sent there is the real check).
 */
import { KobanError } from '../../platform/errors.ts';

export type ContactKind = 'email' | 'phone';

// +81 then 9–10 digits not starting with 0: mobiles (70/80/90 + 8) and landlines (9 digits).
const JP_E164 = /^\+81[1-9][0-9]{8,9}$/;
const JP_NATIONAL = /^0[1-9][0-9]{8,9}$/;
export const EMAIL_LENGTH_MAX = 254;
const EMAIL = /^[a-z0-9.!#$%&'*+/=?^_`{|}~-]{1,64}@[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?(?:\.[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?)+$/;

export function normalizePhone(input: string, pointer = '/body/phone'): string {
  const compact = input.normalize('NFKC').replace(/[\s()-]/g, '');
  const e164 = JP_NATIONAL.test(compact) ? `+81${compact.slice(1)}` : compact;
  if (!JP_E164.test(e164)) {
    throw new KobanError('invalid_phone', { errors: [{ pointer, message: 'must be a Japanese phone number, e.g. +819012345678' }] });
  }
  return e164;
}

export function normalizeEmail(input: string, pointer = '/body/email'): string {
  const email = input.normalize('NFKC').trim().toLowerCase();
  if (email.length > EMAIL_LENGTH_MAX || !EMAIL.test(email)) {
    throw new KobanError('invalid_email', { errors: [{ pointer, message: 'must be an e-mail address' }] });
  }
  return email;
}

/** An identifier typed at sign-in or recovery: an e-mail if it has an @, else a phone number. */
export function normalizeIdentifier(input: string): { kind: ContactKind; value: string } | null {
  try {
    return input.includes('@') ? { kind: 'email', value: normalizeEmail(input) } : { kind: 'phone', value: normalizePhone(input) };
  } catch {
    return null;
  }
}

/** For messages: +81 90-1234-5678 shows as +81•••••5678. */
export function maskContact(kind: ContactKind, value: string): string {
  if (kind === 'phone') return `${value.slice(0, 3)}•••••${value.slice(-4)}`;
  const [local = '', domain = ''] = value.split('@');
  return `${local.slice(0, 1)}•••@${domain}`;
}
