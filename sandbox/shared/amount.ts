import { Type } from 'typebox';

// Integer JPY, at most 12 digits, as an integer string or a safe JSON integer (STYLE.md "Money").
export const MAX_AMOUNT_MINOR = 999_999_999_999n;
// The same bound as a JSON number, spelled out rather than converted from the bigint.
const MAX_AMOUNT_JSON_INTEGER = 999_999_999_999;
const AMOUNT_PATTERN = '^[1-9][0-9]{0,11}$';

export const AmountSchema = Type.Union([
  Type.String({ pattern: AMOUNT_PATTERN }),
  Type.Integer({ minimum: 1, maximum: MAX_AMOUNT_JSON_INTEGER }),
]);

/** Schema validation has already bounded the value; this re-checks so a schema slip cannot mint money. */
export function parseAmountMinor(value: string | number): bigint {
  if (typeof value === 'number' && !Number.isSafeInteger(value)) throw new Error('amount is not a safe integer');
  const amountMinor = BigInt(value);
  if (amountMinor < 1n || amountMinor > MAX_AMOUNT_MINOR) throw new Error('amount out of range');
  return amountMinor;
}

export function formatAmountMinor(amountMinor: bigint): string {
  return amountMinor.toString();
}
