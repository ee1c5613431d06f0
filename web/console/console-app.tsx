/** The operator console. This first version is the sign-in shell; the screens come with the operator API. */
import { useI18n } from '../shared/i18n.tsx';
import { AppShell, Button, Card, Field } from '../shared/ui.tsx';

export function ConsoleApp() {
  const { t } = useI18n();
  return (
    <AppShell title={t('app.title')}>
      <Card title={t('signIn.heading')}>
        <p className="hint">{t('signIn.note')}</p>
        <form onSubmit={(event) => event.preventDefault()}>
          <Field label={t('signIn.email')} type="email" autoComplete="username" required />
          <Field label={t('signIn.password')} type="password" autoComplete="current-password" required />
          <Field label={t('signIn.totp')} inputMode="numeric" autoComplete="one-time-code" pattern="[0-9]{6}" required />
          <Button type="submit">{t('signIn.submit')}</Button>
        </form>
      </Card>
    </AppShell>
  );
}
