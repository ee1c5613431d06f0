/** /settings: the account's security at a glance, links to each sub-page, and sign-out. */
import { useState } from 'react';
import { api, setCsrfToken } from '../../shared/api.ts';
import { useI18n } from '../../shared/i18n.tsx';
import { Link, useRouter } from '../../shared/router.tsx';
import { Button, Card, Notice } from '../../shared/ui.tsx';
import { WalletNav } from '../common/nav.tsx';
import { useSession } from '../session.tsx';
import { Page, useLoad } from './page.tsx';
import { problemText } from './problems.ts';

export interface Factors { passkeys: number; totp: boolean; recoveryCodesLeft: number; chargePin: 'not_set' | 'set' | 'locked'; paysWithPasskey: boolean }

export const SETTINGS_PAGES = ['passkeys', 'totp', 'recovery-codes', 'sessions', 'pin', 'contacts', 'password', 'social'] as const;

export function SettingsPage() {
  const { t } = useI18n();
  const { me } = useSession();
  const factors = useLoad<Factors>('/v1/customer/factors');
  const state = (page: string): string | null => {
    const f = factors.data;
    if (f === null) return null;
    if (page === 'passkeys') return t('settings.count', { count: f.passkeys });
    if (page === 'totp') return f.totp ? t('settings.on') : t('settings.off');
    if (page === 'recovery-codes') return t('settings.left', { count: f.recoveryCodesLeft });
    if (page === 'pin') return t(`settings.pin.${f.chargePin}`);
    return null;
  };
  return (
    <Page title={t('settings.title')}>
      {me?.recoveryCooldown ? <Notice kind="info">{t('settings.cooldown')}</Notice> : null}
      {factors.data?.chargePin === 'locked' ? <Notice kind="error">{t('settings.pinLocked')}</Notice> : null}
      <Card title={t('settings.security')}>
        <ul className="account-links">
          {SETTINGS_PAGES.map((page) => (
            <li key={page}>
              <Link to={`/settings/${page}`}>
                <span>{t(`settings.page.${page}`)}{state(page) === null ? null : <span className="tag">{state(page)}</span>}</span>
              </Link>
            </li>
          ))}
        </ul>
      </Card>
      <SignOut />
      <WalletNav />
    </Page>
  );
}

function SignOut() {
  const { t } = useI18n();
  const { refresh } = useSession();
  const { navigate } = useRouter();
  const [error, setError] = useState<string | null>(null);
  async function signOut() {
    try {
      await api('POST', '/v1/customer/logout', {});
      setCsrfToken(null);
      navigate('/', { replace: true });
      await refresh();
    } catch (failure) {
      setError(problemText(t, failure));
    }
  }
  return (
    <>
      <Button variant="secondary" onClick={() => void signOut()}>{t('settings.signOut')}</Button>
      {error ? <Notice kind="error">{error}</Notice> : null}
    </>
  );
}
