/**
 * What every money screen shares: the page frame (nav, live toasts, heading), the wallet summary, the
 * frozen-account notice, "this wasn't me" and date formatting.
 */
import { useCallback, useEffect, useRef, useState, type ReactNode } from 'react';
import { api } from '../../shared/api.ts';
import { useI18n } from '../../shared/i18n.tsx';
import { Link } from '../../shared/router.tsx';
import { Button, Notice, useFocusOnArrival } from '../../shared/ui.tsx';
import { problemText } from '../account/problems.ts';
import { dismissLive, useLiveFeed, type LiveNotification } from '../common/live-feed.ts';
import { WalletNav } from '../common/nav.tsx';

export interface Summary { balance: string; available: string; status: 'active' | 'frozen' | 'closed' }

/** A money screen: navigation, the live notifications, its own h2 and an optional way back. */
export function MoneyPage(props: { title: string; back?: string; children: ReactNode; hideHeading?: boolean }) {
  const { t } = useI18n();
  const { connected } = useLiveFeed();
  const heading = useRef<HTMLHeadingElement>(null);
  useFocusOnArrival(heading, props.title);
  return (
    // data-live: whether the live stream is connected (for tests and debugging; the toasts speak for themselves).
    <div className="money-stack" data-live={connected ? 'on' : 'off'}>
      <LiveToasts />
      {props.back ? <Link to={props.back} className="button ghost money-back">{`‹ ${t('common.back')}`}</Link> : null}
      <h2 className={props.hideHeading ? 'visually-hidden' : 'money-heading'} ref={heading} tabIndex={-1}>{props.title}</h2>
      {props.children}
      <WalletNav />
    </div>
  );
}

/** How often a screen that shows the balance reads it again while it is visible (it also follows live notifications). */
export const SUMMARY_REFRESH_MS = 30_000;

export interface SummaryState {
  summary: Summary | null;
  error: string | null;
  /** When the summary was last read successfully (ms), so a failed refresh can say how old it is. */
  lastUpdatedAt: number | null;
  /** True when the newest attempt failed: the balance on screen may be out of date. */
  stale: boolean;
  reload(): void;
}

/**
 * The wallet's balance and state; read again when `refreshKey` changes, on `reload`, and every
 * SUMMARY_REFRESH_MS while the page is visible. A failed refresh keeps the last answer on screen and
 * marks it stale, so the screen can say "connection lost — last updated …" instead of pretending.
 */
export function useSummary(refreshKey: unknown = null): SummaryState {
  const { t } = useI18n();
  const [summary, setSummary] = useState<Summary | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [lastUpdatedAt, setLastUpdatedAt] = useState<number | null>(null);
  const [stale, setStale] = useState(false);
  const [version, setVersion] = useState(0);
  useEffect(() => {
    let live = true;
    api<Summary>('GET', '/v1/wallet/summary').then((answer) => {
      if (!live) return;
      setSummary(answer); setError(null); setStale(false); setLastUpdatedAt(Date.now());
    }, (failure: unknown) => { if (live) { setError(problemText(t, failure)); setStale(true); } });
    return () => { live = false; };
  }, [version, refreshKey]);
  useEffect(() => {
    const timer = window.setInterval(() => { if (document.visibilityState === 'visible') setVersion((n) => n + 1); }, SUMMARY_REFRESH_MS);
    const onOnline = () => setVersion((n) => n + 1);
    addEventListener('online', onOnline);
    return () => { window.clearInterval(timer); removeEventListener('online', onOnline); };
  }, []);
  const reload = useCallback(() => setVersion((n) => n + 1), []);
  return { summary, error, lastUpdatedAt, stale, reload };
}

export function FrozenNotice() {
  const { t } = useI18n();
  return (
    <Notice kind="error">
      <strong>{t('money.frozen.title')}</strong>
      <span className="frozen-body">{t('money.frozen.body')}</span>
    </Notice>
  );
}

/** Notifications that arrived while the app is open, each with "this wasn't me". */
export function LiveToasts() {
  const { t } = useI18n();
  const { received } = useLiveFeed();
  if (received.length === 0) return null;
  return (
    <section className="toasts" aria-label={t('money.live.label')} aria-live="polite">
      {received.slice(0, 3).map((entry) => (
        <div key={entry.id} className="toast">
          <p className="toast-title">{entry.title}</p>
          <div className="row">
            {notMeApplies(entry) ? <NotMeButton entry={entry} /> : null}
            <Button variant="ghost" onClick={() => dismissLive(entry.id)}>{t('money.live.dismiss')}</Button>
          </div>
        </div>
      ))}
    </section>
  );
}

/**
 * Whether "this wasn't me" can help: the server marks each entry (payments, top-ups and sign-ins from a
 * new device are contestable; refunds, cancels, failed top-ups and the customer's own settings are not).
 */
export function notMeApplies(entry: { contestable?: boolean }): boolean {
  return entry.contestable === true;
}

/**
 * "This wasn't me": asks once, then freezes the wallet and opens a case (POST …/not-me). The answer
 * says what happened and what to do next.
 */
export function NotMeButton(props: { entry: Pick<LiveNotification, 'id' | 'title'>; onReported?: () => void }) {
  const { t } = useI18n();
  const [step, setStep] = useState<'idle' | 'confirm' | 'busy' | 'done'>('idle');
  const [error, setError] = useState<string | null>(null);
  async function report() {
    setStep('busy');
    setError(null);
    try {
      await api('POST', `/v1/customer/notifications/${encodeURIComponent(props.entry.id)}/not-me`, {});
      setStep('done');
      props.onReported?.();
    } catch (failure) {
      setError(problemText(t, failure));
      setStep('confirm');
    }
  }
  if (step === 'done') return <Notice kind="success">{t('money.notMe.done')}</Notice>;
  // Quiet until asked: a small outlined link-style button, not a red alarm on every row.
  if (step === 'idle') return <Button variant="ghost" className="not-me-quiet" onClick={() => setStep('confirm')}>{t('money.notMe.button')}</Button>;
  return (
    <div className="not-me-confirm" role="group" aria-label={t('money.notMe.button')}>
      <p>{t('money.notMe.confirm')}</p>
      <div className="row">
        <Button variant="danger" disabled={step === 'busy'} onClick={() => void report()}>{t('money.notMe.yes')}</Button>
        <Button variant="secondary" onClick={() => setStep('idle')}>{t('common.cancel')}</Button>
      </div>
      {error === null ? null : <Notice kind="error">{error}</Notice>}
    </div>
  );
}

export function formatWhen(iso: string, language: 'ja' | 'en'): string {
  return new Intl.DateTimeFormat(language === 'ja' ? 'ja-JP' : 'en-GB', { dateStyle: 'medium', timeStyle: 'short', timeZone: 'Asia/Tokyo' }).format(new Date(iso));
}

/** A random key for one customer intent (a double tap sends the same key, so it is one payment). */
export function newIntentKey(prefix: string): string {
  const bytes = crypto.getRandomValues(new Uint8Array(12));
  return `${prefix}-${Array.from(bytes, (b) => b.toString(16).padStart(2, '0')).join('')}`;
}
