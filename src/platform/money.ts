import { KobanError } from './errors.ts';

/**
 * Amounts travel as integer minor units. On the wire Koban accepts either a JSON string of decimal
 * digits (`"1200"`, the documented form: no precision limit) or a JSON integer that is a safe
 * integer (`1200`). Anything else — fractions, exponents, signs, leading zeros, whitespace — is
 * refused, because a money parser that "helps" is how yen get created.
 */
const DIGITS = /^[1-9][0-9]{0,37}$/;

export function parseAmountMinor(value: unknown, maxMinor: bigint, pointer: string): bigint {
  const amount = toBigInt(value);
  if (amount === null) {
    throw new KobanError('invalid_amount', {
      detail: `${pointer} must be a positive integer of minor units, as a string of digits or a safe integer`,
      errors: [{ pointer, message: 'must be a positive integer string such as "1200"' }],
    });
  }
  if (amount > maxMinor) {
    throw new KobanError('amount_too_large', {
      detail: `${pointer} is above the maximum of ${maxMinor} minor units`,
      errors: [{ pointer, message: `must be at most ${maxMinor}` }],
    });
  }
  return amount;
}

function toBigInt(value: unknown): bigint | null {
  if (typeof value === 'string') return DIGITS.test(value) ? BigInt(value) : null;
  if (typeof value === 'number') {
    return Number.isSafeInteger(value) && value > 0 ? BigInt(value) : null;
  }
  if (typeof value === 'bigint') return value > 0n ? value : null;
  return null;
}

/** The largest value a PostgreSQL bigint column holds; totals beyond it are refused as overflow. */
export const INT64_MAX = 9_223_372_036_854_775_807n;

export function formatMinor(amountMinor: bigint, assetScale: number): string {
  if (assetScale === 0) return amountMinor.toString();
  const negative = amountMinor < 0n;
  const digits = (negative ? -amountMinor : amountMinor).toString().padStart(assetScale + 1, '0');
  const whole = digits.slice(0, digits.length - assetScale);
  const fraction = digits.slice(digits.length - assetScale);
  return `${negative ? '-' : ''}${whole}.${fraction}`;
}
