/**
 * NIST SP 800-63B password rules: length in code points after NFKC (8..64, checked before any
 * hashing), no composition rules, and a blocklist of common and breached passwords plus context words
 * (the service name, the customer's e-mail and phone). The password is used inside MFA only (every
 * new device needs a second factor), which is when NIST allows a minimum of 8 (AUTH-01).
 */
import { readFileSync } from 'node:fs';
import { KobanError } from '../../platform/errors.ts';

export const PASSWORD_LENGTH_MIN = 8;
export const PASSWORD_LENGTH_MAX = 64;
/** Context words shorter than this are not checked (they would block too much). */
const CONTEXT_WORD_LENGTH_MIN = 4;
const SERVICE_WORDS = ['koban', 'こばん', 'kobanpay', '7pay', '7id'];

const BLOCKLIST: ReadonlySet<string> = new Set(
  readFileSync(new URL('./common-passwords.txt', import.meta.url), 'utf8').split('\n').map((line) => line.trim().toLowerCase()).filter((line) => line !== '' && !line.startsWith('#')),
);

export function blocklistSize(): number {
  return BLOCKLIST.size;
}

/** NFKC, so full-width and half-width forms of the same password are the same password. */
export function normalizePassword(password: string): string {
  return password.normalize('NFKC');
}

export function checkPasswordLength(password: string, pointer = '/body/password'): string {
  // A raw string over 4× the maximum cannot normalise back into range: refuse before NFKC work.
  if (password.length > PASSWORD_LENGTH_MAX * 4) throw new KobanError('password_too_long', { errors: [{ pointer, message: `at most ${PASSWORD_LENGTH_MAX} characters` }] });
  const normalized = normalizePassword(password);
  const codePoints = [...normalized].length;
  if (codePoints < PASSWORD_LENGTH_MIN) throw new KobanError('password_too_short', { errors: [{ pointer, message: `at least ${PASSWORD_LENGTH_MIN} characters` }] });
  if (codePoints > PASSWORD_LENGTH_MAX) throw new KobanError('password_too_long', { errors: [{ pointer, message: `at most ${PASSWORD_LENGTH_MAX} characters` }] });
  return normalized;
}

export interface PasswordContext {
  readonly email?: string | null;
  readonly phone?: string | null;
}

function contextWords(context: PasswordContext): string[] {
  const words = [...SERVICE_WORDS];
  if (context.email) {
    const [local = ''] = context.email.split('@');
    words.push(context.email, local);
  }
  if (context.phone) words.push(context.phone, context.phone.replace('+81', '0'), context.phone.slice(-8));
  return words.map((word) => word.toLowerCase()).filter((word) => word.length >= CONTEXT_WORD_LENGTH_MIN);
}

/** Returns the normalised password, or throws with a reason the customer can act on (AUTH-03). */
export function checkNewPassword(password: string, context: PasswordContext, pointer = '/body/password'): string {
  const normalized = checkPasswordLength(password, pointer);
  const lower = normalized.toLowerCase();
  if (BLOCKLIST.has(lower)) {
    throw new KobanError('password_blocklisted', { detail: 'this password appears in lists of common or breached passwords', errors: [{ pointer, message: 'is too common' }] });
  }
  if (contextWords(context).some((word) => lower.includes(word))) {
    throw new KobanError('password_blocklisted', { detail: 'the password contains the service name, your e-mail or your phone number', errors: [{ pointer, message: 'contains a word that is easy to guess for you' }] });
  }
  if (new Set(lower).size <= 2) {
    throw new KobanError('password_blocklisted', { detail: 'the password repeats one or two characters', errors: [{ pointer, message: 'is too repetitive' }] });
  }
  return normalized;
}
