import { describe, expect, it } from 'vitest';
import { receiptNumber, receiptTail } from './receipt-number.ts';

describe('receipt numbers', () => {
  it('are the random tail of the id, readable and typed back', () => {
    const number = receiptNumber('019ae3c1-7f00-7abc-8def-0123839a7427');
    expect(number).toBe('839A-7427');
    expect(receiptTail(number)).toBe('839a7427');
    expect(receiptTail('839a7427')).toBe('839a7427');
  });
  it('refuses what is not a receipt number', () => {
    expect(receiptTail('839A-742')).toBeNull();
    expect(receiptTail('hello-wor')).toBeNull();
    expect(() => receiptNumber('not-a-uuid')).toThrow();
  });
});
