/**
 * Sign-up: phone + e-mail + password, then one code for each contact. The second verified code creates
 * the account and signs in on this device; the customer is offered a passkey (/welcome/passkey, optional)
 * and then sets a charge PIN (/settings/pin?welcome=1), both without another code (the setup window).
 * The server answers the same whether or not a contact is already registered (AUTH-06), so this screen
 * never says "already registered"; a registered contact simply receives a notice instead of a code.
 */
import { useState, type FormEvent } from 'react';
import { browserSupportsWebAuthn } from '@simplewebauthn/browser';
import { api, setCsrfToken } from '../../shared/api.ts';
import { useI18n } from '../../shared/i18n.tsx';
import { Link, useRouter } from '../../shared/router.tsx';
import { Button, Card, Field, Notice } from '../../shared/ui.tsx';
import { CodeForm } from '../common/step-up.tsx';
import { useSession } from '../session.tsx';
import { Page } from './page.tsx';
import { problemCode, problemText } from './problems.ts';
import { PIN_AFTER_SIGN_UP } from './welcome-passkey.tsx';

type Channel = 'email' | 'phone';
interface Started { signupId: string; email: string; phone: string }

export function SignUpPage() {
  const { t } = useI18n();
  const [started, setStarted] = useState<Started | null>(null);
  return (
    <Page title={t('signUp.title')} step={started === null ? 'details' : 'verify'}>
      {started === null ? <SignUpForm onStarted={setStarted} /> : <VerifyContacts started={started} />}
      <p><Link to="/sign-in">{t('signUp.haveAccount')}</Link></p>
    </Page>
  );
}

function SignUpForm(props: { onStarted(started: Started): void }) {
  const { t } = useI18n();
  const [email, setEmail] = useState('');
  const [phone, setPhone] = useState('');
  const [password, setPassword] = useState('');
  const [errors, setErrors] = useState<Record<string, string>>({});
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setErrors({});
    try {
      const { signupId } = await api<{ signupId: string }>('POST', '/v1/customer/signup', { email, phone, password });
      props.onStarted({ signupId, email, phone });
    } catch (failure) {
      setErrors(fieldErrors(problemCode(failure), problemText(t, failure)));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Card>
      <form onSubmit={submit} noValidate>
        <Field label={t('signUp.email')} type="email" autoComplete="email" value={email} onChange={(e) => setEmail(e.target.value)} error={errors.email} required />
        <Field label={t('signUp.phone')} type="tel" autoComplete="tel" inputMode="tel" value={phone} onChange={(e) => setPhone(e.target.value)} hint={t('signUp.phoneHint')} error={errors.phone} required />
        <Field label={t('signUp.password')} type="password" autoComplete="new-password" value={password} onChange={(e) => setPassword(e.target.value)} hint={t('password.rules')} error={errors.password} required />
        {errors.form ? <Notice kind="error">{errors.form}</Notice> : null}
        <Button type="submit" disabled={busy}>{t('signUp.submit')}</Button>
      </form>
    </Card>
  );
}

/** The server's problem code decides which field the message belongs to. */
function fieldErrors(code: string | null, text: string): Record<string, string> {
  if (code === 'invalid_email') return { email: text };
  if (code === 'invalid_phone') return { phone: text };
  if (code === 'password_too_short' || code === 'password_too_long' || code === 'password_blocklisted') return { password: text };
  return { form: text };
}

function VerifyContacts(props: { started: Started }) {
  const { t } = useI18n();
  const { refresh } = useSession();
  const { navigate } = useRouter();
  const [verified, setVerified] = useState<Record<Channel, boolean>>({ email: false, phone: false });
  const [error, setError] = useState<string | null>(null);
  const [info, setInfo] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function verify(channel: Channel, code: string) {
    setBusy(true);
    setError(null);
    setInfo(null);
    try {
      const answer = await api<{ status: 'pending' | 'signed_in'; csrfToken?: string }>('POST', '/v1/customer/signup/verify', { signupId: props.started.signupId, channel, code });
      setVerified((current) => ({ ...current, [channel]: true }));
      if (answer.status === 'signed_in') {
        if (answer.csrfToken !== undefined) setCsrfToken(answer.csrfToken);
        // A passkey is offered first where the browser can make one (welcome-passkey.tsx), then the PIN.
        navigate(browserSupportsWebAuthn() ? '/welcome/passkey' : PIN_AFTER_SIGN_UP, { replace: true });
        await refresh();
      }
    } catch (failure) {
      setError(problemText(t, failure));
    } finally {
      setBusy(false);
    }
  }

  async function resend(channel: Channel) {
    setError(null);
    try {
      await api('POST', '/v1/customer/signup/resend', { signupId: props.started.signupId, channel });
      setInfo(t('signUp.resent'));
    } catch (failure) {
      setError(problemText(t, failure));
    }
  }

  const channels: Array<{ channel: Channel; to: string }> = [{ channel: 'email', to: props.started.email }, { channel: 'phone', to: props.started.phone }];
  return (
    <>
      <Notice kind="info">{t('signUp.codesSent')}</Notice>
      {channels.map(({ channel, to }) => (
        <Card key={channel} title={t(`signUp.verify.${channel}`)}>
          <p className="secret-text">{to}</p>
          {verified[channel]
            ? <Notice kind="success">{t('signUp.verified')}</Notice>
            : (
              <>
                <CodeForm label={t(`signUp.code.${channel}`)} busy={busy} onSubmit={(code) => verify(channel, code)} />
                <button type="button" className="link-button" onClick={() => void resend(channel)}>{t('signUp.resend')}</button>
              </>
            )}
        </Card>
      ))}
      {info ? <Notice kind="success">{info}</Notice> : null}
      {error ? <Notice kind="error">{error}</Notice> : null}
    </>
  );
}
