/**
 * Turns an API failure into a sentence for the customer. Every known problem code has a `problem.<code>`
 * message in both languages; anything else (a network failure, an unknown code) gets a generic line,
 * never the server's English title, so the screen stays in the customer's language.
 */
import { ApiError } from '../../shared/api.ts';

type Translate = (key: string, values?: Record<string, string | number>) => string;

export function problemCode(error: unknown): string | null {
  return error instanceof ApiError ? error.problem.code : null;
}

export function problemText(t: Translate, error: unknown): string {
  if (!(error instanceof ApiError)) return t('problem.network');
  const key = `problem.${error.problem.code}`;
  const text = t(key);
  return text === key ? t('problem.generic') : text;
}

/** A WebAuthn ceremony the customer dismissed (or the browser refused) is not an API failure. */
export function webauthnText(t: Translate, error: unknown): string {
  if (error instanceof ApiError) return problemText(t, error);
  const name = error instanceof Error ? error.name : '';
  if (name === 'NotAllowedError' || name === 'AbortError') return t('passkey.cancelled');
  if (name === 'InvalidStateError') return t('passkey.alreadyHere');
  return t('passkey.unsupported');
}
