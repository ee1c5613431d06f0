/** Operator sign-in: e-mail, password and the authenticator code, all three at once (TOTP is mandatory). */
import { useState, type FormEvent } from 'react';
import { useI18n } from '../../shared/i18n.tsx';
import { Button, Card, Field, Notice } from '../../shared/ui.tsx';
import { problemText } from '../common.tsx';
import { useSession } from '../session.tsx';

export function SignIn() {
  const { t } = useI18n();
  const session = useSession();
  const [email, setEmail] = useState('');
  const [password, setPassword] = useState('');
  const [totpCode, setTotpCode] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const submit = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await session.signIn({ email: email.trim(), password, totpCode: totpCode.trim() });
    } catch (caught) {
      setError(problemText(caught, t));
      setTotpCode('');
    } finally {
      setBusy(false);
    }
  };
  return (
    <div className="sign-in">
      <Card title={t('signIn.heading')}>
        {session.signedOutReason === 'timed_out' ? <Notice kind="info">{t('signIn.timedOut')}</Notice> : null}
        {session.signedOutReason === 'signed_out' ? <Notice kind="success">{t('signIn.signedOut')}</Notice> : null}
        <p className="hint">{t('signIn.note')}</p>
        <form onSubmit={submit}>
          <Field label={t('signIn.email')} type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} />
          <Field label={t('signIn.password')} type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
          <Field label={t('signIn.totp')} inputMode="numeric" autoComplete="one-time-code" pattern="[0-9]{6}" maxLength={6} required value={totpCode}
            onChange={(e) => setTotpCode(e.target.value.replace(/\D/g, ''))} hint={t('signIn.totpHint')} />
          {error ? <Notice kind="error">{error}</Notice> : null}
          <Button type="submit" disabled={busy}>{t('signIn.submit')}</Button>
        </form>
      </Card>
    </div>
  );
}
