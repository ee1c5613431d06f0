/**
 * Operator sign-in (issue 14): a passkey, bound to Koban's origin, so a relayed password and code are worth
 * nothing. A new operator signs in once with e-mail, password and the authenticator code, which opens a short
 * session that can only register this device's passkey; the console then signs in with it. Lost passkey:
 * break-glass (a second operator approves), through the operator API.
 */
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
  const [enrolling, setEnrolling] = useState(false);
  const run = async (work: () => Promise<unknown>) => {
    setBusy(true);
    setError(null);
    try {
      await work();
    } catch (caught) {
      setError(problemText(caught, t));
      setTotpCode('');
    } finally {
      setBusy(false);
    }
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    void run(async () => {
      if (await session.signIn({ email: email.trim(), password, totpCode: totpCode.trim() }) === 'enrolment') setEnrolling(true);
    });
  };
  if (enrolling) {
    return (
      <div className="sign-in">
        <Card title={t('signIn.enrolHeading')}>
          <p className="hint">{t('signIn.enrolNote')}</p>
          {error ? <Notice kind="error">{error}</Notice> : null}
          <Button disabled={busy} onClick={() => void run(() => session.enrolPasskey())}>{t('signIn.enrol')}</Button>
        </Card>
      </div>
    );
  }
  return (
    <div className="sign-in">
      <Card title={t('signIn.heading')}>
        {session.signedOutReason === 'timed_out' ? <Notice kind="info">{t('signIn.timedOut')}</Notice> : null}
        {session.signedOutReason === 'signed_out' ? <Notice kind="success">{t('signIn.signedOut')}</Notice> : null}
        <p className="hint">{t('signIn.note')}</p>
        {error ? <Notice kind="error">{error}</Notice> : null}
        <Button disabled={busy} onClick={() => void run(() => session.signInWithPasskey())}>{t('signIn.passkey')}</Button>
      </Card>
      <Card title={t('signIn.firstHeading')}>
        <p className="hint">{t('signIn.firstNote')}</p>
        <form onSubmit={submit}>
          <Field label={t('signIn.email')} type="email" autoComplete="username" required value={email} onChange={(e) => setEmail(e.target.value)} />
          <Field label={t('signIn.password')} type="password" autoComplete="current-password" required value={password} onChange={(e) => setPassword(e.target.value)} />
          <Field label={t('signIn.totp')} inputMode="numeric" autoComplete="one-time-code" pattern="[0-9]{6}" maxLength={6} required value={totpCode}
            onChange={(e) => setTotpCode(e.target.value.replace(/\D/g, ''))} hint={t('signIn.totpHint')} />
          <Button type="submit" variant="secondary" disabled={busy}>{t('signIn.submit')}</Button>
        </form>
      </Card>
    </div>
  );
}
