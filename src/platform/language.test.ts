import { describe, expect, it } from 'vitest';
import { isLanguage, timeIn, yenIn } from './language.ts';

describe('server texts in the customer\'s language', () => {
  it('say yen the way each language does', () => {
    expect(yenIn('ja', 1_200n)).toBe('1,200円');
    expect(yenIn('en', 1_234_567n)).toBe('¥1,234,567');
    expect(yenIn('en', -300n)).toBe('−¥300');
  });
  it('say a time in Japan\'s time zone', () => {
    const at = new Date('2026-12-03T05:05:09Z');
    expect(timeIn('en', at)).toBe('2026-12-03 14:05 JST');
    expect(timeIn('ja', at)).toBe('2026年12月3日 14:05');
    expect(timeIn('ja', new Date('2026-12-31T15:30:00Z'))).toBe('2027年1月1日 00:30');
  });
  it('knows only ja and en', () => {
    expect(isLanguage('ja')).toBe(true);
    expect(isLanguage('fr')).toBe(false);
  });
});
