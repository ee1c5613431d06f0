/**
 * The languages Koban writes its server texts in (feed, live banners, SMS, e-mail) and the few shared
 * ways of saying money and time in them. The web apps have their own (web/shared/i18n.tsx); these are for
 * texts composed on the server, where the customer's stored preference decides (identity/language.ts).
 */
export type Language = 'ja' | 'en';

export const LANGUAGES: readonly Language[] = ['ja', 'en'];

export function isLanguage(value: unknown): value is Language {
  return value === 'ja' || value === 'en';
}

/** ¥1,200 in English, 1,200円 in Japanese; from bigint minor units, never a float. */
export function yenIn(language: Language, amountMinor: bigint): string {
  const negative = amountMinor < 0n;
  const grouped = (negative ? -amountMinor : amountMinor).toString().replace(/\B(?=(\d{3})+(?!\d))/g, ',');
  return `${negative ? '−' : ''}${language === 'ja' ? `${grouped}円` : `¥${grouped}`}`;
}

/** An instant as a person in Japan reads it: 2026-12-03 14:05 JST / 2026年12月3日 14:05. */
export function timeIn(language: Language, at: Date): string {
  const jst = new Date(at.getTime() + 9 * 3600_000).toISOString();
  const [day = '', clock = ''] = jst.split('T');
  const hhmm = clock.slice(0, 5);
  if (language === 'en') return `${day} ${hhmm} JST`;
  const [y, m, d] = day.split('-').map(Number);
  return `${y}年${m}月${d}日 ${hhmm}`;
}
