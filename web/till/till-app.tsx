/**
 * The till (store tablet): activation once, then the charge screen, today's sales and the daily close.
 * The tablet holds only its terminal session (an HttpOnly cookie); the CSRF token comes from
 * GET /v1/till/session after every load.
 */
import { useCallback, useEffect, useState } from 'react';
import { ApiError, setCsrfToken } from '../shared/api.ts';
import { useI18n } from '../shared/i18n.tsx';
import { Link, Switch, useRouter } from '../shared/router.tsx';
import { AppShell, Button, Card, Notice } from '../shared/ui.tsx';
import { ActivateScreen } from './activate-screen.tsx';
import { CashScreen } from './cash-screen.tsx';
import { ChargeScreen } from './charge-screen.tsx';
import { CloseScreen } from './close-screen.tsx';
import { SalesScreen } from './sales-screen.tsx';
import { tillApi, type TillSession } from './till-api.ts';

export { appendDigit } from './keypad.tsx';

export function TillApp() {
  const { t } = useI18n();
  const [session, setSession] = useState<TillSession | null | undefined>(undefined);
  const [failed, setFailed] = useState(false);
  const refresh = useCallback(async () => {
    try {
      const next = await tillApi.session();
      setCsrfToken(next.csrfToken);
      setSession(next);
      setFailed(false);
    } catch (error) {
      if (error instanceof ApiError && error.problem.status === 401) {
        setCsrfToken(null);
        setSession(null);
      } else {
        setFailed(true);
      }
    }
  }, []);
  useEffect(() => { void refresh(); }, [refresh]);

  if (session === undefined) {
    return (
      <AppShell title={t('app.title')}>
        {failed ? (
          <Card>
            <h2 className="till-offline-heading">{t('offline.heading')}</h2>
            <Notice kind="error">{t('error.network')}</Notice>
            <Button onClick={() => void refresh()}>{t('result.retry')}</Button>
          </Card>
        ) : <p role="status">{t('loading')}</p>}
      </AppShell>
    );
  }
  if (session === null) {
    return (
      <AppShell title={t('app.title')}>
        <ActivateScreen onActivated={(next) => { setCsrfToken(next.csrfToken); setSession(next); }} />
      </AppShell>
    );
  }
  return <ActivatedTill session={session} refresh={refresh} onEnded={() => { setCsrfToken(null); setSession(null); }} />;
}

function ActivatedTill(props: { session: TillSession; refresh: () => Promise<void>; onEnded: () => void }) {
  const { t } = useI18n();
  const { path } = useRouter();
  const { session } = props;
  const signOut = async () => {
    try {
      await tillApi.signOut();
    } finally {
      props.onEnded();
    }
  };
  const tab = (to: string, label: string) => (
    <li><Link to={to} className={`till-tab${path === to ? ' active' : ''}`}>{label}</Link></li>
  );
  return (
    <AppShell title={t('app.title')} actions={<Button variant="ghost" onClick={() => void signOut()}>{t('till.signOut')}</Button>}>
      <p className="till-where">{t('till.where', { store: session.store.name, terminal: session.terminal.name })}</p>
      <nav aria-label={t('nav.label')}>
        <ul className="till-tabs">
          {tab('/', t('nav.charge'))}
          {tab('/cash', t('nav.cash'))}
          {tab('/sales', t('nav.sales'))}
          {tab('/close', t('nav.close'))}
        </ul>
      </nav>
      <Switch
        routes={{
          '/': () => session.dayClosed ? <Card><Notice kind="info">{t('till.dayClosed')}</Notice></Card> : <ChargeScreen onSessionEnded={props.onEnded} />,
          '/cash': () => <CashScreen onSessionEnded={props.onEnded} />,
          '/sales': () => <SalesScreen />,
          '/close': () => <CloseScreen onClosed={() => void props.refresh()} />,
        }}
        fallback={<ChargeScreen onSessionEnded={props.onEnded} />}
      />
    </AppShell>
  );
}
