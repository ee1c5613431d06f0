/**
 * The wallet's tab bar, fixed to the bottom of every signed-in screen where a thumb reaches it: Home,
 * a big Pay, a big Scan, History and Settings (PayPay's layout: paying is one tap from anywhere). Place
 * `<WalletNav />` on any signed-in screen; it has no props and marks the current tab with aria-current.
 * The payment success screen covers it (it sits above in the stacking order).
 */
import { useI18n } from '../../shared/i18n.tsx';
import { useRouter } from '../../shared/router.tsx';
import './nav.css';

interface Tab { to: string; key: string; icon: keyof typeof ICONS; big?: boolean; current(path: string): boolean }

// Line icons as SVG paths (24×24): no icon font, no glyph a phone may lack.
const ICONS = {
  home: 'M3 11 12 3l9 8M5 10v10h5v-6h4v6h5V10',
  pay: 'M4 5v14M7 5v14M10 5v14M14 5v14M17 5v14M20 5v14',
  scan: 'M4 9V4h5M15 4h5v5M20 15v5h-5M9 20H4v-5M4 12h16',
  history: 'M5 6h14M5 12h14M5 18h14',
  settings: 'M12 8a4 4 0 1 0 0 8 4 4 0 0 0 0-8zM12 2v3M12 19v3M2 12h3M19 12h3M4.9 4.9l2.1 2.1M17 17l2.1 2.1M4.9 19.1 7 17M17 7l2.1-2.1',
} as const;

const TABS: readonly Tab[] = [
  { to: '/', key: 'nav.home', icon: 'home', current: (path) => path === '/' || path.startsWith('/top-up') || path.startsWith('/notifications') },
  { to: '/pay', key: 'nav.pay', icon: 'pay', big: true, current: (path) => path.startsWith('/pay') },
  { to: '/scan', key: 'nav.scan', icon: 'scan', big: true, current: (path) => path.startsWith('/scan') },
  { to: '/history', key: 'nav.history', icon: 'history', current: (path) => path.startsWith('/history') },
  { to: '/settings', key: 'nav.settings', icon: 'settings', current: (path) => path.startsWith('/settings') },
];

export function WalletNav() {
  const { t } = useI18n();
  const { path, navigate, href } = useRouter();
  return (
    <>
    {/* Room at the end of the page, so the last line can scroll clear of the fixed bar. */}
    <div className="wallet-tabbar-spacer" aria-hidden="true" />
    <nav className="wallet-tabbar" aria-label={t('nav.label')}>
      {TABS.map((tab) => {
        const current = tab.current(path);
        // The router's Link, plus aria-current (Link takes no ARIA props).
        return (
          <a key={tab.to} href={href(tab.to)} aria-current={current ? 'page' : undefined} className={`tab${tab.big === true ? ' tab-big' : ''}`} onClick={(event) => {
            if (event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
            event.preventDefault();
            navigate(tab.to);
          }}>
            <span className="tab-icon" aria-hidden="true">
              <svg viewBox="0 0 24 24" width="24" height="24" fill="none" stroke="currentColor" strokeWidth="2" strokeLinecap="round" strokeLinejoin="round"><path d={ICONS[tab.icon]} /></svg>
            </span>
            <span className="tab-label">{t(tab.key)}</span>
          </a>
        );
      })}
    </nav>
    </>
  );
}
