/**
 * The merchant portal at /merchant/: sign-in (or an application), then sales, stores and tills, money and
 * developers, as the staff member's role allows. The server checks every request anyway.
 */
import { useI18n } from '../shared/i18n.tsx';
import { Link, RouterProvider, Switch, useRouter } from '../shared/router.tsx';
import { AppShell, Button, Notice } from '../shared/ui.tsx';
import { SessionProvider, useSession } from './session.tsx';
import { DevelopersScreen } from './screens/developers.tsx';
import { MoneyScreen } from './screens/money.tsx';
import { SaleScreen, SalesScreen } from './screens/sales.tsx';
import { ApplyScreen, SignInScreen } from './screens/sign-in.tsx';
import { StoresScreen } from './screens/stores.tsx';
import { AccountScreen } from './screens/account.tsx';
import { ApplicationScreen } from './screens/application.tsx';
import { StaffScreen } from './screens/staff.tsx';

const NAV = [
  { path: '/', label: 'nav.sales', screen: 'sales' },
  { path: '/stores', label: 'nav.stores', screen: 'stores' },
  { path: '/money', label: 'nav.money', screen: 'money' },
  { path: '/developers', label: 'nav.developers', screen: 'developers' },
  { path: '/staff', label: 'nav.staff', screen: 'staff' },
  { path: '/account', label: 'nav.account', screen: 'account' },
] as const;

export function MerchantApp() {
  return (
    <RouterProvider prefix="/merchant/">
      <SessionProvider>
        <Portal />
      </SessionProvider>
    </RouterProvider>
  );
}

function Portal() {
  const { t } = useI18n();
  const session = useSession();
  const { path } = useRouter();
  const me = session.me;
  const actions = me ? (
    <>
      <span className="operator-badge" title={me.user.email}>{me.merchant.name} · {t(`role.${me.user.role}`)}</span>
      <Button variant="ghost" onClick={() => void session.signOut()}>{t('signOut')}</Button>
    </>
  ) : undefined;
  const body = me === undefined ? <p className="hint">{t('common.loading')}</p>
    : me === null ? (path === '/apply' ? <ApplyScreen /> : <SignInScreen />)
    : me.sessionKind === 'applicant' ? <ApplicationScreen />
    : <SignedIn />;
  return <AppShell title={t('app.title')} actions={actions}>{body}</AppShell>;
}

function SignedIn() {
  const { t } = useI18n();
  const session = useSession();
  const { path } = useRouter();
  const me = session.me!;
  const guard = (screen: Parameters<typeof session.can>[0], node: React.ReactNode) => (session.can(screen) ? node : <Notice kind="error">{t('common.notForRole')}</Notice>);
  return (
    <div className="portal">
      <nav className="console-nav" aria-label={t('nav.label')}>
        <ul>
          {NAV.filter((item) => session.can(item.screen)).map((item) => {
            const current = item.path === '/' ? path === '/' || path.startsWith('/sales') : path.startsWith(item.path);
            return <li key={item.path}><Link to={item.path} className={current ? 'current' : undefined}>{t(item.label)}</Link></li>;
          })}
        </ul>
      </nav>
      <div className="console-screen">
        {me.merchant.status === 'suspended' ? <Notice kind="error">{t('state.suspended')}{me.merchant.statusReason ? ` (${me.merchant.statusReason})` : ''}</Notice> : null}
        {me.merchant.payoutsHeld ? <Notice kind="info">{t('state.payoutsHeld')}</Notice> : null}
        <Switch
          routes={{
            '/': () => guard('sales', <SalesScreen />),
            '/sales/:id': (p) => guard('sales', <SaleScreen key={p.id} id={p.id ?? ''} />),
            '/stores': () => guard('stores', <StoresScreen />),
            '/money': () => guard('money', <MoneyScreen />),
            '/developers': () => guard('developers', <DevelopersScreen />),
            '/staff': () => guard('staff', <StaffScreen />),
            '/account': () => guard('account', <AccountScreen />),
          }}
          fallback={<Notice kind="error">{t('common.notFound')}</Notice>}
        />
      </div>
    </div>
  );
}
