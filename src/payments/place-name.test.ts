import { describe, expect, it } from 'vitest';
import { placeName } from './place-name.ts';

describe('placeName', () => {
  it('says a store named after its merchant once', () => {
    expect(placeName('Koban Mart', 'Koban Mart Shibuya')).toBe('Koban Mart Shibuya');
    expect(placeName('コバンマート', 'コバンマート 渋谷店')).toBe('コバンマート 渋谷店');
  });
  it('puts the merchant before a store with a name of its own', () => {
    expect(placeName('Koban Mart', 'Shibuya')).toBe('Koban Mart Shibuya');
  });
  it('is the merchant alone without a store', () => {
    expect(placeName('Koban Mart', null)).toBe('Koban Mart');
    expect(placeName('Koban Mart', '  ')).toBe('Koban Mart');
  });
});
