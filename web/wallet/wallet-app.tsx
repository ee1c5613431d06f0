/**
 * The customer wallet. This first version is the shell (language, layout, service status); the
 * sign-up, sign-in, pay, scan and top-up screens are built on the identity and payments APIs.
 */
import { useEffect, useState } from 'react';
import { api } from '../shared/api.ts';
import { useI18n } from '../shared/i18n.tsx';
import { AppShell, Button, Card, Notice } from '../shared/ui.tsx';

type Status = 'checking' | 'ready' | 'down';

export function WalletApp() {
  const { t } = useI18n();
  const [status, setStatus] = useState<Status>('checking');
  useEffect(() => {
    api<{ status: string }>('GET', '/readyz').then(() => setStatus('ready'), () => setStatus('down'));
  }, []);
  return (
    <AppShell title={t('app.title')}>
      <Card>
        <h2 className="welcome-heading">{t('welcome.heading')}</h2>
        <p>{t('welcome.body')}</p>
        <div className="row">
          <Button>{t('welcome.signIn')}</Button>
          <Button variant="secondary">{t('welcome.signUp')}</Button>
        </div>
      </Card>
      <Notice kind={status === 'down' ? 'error' : status === 'ready' ? 'success' : 'info'}>{t(`status.${status}`)}</Notice>
    </AppShell>
  );
}
