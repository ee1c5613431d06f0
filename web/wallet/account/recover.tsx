/**
 * "Forgot password": the customer names the account (e-mail or phone) and nothing else. Koban sends
 * the codes only to the phone and e-mail already verified on that account (7pay sent reset links to
 * whatever address was typed; there is deliberately no destination field here). Completing needs two
 * proofs (SMS + e-mail code, or one of them + a recovery code) and a new password; afterwards every
 * session is signed out and high-risk actions pause for a cool-down.
 */
import { useState, type FormEvent } from 'react';
import { api } from '../../shared/api.ts';
import { useI18n } from '../../shared/i18n.tsx';
import { Link } from '../../shared/router.tsx';
import { Button, Card, Field, Notice } from '../../shared/ui.tsx';
import { Page } from './page.tsx';
import { problemCode, problemText } from './problems.ts';

export function RecoverPage() {
  const { t } = useI18n();
  const [recoveryId, setRecoveryId] = useState<string | null>(null);
  const [done, setDone] = useState(false);
  return (
    <Page title={t('recover.title')} back="/sign-in">
      {done ? <Recovered /> : recoveryId === null ? <RequestCodes onStarted={setRecoveryId} /> : <CompleteRecovery recoveryId={recoveryId} onDone={() => setDone(true)} />}
    </Page>
  );
}

function RequestCodes(props: { onStarted(recoveryId: string): void }) {
  const { t } = useI18n();
  const [identifier, setIdentifier] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const { recoveryId } = await api<{ recoveryId: string }>('POST', '/v1/customer/recovery', { identifier });
      props.onStarted(recoveryId);
    } catch (failure) {
      setError(problemText(t, failure));
    } finally {
      setBusy(false);
    }
  }
  return (
    <Card>
      <p>{t('recover.intro')}</p>
      <form onSubmit={submit}>
        <Field label={t('signIn.identifier')} autoComplete="username" value={identifier} onChange={(e) => setIdentifier(e.target.value)} hint={t('recover.identifierHint')} required />
        {error ? <Notice kind="error">{error}</Notice> : null}
        <Button type="submit" disabled={busy}>{t('recover.send')}</Button>
      </form>
    </Card>
  );
}

function CompleteRecovery(props: { recoveryId: string; onDone(): void }) {
  const { t } = useI18n();
  const [smsCode, setSmsCode] = useState('');
  const [emailCode, setEmailCode] = useState('');
  const [recoveryCode, setRecoveryCode] = useState('');
  const [newPassword, setNewPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [passwordError, setPasswordError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const filled = [smsCode, emailCode, recoveryCode].filter((v) => v.trim() !== '').length;

  async function submit(event: FormEvent) {
    event.preventDefault();
    setError(null);
    setPasswordError(null);
    if (filled < 2) {
      setError(t('recover.twoProofs'));
      return;
    }
    setBusy(true);
    const optional = (value: string) => (value.trim() === '' ? undefined : value.trim());
    try {
      await api('POST', '/v1/customer/recovery/complete', { recoveryId: props.recoveryId, smsCode: optional(smsCode), emailCode: optional(emailCode), recoveryCode: optional(recoveryCode), newPassword });
      props.onDone();
    } catch (failure) {
      const code = problemCode(failure);
      if (code?.startsWith('password_')) setPasswordError(problemText(t, failure)); else setError(problemText(t, failure));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Card>
      <Notice kind="info">{t('recover.sent')}</Notice>
      <form onSubmit={submit}>
        <Field label={t('recover.smsCode')} inputMode="numeric" autoComplete="one-time-code" value={smsCode} onChange={(e) => setSmsCode(e.target.value)} />
        <Field label={t('recover.emailCode')} inputMode="numeric" autoComplete="off" value={emailCode} onChange={(e) => setEmailCode(e.target.value)} />
        <Field label={t('recover.recoveryCode')} autoComplete="off" value={recoveryCode} onChange={(e) => setRecoveryCode(e.target.value)} hint={t('recover.recoveryCodeHint')} />
        <Field label={t('recover.newPassword')} type="password" autoComplete="new-password" value={newPassword} onChange={(e) => setNewPassword(e.target.value)} hint={t('password.rules')} error={passwordError} required />
        {error ? <Notice kind="error">{error}</Notice> : null}
        <Button type="submit" disabled={busy}>{t('recover.submit')}</Button>
      </form>
    </Card>
  );
}

function Recovered() {
  const { t } = useI18n();
  return (
    <>
      <Notice kind="success">{t('recover.done')}</Notice>
      <Card>
        <p>{t('recover.cooldown')}</p>
        <Link to="/sign-in" className="button primary">{t('welcome.signIn')}</Link>
      </Card>
    </>
  );
}
