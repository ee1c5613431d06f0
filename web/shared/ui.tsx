/** Koban's small design system: one look across wallet, till and console. Accessible by default. */
import { useEffect, useId, useRef, useState, type RefObject, type ButtonHTMLAttributes, type InputHTMLAttributes, type ReactNode } from 'react';
import { useI18n } from './i18n.tsx';
import { formatAgo } from './time.ts';

export function AppShell(props: { title: string; children: ReactNode; actions?: ReactNode }) {
  return (
    <div className="shell">
      <header className="shell-header">
        <span className="brand" aria-hidden="true">小判</span>
        <h1 className="shell-title">{props.title}</h1>
        <div className="shell-actions">{props.actions}<LanguageSwitch /></div>
      </header>
      <main className="shell-main">{props.children}</main>
    </div>
  );
}

export function LanguageSwitch() {
  const { language, setLanguage, t } = useI18n();
  return (
    <button type="button" className="button ghost" onClick={() => setLanguage(language === 'ja' ? 'en' : 'ja')} aria-label={t('language.switch')} lang={language === 'ja' ? 'en' : 'ja'}>
      {t('language.visible')}
    </button>
  );
}

export function Button(props: ButtonHTMLAttributes<HTMLButtonElement> & { variant?: 'primary' | 'secondary' | 'danger' | 'ghost' }) {
  const { variant = 'primary', className, ...rest } = props;
  return <button type="button" {...rest} className={`button ${variant} ${className ?? ''}`} />;
}

export function Field(props: InputHTMLAttributes<HTMLInputElement> & { label: string; error?: string | null; hint?: string }) {
  const { label, error, hint, ...input } = props;
  const id = useId();
  const describedBy = [hint ? `${id}-hint` : null, error ? `${id}-error` : null].filter(Boolean).join(' ') || undefined;
  return (
    <div className="field">
      <label htmlFor={id}>{label}</label>
      <input id={id} aria-invalid={error ? true : undefined} aria-describedby={describedBy} {...input} />
      {hint ? <p id={`${id}-hint`} className="hint">{hint}</p> : null}
      {error ? <p id={`${id}-error`} className="error" role="alert">{error}</p> : null}
    </div>
  );
}

export function Card(props: { children: ReactNode; title?: string }) {
  return (
    <section className="card" aria-label={props.title}>
      {props.title ? <h2>{props.title}</h2> : null}
      {props.children}
    </section>
  );
}

export function Notice(props: { kind: 'info' | 'success' | 'error'; children: ReactNode }) {
  return <div className={`notice ${props.kind}`} role={props.kind === 'error' ? 'alert' : 'status'}>{props.children}</div>;
}

/**
 * Shown over data that can go stale when its refresh fails: "Connection lost — last updated 3 minutes
 * ago", with a retry. The age keeps counting while the connection stays down.
 */
export function ConnectionLost(props: { lastUpdatedAt: number | null; onRetry?: () => void }) {
  const { t, language } = useI18n();
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), 15_000);
    return () => window.clearInterval(timer);
  }, []);
  const age = props.lastUpdatedAt === null ? t('connection.never') : t('connection.lastUpdated', { ago: formatAgo(now - props.lastUpdatedAt, language) });
  return (
    <div className="notice error connection-lost" role="status" data-testid="connection-lost">
      <strong>{t('connection.lost')}</strong> <span>— {age}</span>
      {props.onRetry ? <Button variant="secondary" className="connection-retry" onClick={props.onRetry}>{t('connection.retry')}</Button> : null}
    </div>
  );
}

/** The unfinished-request state every screen shows: an honest message and a retry, never an endless spinner. */
export function NoAnswer(props: { onRetry(): void; message?: string }) {
  const { t } = useI18n();
  return (
    <div className="notice error no-answer" role="alert">
      <p>{props.message ?? t('connection.noAnswer')}</p>
      <Button variant="secondary" onClick={props.onRetry}>{t('connection.retry')}</Button>
    </div>
  );
}

/**
 * Moves keyboard and screen-reader focus to a screen's heading when the screen arrives: always when
 * `step` changes (the next step of a flow replaced the form that had focus), and on first showing only
 * when focus was lost to <body> (a route change), so a field the screen focuses itself keeps it.
 */
export function useFocusOnArrival(heading: RefObject<HTMLElement | null>, step: string): void {
  const shown = useRef(false);
  useEffect(() => {
    const lost = document.activeElement === null || document.activeElement === document.body;
    if (shown.current || lost) heading.current?.focus({ preventScroll: false });
    shown.current = true;
  }, [step]);
}
