/**
 * Pieces every console screen uses: loading data (optionally polling), showing an API problem,
 * money and times, hand-made SVG charts (no inline <style>: the CSP allows only our own stylesheet),
 * and the reason-and-confirm dialog every state change goes through.
 */
import { useCallback, useEffect, useId, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { ApiError } from '../shared/api.ts';
import { formatYen, useI18n } from '../shared/i18n.tsx';
import { formatInstant } from '../shared/time.ts';
import { Button, Notice } from '../shared/ui.tsx';
import { ops } from './session.tsx';

export interface Loaded<T> {
  data: T | null;
  error: unknown;
  /** When `data` was last read successfully (ms): a failed refresh keeps `data` and shows its age. */
  lastUpdatedAt: number | null;
  reload(): Promise<void>;
}

/** GETs `path` (again whenever it changes, and every `intervalMs` if given, only while the tab is visible). */
export function useLoad<T>(path: string | null, intervalMs?: number): Loaded<T> {
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<unknown>(null);
  const [lastUpdatedAt, setLastUpdatedAt] = useState<number | null>(null);
  const current = useRef(path);
  current.current = path;
  const reload = useCallback(async () => {
    if (path === null) return;
    try {
      const next = await ops<T>('GET', path);
      if (current.current === path) { setData(next); setError(null); setLastUpdatedAt(Date.now()); }
    } catch (caught) {
      if (current.current === path) setError(caught);
    }
  }, [path]);
  useEffect(() => {
    setData(null);
    void reload();
    if (intervalMs === undefined) return;
    const timer = setInterval(() => { if (document.visibilityState === 'visible') void reload(); }, intervalMs);
    return () => clearInterval(timer);
  }, [reload, intervalMs]);
  return { data, error, lastUpdatedAt, reload };
}

/**
 * The pages after the first of a keyset-paged operator list (issue 13: paging on every operator list): the first page
 * comes from `useLoad` (and refreshes), the older ones are fetched on "more" with the cursor the previous page answered
 * (`param`: `before` for newest-first lists, `after` for queues) and kept until the path changes or `reset()`.
 */
export function useMorePages<P, T>(path: string, firstCursor: string | null | undefined, param: 'before' | 'after', itemsOf: (page: P) => { items: T[]; next: string | null }) {
  const [pages, setPages] = useState<{ path: string; items: T[]; next: string | null }>({ path, items: [], next: null });
  const here = pages.path === path ? pages : { path, items: [], next: null };
  const cursor = here.items.length > 0 ? here.next : firstCursor ?? null;
  const [error, setError] = useState<unknown>(null);
  const more = async () => {
    if (cursor === null) return;
    try {
      const page = itemsOf(await ops<P>('GET', `${path}${path.includes('?') ? '&' : '?'}${param}=${encodeURIComponent(cursor)}`));
      setPages({ path, items: [...here.items, ...page.items], next: page.next });
      setError(null);
    } catch (caught) {
      setError(caught);
    }
  };
  const reset = () => setPages({ path, items: [], next: null });
  return { items: here.items, hasMore: cursor !== null, more, reset, error };
}

export function problemText(error: unknown, t: (key: string) => string): string {
  if (error instanceof ApiError) {
    const key = `problem.${error.problem.code}`;
    const known = t(key);
    const detail = error.problem.detail ?? error.problem.title;
    return known === key ? detail : `${known} (${detail})`;
  }
  return t('problem.network');
}

export function ErrorNotice(props: { error: unknown }) {
  const { t } = useI18n();
  if (props.error === null || props.error === undefined) return null;
  return <Notice kind="error">{problemText(props.error, t)}</Notice>;
}

export function Loading(props: { loaded: Loaded<unknown> }) {
  const { t } = useI18n();
  if (props.loaded.error) return <ErrorNotice error={props.loaded.error} />;
  return <p className="hint" aria-live="polite">{t('common.loading')}</p>;
}

export function Money(props: { minor: string }) {
  const { language } = useI18n();
  return <span className="money">{formatYen(props.minor, language)}</span>;
}

export function When(props: { at: string | null }) {
  if (props.at === null) return <span>—</span>;
  const date = new Date(props.at);
  // 2026-12-03 14:05 JST in both languages: year first and the zone named, so no reader takes 03/12 for March.
  return <time dateTime={props.at} title={date.toISOString()}>{formatInstant(props.at)}</time>;
}

export function Pill(props: { tone?: 'ok' | 'warn' | 'bad' | 'muted'; children: ReactNode }) {
  return <span className={`pill ${props.tone ?? 'muted'}`}>{props.children}</span>;
}

/** Tables scroll inside their own box, so a wide table never makes a 360 px page scroll sideways. */
export function Table(props: { caption: string; head: string[]; children: ReactNode; empty?: boolean }) {
  const { t } = useI18n();
  return (
    <div className="table-wrap">
      <table>
        <caption className="visually-hidden">{props.caption}</caption>
        <thead><tr>{props.head.map((h) => <th key={h} scope="col">{h}</th>)}</tr></thead>
        <tbody>{props.empty ? <tr><td colSpan={props.head.length} className="hint">{t('common.none')}</td></tr> : props.children}</tbody>
      </table>
    </div>
  );
}

/**
 * A short id people can tell apart: Koban's ids are UUIDv7, whose first characters are a timestamp shared
 * by everything made in the same minute, so the short form is the random tail. The whole id is the title
 * (and is what search accepts).
 */
export function Short(props: { id: string }) {
  return <code className="id" title={props.id}>{shortId(props.id)}</code>;
}

export function shortId(id: string): string {
  return id.length > 12 ? `…${id.slice(-8)}` : id;
}

const UUID = /[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}/gi;

/** A ledger reference (`top-up:0192…`, `settlement:…`) as words and short ids, the raw text kept as the title. */
export function Reference(props: { value: string | null }) {
  const { t } = useI18n();
  if (props.value === null || props.value === '') return <span>—</span>;
  const colon = props.value.indexOf(':');
  const kind = colon > 0 ? props.value.slice(0, colon) : '';
  const key = `reference.${kind}`;
  const label = kind === '' || t(key) === key ? null : t(key);
  const rest = (label === null ? props.value : props.value.slice(colon + 1)).replace(UUID, (id) => shortId(id));
  return <span className="reference" title={props.value}>{label === null ? rest : `${label} ${rest}`}</span>;
}

/** A bar chart in SVG: one bar per point, scaled to the largest; the numbers are also in a hidden table. */
export function BarChart(props: { label: string; points: Array<{ key: string; value: number; label: string }>; tone?: 'gold' | 'ink' | 'red' }) {
  const width = 600;
  const height = 120;
  const max = Math.max(1, ...props.points.map((p) => p.value));
  const slot = width / Math.max(1, props.points.length);
  return (
    <figure className="chart">
      <svg viewBox={`0 0 ${width} ${height + 4}`} role="img" aria-label={props.label} preserveAspectRatio="none" className={`chart-svg ${props.tone ?? 'gold'}`}>
        <line x1="0" y1={height} x2={width} y2={height} className="chart-axis" />
        {props.points.map((p, i) => {
          const h = (p.value / max) * (height - 8);
          return <rect key={p.key} x={i * slot + 1} y={height - h} width={Math.max(1, slot - 2)} height={h} className="chart-bar"><title>{`${p.label}: ${p.value}`}</title></rect>;
        })}
      </svg>
      <figcaption className="chart-caption"><span>{props.points[0]?.label ?? ''}</span><span>{props.label} · max {max}</span><span>{props.points.at(-1)?.label ?? ''}</span></figcaption>
    </figure>
  );
}

/** Horizontal bars with their labels (risk decisions by rule). */
export function HBarChart(props: { label: string; rows: Array<{ key: string; value: number }> }) {
  const max = Math.max(1, ...props.rows.map((r) => r.value));
  return (
    <ul className="hbars" aria-label={props.label}>
      {props.rows.map((r) => (
        <li key={r.key}>
          <span className="hbar-label">{r.key}</span>
          <span className="hbar-track"><span className="hbar-fill" style={{ width: `${(r.value / max) * 100}%` }} /></span>
          <span className="hbar-value">{r.value}</span>
        </li>
      ))}
    </ul>
  );
}

/**
 * Every state change: a button opens a modal dialog asking for the reason (kept in the audit log) and
 * an explicit confirmation; `run` gets the reason. Errors stay in the dialog.
 */
export function ActionButton(props: {
  label: string;
  title: string;
  description?: ReactNode;
  confirmLabel?: string;
  variant?: 'primary' | 'secondary' | 'danger';
  needsReason?: boolean;
  extra?: ReactNode;
  disabled?: boolean;
  run(reason: string): Promise<unknown>;
  onDone?(): void;
}) {
  const { t } = useI18n();
  const dialog = useRef<HTMLDialogElement>(null);
  const [reason, setReason] = useState('');
  const [error, setError] = useState<unknown>(null);
  const [busy, setBusy] = useState(false);
  const reasonId = useId();
  const needsReason = props.needsReason ?? true;
  const open = () => { setReason(''); setError(null); dialog.current?.showModal(); };
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    try {
      await props.run(reason.trim());
      dialog.current?.close();
      props.onDone?.();
    } catch (caught) {
      setError(caught);
    } finally {
      setBusy(false);
    }
  };
  return (
    <>
      <Button variant={props.variant ?? 'secondary'} onClick={open} disabled={props.disabled}>{props.label}</Button>
      <dialog ref={dialog} className="dialog" aria-label={props.title}>
        <form onSubmit={submit}>
          <h2>{props.title}</h2>
          {props.description ? <div className="dialog-body">{props.description}</div> : null}
          {props.extra}
          {needsReason ? (
            <div className="field">
              <label htmlFor={reasonId}>{t('common.reason')}</label>
              <textarea id={reasonId} value={reason} onChange={(e) => setReason(e.target.value)} required minLength={3} maxLength={1000} rows={3} />
              <p className="hint">{t('common.reasonHint')}</p>
            </div>
          ) : null}
          <ErrorNotice error={error} />
          <div className="row dialog-actions">
            <Button variant="secondary" onClick={() => dialog.current?.close()}>{t('common.cancel')}</Button>
            <Button type="submit" variant={props.variant === 'danger' ? 'danger' : 'primary'} disabled={busy || (needsReason && reason.trim().length < 3)}>{props.confirmLabel ?? t('common.confirm')}</Button>
          </div>
        </form>
      </dialog>
    </>
  );
}

/** Newest first by the time each entry was posted (ties by transfer id, which is time-ordered too). */
export function inTimeOrder<T extends { createdAt: string; transferId: string }>(entries: T[]): T[] {
  return [...entries].sort((a, b) => (a.createdAt === b.createdAt ? b.transferId.localeCompare(a.transferId) : Date.parse(b.createdAt) - Date.parse(a.createdAt)));
}
