/**
 * The customer wallet: a session-aware shell that routes to the account screens (./account) and the
 * money screens (./money). Signed out, a visitor sees the welcome card and the sign-in/sign-up routes;
 * signed in, the money routes (home at '/') and the account routes.
 */
import { useEffect, useState } from 'react';
import { api } from '../shared/api.ts';
import { useI18n } from '../shared/i18n.tsx';
import { Link, RouterProvider, Switch } from '../shared/router.tsx';
import { AppShell, Card, Notice } from '../shared/ui.tsx';
import { accountRoutes, signedOutRoutes } from './account/routes.tsx';
import { moneyRoutes } from './money/routes.tsx';
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
  const { me } = useSession();
  if (me === undefined) return <AppShell title={t('app.title')}><p role="status">{t('status.checking')}</p></AppShell>;
  const routes = me === null ? signedOutRoutes : { ...moneyRoutes, ...accountRoutes };
  return (
    <AppShell title={t('app.title')}>
      <Switch routes={routes} fallback={me === null ? <Welcome /> : <p>{t('notFound')}</p>} />
    </AppShell>
  );
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
