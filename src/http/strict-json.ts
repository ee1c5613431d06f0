/**
 * Koban's JSON body parser. JSON numbers are where money goes wrong: `1e3`, `10.0` and
 * `9007199254740993` all parse to a JS number that hides what the client sent. Koban's API has no
 * fractional numbers at all, so any number literal with a fraction, an exponent or beyond the safe
 * integer range is refused, naming the field by its JSON pointer. (Amounts are documented as
 * integer strings anyway.) Uses the JSON.parse source-text access of Node 24 (`context.source`).
 *
 * Text is refused too where PostgreSQL (or any other reader) would fail on it or read it differently:
 * a body that is not valid UTF-8, and strings or keys holding a NUL or an unpaired surrogate
 * (`"\u0000"`, `"\ud800"`) — issue 12 saw both reach the database as 500s.
 */
import { KobanError, type FieldError } from '../platform/errors.ts';
import { findUnsafeStrings } from './safe-strings.ts';

const UTF8 = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

/** Decodes a body's bytes, refusing anything that is not valid UTF-8 (instead of replacing it silently). */
export function decodeUtf8Body(bytes: Buffer): string {
  try {
    return UTF8.decode(bytes);
  } catch {
    throw new KobanError('invalid_json', { detail: 'the body is not valid UTF-8', errors: [{ pointer: '/body', message: 'is not valid UTF-8' }] });
  }
}

const PLAIN_INTEGER = /^-?(0|[1-9][0-9]*)$/;
const LOOSE_NUMBERS_MAX = 20;

class LooseNumber {
  readonly literal: string;
  constructor(literal: string) {
    this.literal = literal;
  }
}

export function parseStrictJson(input: string | Buffer): unknown {
  const text = typeof input === 'string' ? input : decodeUtf8Body(input);
  if (text.trim() === '') return undefined;
  let parsed: unknown;
  let loose = false;
  try {
    parsed = JSON.parse(text, (_key, value: unknown, context?: { source?: string }) => {
      if (typeof value !== 'number') return value;
      const literal = context?.source ?? String(value);
      if (PLAIN_INTEGER.test(literal) && Number.isSafeInteger(value)) return value;
      loose = true;
      // Marked, not thrown: the reviver cannot see the path, the walk below can.
      return new LooseNumber(literal);
    });
  } catch (error) {
    throw new KobanError('invalid_json', { detail: (error as Error).message, errors: [{ pointer: '/body', message: 'is not valid JSON' }] });
  }
  refuseUnsafeStrings(parsed);
  if (!loose) return parsed;
  const errors: FieldError[] = [];
  findLooseNumbers(parsed, '/body', errors);
  throw new KobanError('validation_failed', {
    detail: `${errors.map((e) => e.pointer).join(', ')}: numbers must be plain safe integers; send amounts as strings of digits`,
    errors,
  });
}

function findLooseNumbers(value: unknown, pointer: string, errors: FieldError[]): void {
  if (errors.length >= LOOSE_NUMBERS_MAX) return;
  if (value instanceof LooseNumber) {
    errors.push({ pointer, message: `number ${value.literal} must be a plain safe integer (no fraction, no exponent)` });
  } else if (Array.isArray(value)) {
    value.forEach((item, index) => findLooseNumbers(item, `${pointer}/${index}`, errors));
  } else if (typeof value === 'object' && value !== null) {
    for (const [key, item] of Object.entries(value)) findLooseNumbers(item, `${pointer}/${key.replaceAll('~', '~0').replaceAll('/', '~1')}`, errors);
  }
}

function refuseUnsafeStrings(parsed: unknown): void {
  const errors = findUnsafeStrings(parsed, '/body');
  if (errors.length === 0) return;
  throw new KobanError('validation_failed', { detail: errors.map((e) => `${e.pointer} ${e.message}`).join('; '), errors });
}
