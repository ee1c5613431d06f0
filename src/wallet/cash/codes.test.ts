import { describe, expect, it } from 'vitest';
import { maskContact } from './cash-top-ups.ts';
import { generateTopUpCode, isTopUpCodeShape } from './codes.ts';

/** The payment code's shape (payments/codes.ts; the wallet may not import payments). */
const isPaymentCodeShape = (code: string) => /^9[0-9]{19}$/.test(code);

describe('top-up codes', () => {
  it('are 22 digits starting 81, never the shape of a payment code, and a payment code is never theirs', () => {
    const codes = Array.from({ length: 500 }, generateTopUpCode);
    for (const code of codes) {
      expect(isTopUpCodeShape(code)).toBe(true);
      expect(isPaymentCodeShape(code)).toBe(false);
    }
    expect(new Set(codes).size).toBe(codes.length);
    expect(isTopUpCodeShape('9'.padEnd(20, '1'))).toBe(false);
    expect(isTopUpCodeShape('81'.padEnd(21, '0'))).toBe(false);
  });

  it('shows the clerk a masked contact, never the whole of it', () => {
    expect(maskContact('email', 'taro@example.com')).toBe('t***@example.com');
    expect(maskContact('phone', '+819012345678')).toBe('•••• 5678');
    expect(maskContact('email', '@broken')).toBe('***');
  });
});
