/**
 * The customer wallet: a session-aware shell that routes to the account screens (./account) and the
 * money screens (./money). Signed out, a visitor sees the welcome card and the sign-in/sign-up routes;
 * signed in, the money routes (home at '/') and the account routes.
 */
import { useEffect, useState } from 'react';
import { api } from '../shared/api.ts';
import { useI18n } from '../shared/i18n.tsx';
import { Link, RouterProvider, Switch } from '../shared/router.tsx';
import { AppShell, Button, Card, Notice } from '../shared/ui.tsx';
import { accountRoutes, signedOutRoutes } from './account/routes.tsx';
import { moneyRoutes, signedOutMoneyRoutes } from './money/routes.tsx';
import { SessionProvider, useSession } from './session.tsx';

export function WalletApp() {
  return (
    <RouterProvider prefix="/wallet/">
      <SessionProvider>
        <WalletScreens />
      </SessionProvider>
    </RouterProvider>
  );
}

function WalletScreens() {
  const { t } = useI18n();
  const { me, unreachable, refresh } = useSession();
  if (me === undefined) {
    return (
      <AppShell title={t('app.title')}>
        {unreachable ? <OfflineCard onRetry={() => { refresh().catch(() => undefined); }} /> : <p role="status">{t('status.checking')}</p>}
      </AppShell>
    );
  }
  const routes = me === null ? { ...signedOutRoutes, ...signedOutMoneyRoutes } : { ...moneyRoutes, ...accountRoutes };
  return (
    <AppShell title={t('app.title')}>
      <Switch routes={routes} fallback={me === null ? <Welcome /> : <p>{t('notFound')}</p>} />
    </AppShell>
  );
}

/** Opened without a connection (the service worker served the shell): say so, and offer to try again. */
function OfflineCard(props: { onRetry(): void }) {
  const { t } = useI18n();
  const online = useOnline();
  return (
    <Card>
      <h2 className="welcome-heading">{t(online ? 'offline.downHeading' : 'offline.heading')}</h2>
      <p role="alert">{t(online ? 'offline.downBody' : 'offline.body')}</p>
      <Button onClick={props.onRetry}>{t('connection.retry')}</Button>
    </Card>
  );
}

function useOnline(): boolean {
  const [online, setOnline] = useState(() => navigator.onLine);
  useEffect(() => {
    const update = () => setOnline(navigator.onLine);
    addEventListener('online', update);
    addEventListener('offline', update);
    return () => { removeEventListener('online', update); removeEventListener('offline', update); };
  }, []);
  return online;
}

type Status = 'checking' | 'ready' | 'down';

function Welcome() {
  const { t } = useI18n();
  const { ended } = useSession();
  const [status, setStatus] = useState<Status>('checking');
  useEffect(() => {
    api<{ status: string }>('GET', '/readyz').then(() => setStatus('ready'), () => setStatus('down'));
  }, []);
  return (
    <>
      {ended ? <Notice kind="info">{t('session.ended')}</Notice> : null}
      <Card>
        <h2 className="welcome-heading">{t('welcome.heading')}</h2>
        <p>{t('welcome.body')}</p>
        <div className="row">
          <Link to="/sign-in" className="button primary">{t('welcome.signIn')}</Link>
          <Link to="/sign-up" className="button secondary">{t('welcome.signUp')}</Link>
        </div>
      </Card>
      <Notice kind={status === 'down' ? 'error' : status === 'ready' ? 'success' : 'info'}>{t(`status.${status}`)}</Notice>
    </>
  );
}
