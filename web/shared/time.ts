/**
 * Times people can read without guessing: an instant as `2026-12-03 14:05 JST` (year first, 24-hour, the
 * zone named, so "03/12" can never be read as March), and "3 minutes ago" in the reader's language.
 * Koban's business day is Japan's, so times are shown in Asia/Tokyo.
 */
import type { Language } from './messages.ts';

const ZONE = 'Asia/Tokyo';
const ZONE_LABEL = 'JST';

const parts = new Intl.DateTimeFormat('en-CA', { timeZone: ZONE, year: 'numeric', month: '2-digit', day: '2-digit', hour: '2-digit', minute: '2-digit', second: '2-digit', hourCycle: 'h23' });

function pieces(iso: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of parts.formatToParts(new Date(iso))) out[part.type] = part.value;
  return out;
}

/** `2026-12-03 14:05 JST` (with `:ss` when `seconds`). */
export function formatInstant(iso: string, options: { seconds?: boolean } = {}): string {
  const p = pieces(iso);
  const time = options.seconds === true ? `${p.hour}:${p.minute}:${p.second}` : `${p.hour}:${p.minute}`;
  return `${p.year}-${p.month}-${p.day} ${time} ${ZONE_LABEL}`;
}

/** `14:05` in Japan's time. */
export function formatClock(iso: string): string {
  const p = pieces(iso);
  return `${p.hour}:${p.minute}`;
}

/** "just now", "3 minutes ago", "3 分前"… for an age in milliseconds. */
export function formatAgo(ageMs: number, language: Language): string {
  const format = new Intl.RelativeTimeFormat(language === 'ja' ? 'ja-JP' : 'en-GB', { numeric: 'auto' });
  const seconds = Math.max(0, Math.round(ageMs / 1000));
  if (seconds < 60) return format.format(-seconds, 'second');
  const minutes = Math.round(seconds / 60);
  if (minutes < 60) return format.format(-minutes, 'minute');
  const hours = Math.round(minutes / 60);
  if (hours < 48) return format.format(-hours, 'hour');
  return format.format(-Math.round(hours / 24), 'day');
}
