/**
 * The operator console: sign-in (e-mail, password, authenticator code), then the screens the
 * operator's role can use. Navigation hides what the role lacks; the server checks every request anyway.
 */
import { useI18n } from '../shared/i18n.tsx';
import { Link, RouterProvider, Switch, useRouter } from '../shared/router.tsx';
import { AppShell, Button, Notice } from '../shared/ui.tsx';
import { SessionProvider, useSession } from './session.tsx';
import { AuditScreen } from './screens/audit.tsx';
import { CaseScreen, CasesScreen } from './screens/cases.tsx';
import { CompensationScreen } from './screens/compensation.tsx';
import { CustomerScreen } from './screens/customer.tsx';
import { DashboardScreen } from './screens/dashboard.tsx';
import { MerchantScreen } from './screens/merchant.tsx';
import { MerchantApplicationsScreen } from './screens/merchant-applications.tsx';
import { RulesScreen } from './screens/rules.tsx';
import { SearchScreen } from './screens/search.tsx';
import { SignIn } from './screens/sign-in.tsx';
import { SwitchesScreen } from './screens/switches.tsx';
import { SecurityEventsScreen } from './screens/security-events.tsx';
import { IdentityReviewsScreen } from './screens/identity-reviews.tsx';
import { AbolitionScreen } from './screens/abolition.tsx';
import { CampaignsScreen } from './screens/campaigns.tsx';

const NAV: ReadonlyArray<{ path: string; label: string; permission: string }> = [
  { path: '/', label: 'nav.dashboard', permission: 'dashboard.read' },
  { path: '/search', label: 'nav.search', permission: 'customers.read' },
  { path: '/merchant-applications', label: 'nav.applications', permission: 'merchants.read' },
  { path: '/cases', label: 'nav.cases', permission: 'cases.read' },
  { path: '/switches', label: 'nav.switches', permission: 'switches.read' },
  { path: '/rules', label: 'nav.rules', permission: 'risk.rules.read' },
  { path: '/compensation', label: 'nav.compensation', permission: 'proposals.read' },
  { path: '/security-events', label: 'nav.securityEvents', permission: 'security_events.read' },
  { path: '/audit', label: 'nav.audit', permission: 'audit.read' },
  { path: '/identity-reviews', label: 'nav.identityReviews', permission: 'identity.review' },
  { path: '/campaigns', label: 'nav.campaigns', permission: 'promotions.read' },
  { path: '/abolition', label: 'nav.abolition', permission: 'regulatory.read' },
];

export function ConsoleApp() {
  return (
    <RouterProvider prefix="/console/">
      <SessionProvider>
        <Console />
      </SessionProvider>
    </RouterProvider>
  );
}

function Console() {
  const { t } = useI18n();
  const session = useSession();
  const me = session.me;
  const actions = me ? (
    <>
      <span className="operator-badge" title={me.email}>{me.displayName} · {t(`role.${me.role}`)}</span>
      <Button variant="ghost" onClick={() => void session.signOut()}>{t('signOut')}</Button>
    </>
  ) : undefined;
  return (
    <AppShell title={t('app.title')} actions={actions}>
      {me === undefined ? <p className="hint">{t('common.loading')}</p> : me === null ? <SignIn /> : <SignedIn />}
    </AppShell>
  );
}

function SignedIn() {
  const { t } = useI18n();
  const session = useSession();
  const { path } = useRouter();
  const allowed = (permission: string) => session.can(permission);
  const guard = (permission: string, screen: React.ReactNode) => (allowed(permission) ? screen : <Notice kind="error">{t('common.notForRole')}</Notice>);
  return (
    <>
      <nav className="console-nav" aria-label={t('nav.label')}>
        <ul>
          {NAV.filter((item) => allowed(item.permission)).map((item) => {
            const current = item.path === '/' ? path === '/' : path.startsWith(item.path) || (item.path === '/search' && (path.startsWith('/customers') || path.startsWith('/merchants')));
            return <li key={item.path}><Link to={item.path} className={current ? 'current' : undefined}>{t(item.label)}</Link></li>;
          })}
        </ul>
      </nav>
      <div className="console-screen">
        <Switch
          routes={{
            '/': () => guard('dashboard.read', <DashboardScreen />),
            '/search': () => guard('customers.read', <SearchScreen />),
            '/customers/:id': (p) => guard('customers.read', <CustomerScreen key={p.id} id={p.id ?? ''} />),
            '/merchants/:id': (p) => guard('merchants.read', <MerchantScreen key={p.id} id={p.id ?? ''} />),
            '/merchant-applications': () => guard('merchants.read', <MerchantApplicationsScreen />),
            '/cases': () => guard('cases.read', <CasesScreen />),
            '/cases/:id': (p) => guard('cases.read', <CaseScreen key={p.id} id={p.id ?? ''} />),
            '/switches': () => guard('switches.read', <SwitchesScreen />),
            '/rules': () => guard('risk.rules.read', <RulesScreen />),
            '/compensation': () => guard('proposals.read', <CompensationScreen />),
            '/security-events': () => guard('security_events.read', <SecurityEventsScreen />),
            '/audit': () => guard('audit.read', <AuditScreen />),
            '/identity-reviews': () => guard('identity.review', <IdentityReviewsScreen />),
            '/campaigns': () => guard('promotions.read', <CampaignsScreen />),
            '/abolition': () => guard('regulatory.read', <AbolitionScreen />),
          }}
          fallback={<Notice kind="error">{t('common.notFound')}</Notice>}
        />
      </div>
    </>
  );
}
