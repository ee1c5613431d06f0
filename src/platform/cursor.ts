/**
 * Keyset cursors for the operator lists (issue 13: "paging on every operator list"): newest first, the next
 * page starts strictly before the last row shown, by (time, id) so rows written in the same microsecond are
 * neither skipped nor repeated. The cursor is opaque to clients (base64url of the pair); a malformed one is a
 * 400 naming the field, never a 500.
 *
 * The cursor carries the database's own microseconds, never a JS Date: a Date keeps milliseconds, so a row written
 * by `now()` later in the same millisecond as the page's last row was skipped (`<`) or shown twice (`>`) — stop 22's
 * CI lost one four-eyes proposal that way. Each list selects `pageAtSql(column)` as `page_at` and keys on it.
 */
import { KobanError } from './errors.ts';

/** `at` is a UTC timestamp with microseconds, as `pageAtSql` writes it; it casts back to the same timestamptz. */
export interface PageCursor { readonly at: string; readonly id: string }

const PAGE_AT = /^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{6}Z$/;

/** The SQL that writes a cursor time from a timestamptz column, exactly (microseconds, UTC). */
export function pageAtSql(column: string): string {
  return `to_char(${column} at time zone 'UTC', 'YYYY-MM-DD"T"HH24:MI:SS.US"Z"')`;
}

export const PAGE_LIMIT_DEFAULT = 50;
export const PAGE_LIMIT_MAX = 200;
const CURSOR_LENGTH_MAX = 200;

export function encodeCursor(at: string, id: string): string {
  return Buffer.from(`${at}|${id}`, 'utf8').toString('base64url');
}

export function decodeCursor(value: string | undefined, pointer = '/querystring/before'): PageCursor | null {
  if (value === undefined || value === '') return null;
  const invalid = () => new KobanError('validation_failed', { errors: [{ pointer, message: 'is not a cursor this list answered' }] });
  if (value.length > CURSOR_LENGTH_MAX || !/^[A-Za-z0-9_-]+$/.test(value)) throw invalid();
  const [iso, id, extra] = Buffer.from(value, 'base64url').toString('utf8').split('|');
  const at = iso ?? '';
  if (extra !== undefined || id === undefined || id.length === 0 || id.length > 100 || !isCalendarTime(at)) throw invalid();
  return { at, id };
}

/** A well-formed time on a real calendar day (the database would refuse 2026-02-30 with a 500, not a 400). */
function isCalendarTime(at: string): boolean {
  if (!PAGE_AT.test(at)) return false;
  const parsed = new Date(at);
  return !Number.isNaN(parsed.getTime()) && parsed.toISOString().slice(0, 19) === at.slice(0, 19);
}

export function pageLimit(limit: number | undefined): number {
  return Math.min(PAGE_LIMIT_MAX, Math.max(1, limit ?? PAGE_LIMIT_DEFAULT));
}

/** Reads limit + 1 rows to know whether there is a next page; answers the page and the cursor after it. */
export function pageOf<T>(rows: readonly T[], limit: number, keyOf: (row: T) => { at: string; id: string }): { items: T[]; nextBefore: string | null } {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  if (rows.length <= limit || last === undefined) return { items, nextBefore: null };
  const key = keyOf(last);
  return { items, nextBefore: encodeCursor(key.at, key.id) };
}
