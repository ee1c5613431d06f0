/**
 * What a charge PIN may be, as pure rules with no imports: the server enforces them (charge-pin.ts) and the
 * wallet checks them before asking for a step-up (web/wallet/account/settings-pin.tsx imports this file),
 * so a weak PIN is refused before a second factor is spent on it. (Whether it equals the login password
 * only the server can say.)
 */
export const PIN_FORMAT = /^[0-9]{6}$/;
const COMMON_PINS: ReadonlySet<string> = new Set(['123456', '654321', '123123', '121212', '112233', '123321', '111222', '696969', '520520', '147258', '159753', '789456', '000001', '100000', '012345', '234567', '987654', '102030', '202020', '131313', '007007', '314159', '271828', '101010', '246810', '135790', '147852', '258369', '369258']);

export function pinIsTrivial(pin: string): boolean {
  if (COMMON_PINS.has(pin) || new Set(pin).size <= 2) return true;
  const digits = [...pin].map(Number);
  const steps = digits.slice(1).map((digit, i) => digit - (digits[i] ?? 0));
  const ascending = steps.every((step) => step === 1 || step === -9);
  const descending = steps.every((step) => step === -1 || step === 9);
  return ascending || descending;
}
