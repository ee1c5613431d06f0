/**
 * Keyset cursors for the operator lists (issue 13: "paging on every operator list"): newest first, the next
 * page starts strictly before the last row shown, by (time, id) so rows written in the same microsecond are
 * neither skipped nor repeated. The cursor is opaque to clients (base64url of the pair); a malformed one is a
 * 400 naming the field, never a 500.
 *
 * The cursor carries milliseconds (a JS Date). A list whose time column the database writes with `now()`
 * (microseconds) must key and order on `date_trunc('milliseconds', column)`, or rows of the same millisecond are
 * shown twice (a queue, `>`) or skipped (`<`); columns written from the injected clock are milliseconds already.
 */
import { KobanError } from './errors.ts';

export interface PageCursor { readonly at: Date; readonly id: string }

export const PAGE_LIMIT_DEFAULT = 50;
export const PAGE_LIMIT_MAX = 200;
const CURSOR_LENGTH_MAX = 200;

export function encodeCursor(at: Date, id: string): string {
  return Buffer.from(`${at.toISOString()}|${id}`, 'utf8').toString('base64url');
}

export function decodeCursor(value: string | undefined, pointer = '/querystring/before'): PageCursor | null {
  if (value === undefined || value === '') return null;
  const invalid = () => new KobanError('validation_failed', { errors: [{ pointer, message: 'is not a cursor this list answered' }] });
  if (value.length > CURSOR_LENGTH_MAX || !/^[A-Za-z0-9_-]+$/.test(value)) throw invalid();
  const [iso, id, extra] = Buffer.from(value, 'base64url').toString('utf8').split('|');
  const at = new Date(iso ?? '');
  if (extra !== undefined || id === undefined || id.length === 0 || id.length > 100 || Number.isNaN(at.getTime())) throw invalid();
  return { at, id };
}

export function pageLimit(limit: number | undefined): number {
  return Math.min(PAGE_LIMIT_MAX, Math.max(1, limit ?? PAGE_LIMIT_DEFAULT));
}

/** Reads limit + 1 rows to know whether there is a next page; answers the page and the cursor after it. */
export function pageOf<T>(rows: readonly T[], limit: number, keyOf: (row: T) => { at: Date; id: string }): { items: T[]; nextBefore: string | null } {
  const items = rows.slice(0, limit);
  const last = items.at(-1);
  if (rows.length <= limit || last === undefined) return { items, nextBefore: null };
  const key = keyOf(last);
  return { items, nextBefore: encodeCursor(key.at, key.id) };
}
