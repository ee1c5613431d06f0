/**
 * The wallet's small signed-in navigation: Home ('/', the money screens) and Settings ('/settings',
 * the account screens). Place `<WalletNav />` at the top of any signed-in screen; it has no props,
 * marks the current section with aria-current, and wraps on a 360 px phone. Links to further money
 * screens belong to those screens, not here, so this stays two items.
 */
import { useI18n } from '../../shared/i18n.tsx';
import { useRouter } from '../../shared/router.tsx';

const ITEMS = [
  { to: '/', key: 'nav.home', current: (path: string) => !path.startsWith('/settings') },
  { to: '/settings', key: 'nav.settings', current: (path: string) => path.startsWith('/settings') },
] as const;

export function WalletNav() {
  const { t } = useI18n();
  const { path, navigate, href } = useRouter();
  return (
    <nav className="wallet-nav" aria-label={t('nav.label')}>
      {ITEMS.map((item) => {
        const current = item.current(path);
        // The router's Link, plus aria-current (Link takes no ARIA props).
        return (
          <a key={item.to} href={href(item.to)} aria-current={current ? 'page' : undefined} className={`button ${current ? 'primary' : 'secondary'}`} onClick={(event) => {
            if (event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
            event.preventDefault();
            navigate(item.to);
          }}>{t(item.key)}</a>
        );
      })}
    </nav>
  );
}
