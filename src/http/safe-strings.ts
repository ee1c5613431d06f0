/**
 * Strings Koban refuses wherever a request carries them (body, path, query): a NUL, which PostgreSQL's
 * text types cannot store (22021 → a 500 before issue 12), and an unpaired UTF-16 surrogate, which is
 * not Unicode text at all and is stored or compared differently by every reader. One walk for every
 * listener, so no route can forget it.
 */
import type { FastifyRequest } from 'fastify';
import { KobanError, type FieldError } from '../platform/errors.ts';

const ERRORS_MAX = 20;
/** Deeper than any body Koban accepts; a hostile nesting is refused rather than walked. */
const DEPTH_MAX = 64;

export function unsafeStringReason(value: string): string | null {
  if (value.includes('\u0000')) return 'must not contain a NUL character';
  if (!value.isWellFormed()) return 'must be well-formed Unicode (no unpaired surrogate)';
  return null;
}

/** Every unsafe string or key in `value`, named by JSON pointer from `pointer`. */
export function findUnsafeStrings(value: unknown, pointer: string, errors: FieldError[] = [], depth = 0): FieldError[] {
  if (errors.length >= ERRORS_MAX) return errors;
  if (typeof value === 'string') {
    const reason = unsafeStringReason(value);
    if (reason !== null) errors.push({ pointer, message: reason });
  } else if (depth >= DEPTH_MAX) {
    errors.push({ pointer, message: `is nested more than ${DEPTH_MAX} levels deep` });
  } else if (Array.isArray(value)) {
    value.forEach((item, index) => findUnsafeStrings(item, `${pointer}/${index}`, errors, depth + 1));
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) {
      const reason = unsafeStringReason(key);
      if (reason !== null) errors.push({ pointer, message: `has a member name that is refused: it ${reason}` });
      else findUnsafeStrings(item, `${pointer}/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`, errors, depth + 1);
    }
  }
  return errors;
}

/** A preValidation hook: path and query strings are checked like body strings. */
export async function refuseUnsafeParams(request: FastifyRequest): Promise<void> {
  const errors = findUnsafeStrings(request.params ?? {}, '/params');
  findUnsafeStrings(request.query ?? {}, '/querystring', errors);
  if (errors.length > 0) throw new KobanError('validation_failed', { detail: errors.map((e) => `${e.pointer} ${e.message}`).join('; '), errors });
}
