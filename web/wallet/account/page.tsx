/** Small building blocks shared by the account screens: a titled page, data loading, redirects. */
import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import { api } from '../../shared/api.ts';
import { useI18n } from '../../shared/i18n.tsx';
import { Link, useRouter } from '../../shared/router.tsx';
import { Notice, useFocusOnArrival } from '../../shared/ui.tsx';
import { problemText } from './problems.ts';

/**
 * A screen with its own h2 (the app's h1 is the shell title) and an optional way back. `step` names the
 * step of a multi-step flow: when it (or the title) changes, focus moves to the heading, so keyboard and
 * screen-reader users land on the new step instead of <body>.
 */
export function Page(props: { title: string; back?: string; step?: string; children: ReactNode }) {
  const { t } = useI18n();
  const heading = useRef<HTMLHeadingElement>(null);
  useFocusOnArrival(heading, `${props.title}|${props.step ?? ''}`);
  return (
    <div className="account-stack">
      {props.back ? <Link to={props.back} className="button ghost">{`‹ ${t('common.back')}`}</Link> : null}
      <h2 className="welcome-heading" ref={heading} tabIndex={-1}>{props.title}</h2>
      {props.children}
    </div>
  );
}

export type Loaded<T> = { data: T | null; error: string | null; reload(): void };

/** GETs `path` on mount and on `reload()`; the error is already a sentence for the customer. */
export function useLoad<T>(path: string): Loaded<T> {
  const { t } = useI18n();
  const [data, setData] = useState<T | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [version, setVersion] = useState(0);
  useEffect(() => {
    let live = true;
    api<T>('GET', path).then((answer) => { if (live) { setData(answer); setError(null); } }, (failure: unknown) => { if (live) setError(problemText(t, failure)); });
    return () => { live = false; };
  }, [path, version]);
  const reload = useCallback(() => setVersion((n) => n + 1), []);
  return { data, error, reload };
}

export function Loading(props: { error: string | null }) {
  const { t } = useI18n();
  return props.error === null ? <p role="status">{t('common.loading')}</p> : <Notice kind="error">{props.error}</Notice>;
}

/** Sends the router elsewhere (e.g. a signed-in customer who opens /sign-in). */
export function Redirect(props: { to: string }) {
  const { navigate } = useRouter();
  useEffect(() => navigate(props.to, { replace: true }), [props.to]);
  return null;
}

/**
 * Reads and clears the URL fragment Koban's social callback leaves (`#challenge=…&methods=…` or
 * `#error=…`): the values stay in memory, never in the address bar or history.
 */
export function takeFragment(): URLSearchParams {
  const fragment = new URLSearchParams(location.hash.slice(1));
  if (location.hash !== '') history.replaceState(history.state, '', location.pathname + location.search);
  return fragment;
}

export function formatDate(iso: string | null, language: 'ja' | 'en'): string {
  if (iso === null) return '—';
  return new Intl.DateTimeFormat(language === 'ja' ? 'ja-JP' : 'en-GB', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'Asia/Tokyo' }).format(new Date(iso));
}
