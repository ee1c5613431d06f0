/**
 * Sign-in: identifier + password, then the second factor the server asks for on a device it does not
 * remember (SMS code to the verified phone, authenticator app, passkey, recovery code); or a
 * discoverable passkey alone; or a linked social account (Koban's callback lands back here with the
 * outcome in the URL fragment). Wrong identifier and wrong password read the same, and throttling is
 * described without saying whether the account exists.
 *
 * On a new device Koban answers a mistyped password exactly like a right one (a decoy challenge, so
 * credential stuffing learns nothing), and offers every method whatever the account has set up. So this
 * screen cannot say "wrong password": a failed code says the password *or* the code was wrong, and the SMS
 * notice says that a code that never comes may mean the password was wrong.
 */
import { useEffect, useState, type FormEvent } from 'react';
import { startAuthentication, type PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/browser';
import { api, setCsrfToken } from '../../shared/api.ts';
import { useI18n } from '../../shared/i18n.tsx';
import { Link } from '../../shared/router.tsx';
import { Button, Card, Field, Notice } from '../../shared/ui.tsx';
import { CodeForm } from '../common/step-up.tsx';
import { useSession } from '../session.tsx';
import { Page, takeFragment, useLoad } from './page.tsx';
import { problemCode, problemText, webauthnText } from './problems.ts';

type Method = 'passkey' | 'totp' | 'sms' | 'recovery_code';
const METHOD_ORDER: readonly Method[] = ['passkey', 'totp', 'sms', 'recovery_code'];
interface Challenge { challengeId: string; methods: Method[] }
type LoginAnswer = { status: 'signed_in'; csrfToken: string } | { status: 'second_factor_required'; challengeId: string; methods: string[] };

function toChallenge(challengeId: string, methods: readonly string[]): Challenge {
  return { challengeId, methods: METHOD_ORDER.filter((m) => methods.includes(m)) };
}

export function SignInPage() {
  const { t } = useI18n();
  const { refresh } = useSession();
  const [challenge, setChallenge] = useState<Challenge | null>(null);
  const [error, setError] = useState<string | null>(null);

  // Back from a social provider: Koban's callback put the outcome in the fragment.
  useEffect(() => {
    const fragment = takeFragment();
    const challengeId = fragment.get('challenge');
    if (challengeId !== null) setChallenge(toChallenge(challengeId, (fragment.get('methods') ?? '').split(',')));
    const code = fragment.get('error');
    if (code !== null) setError(t(`problem.${code}`) === `problem.${code}` ? t('problem.social_login_failed') : t(`problem.${code}`));
  }, []);

  async function signedIn(csrfToken: string) {
    setCsrfToken(csrfToken);
    await refresh();
  }

  function answered(answer: LoginAnswer) {
    if (answer.status === 'signed_in') return signedIn(answer.csrfToken);
    setChallenge(toChallenge(answer.challengeId, answer.methods));
  }

  if (challenge !== null) {
    return (
      <Page title={t('secondFactor.title')}>
        <SecondFactor challenge={challenge} onSignedIn={signedIn} onRestart={() => setChallenge(null)} />
      </Page>
    );
  }
  return (
    <Page title={t('signIn.title')}>
      {error ? <Notice kind="error">{error}</Notice> : null}
      <PasswordForm onAnswer={answered} />
      <div className="divider">{t('signIn.or')}</div>
      <PasskeySignIn onSignedIn={signedIn} />
      <SocialSignIn />
      <p><Link to="/recover">{t('signIn.forgot')}</Link></p>
      <p><Link to="/sign-up">{t('signIn.noAccount')}</Link></p>
    </Page>
  );
}

function PasswordForm(props: { onAnswer(answer: LoginAnswer): Promise<void> | void }) {
  const { t } = useI18n();
  const [identifier, setIdentifier] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function submit(event: FormEvent) {
    event.preventDefault();
    setBusy(true);
    setError(null);
    try {
      await props.onAnswer(await api<LoginAnswer>('POST', '/v1/customer/login', { identifier, password }));
    } catch (failure) {
      setError(problemText(t, failure));
    } finally {
      setBusy(false);
    }
  }

  return (
    <Card>
      <form onSubmit={submit}>
        <Field label={t('signIn.identifier')} autoComplete="username" value={identifier} onChange={(e) => setIdentifier(e.target.value)} hint={t('signIn.identifierHint')} required />
        <Field label={t('signIn.password')} type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} required />
        {error ? <Notice kind="error">{error}</Notice> : null}
        <Button type="submit" disabled={busy}>{t('signIn.submit')}</Button>
      </form>
    </Card>
  );
}

function PasskeySignIn(props: { onSignedIn(csrfToken: string): Promise<void> }) {
  const { t } = useI18n();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  async function signIn() {
    setBusy(true);
    setError(null);
    try {
      const options = await api<{ challengeId: string; options: PublicKeyCredentialRequestOptionsJSON }>('POST', '/v1/customer/passkeys/login/options', {});
      const credential = await startAuthentication({ optionsJSON: options.options });
      const answer = await api<{ csrfToken: string }>('POST', '/v1/customer/passkeys/login', { webauthnChallengeId: options.challengeId, credential });
      await props.onSignedIn(answer.csrfToken);
    } catch (failure) {
      setError(webauthnText(t, failure));
    } finally {
      setBusy(false);
    }
  }
  return (
    <>
      <Button variant="secondary" onClick={() => void signIn()} disabled={busy}>{t('signIn.passkey')}</Button>
      {error ? <Notice kind="error">{error}</Notice> : null}
    </>
  );
}

/** One link per enabled provider; a full navigation, since the provider's page is another site. */
function SocialSignIn() {
  const { t } = useI18n();
  const providers = useLoad<{ providers: Array<{ id: string; enabled: boolean }> }>('/v1/customer/social/providers');
  const enabled = providers.data?.providers.filter((p) => p.enabled) ?? [];
  if (enabled.length === 0) return null;
  return (
    <>
      {enabled.map((provider) => (
        <a key={provider.id} className="button secondary" href={`/v1/customer/social/${encodeURIComponent(provider.id)}/start`}>
          {t('signIn.social', { provider: providerName(t, provider.id) })}
        </a>
      ))}
      <p className="hint">{t('signIn.socialHint')}</p>
    </>
  );
}

export function providerName(t: (key: string) => string, id: string): string {
  const key = `social.provider.${id}`;
  const name = t(key);
  return name === key ? id : name;
}

function SecondFactor(props: { challenge: Challenge; onSignedIn(csrfToken: string): Promise<void>; onRestart(): void }) {
  const { t } = useI18n();
  const { challengeId, methods } = props.challenge;
  const [method, setMethod] = useState<Method | null>(methods.includes('sms') ? 'sms' : methods[0] ?? null);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);

  async function complete(body: Record<string, unknown>) {
    setBusy(true);
    setError(null);
    try {
      const answer = await api<{ csrfToken: string }>('POST', '/v1/customer/login/second-factor', { challengeId, ...body });
      await props.onSignedIn(answer.csrfToken);
    } catch (failure) {
      setError(secondStepText(t, failure));
    } finally {
      setBusy(false);
    }
  }

  async function usePasskey() {
    setBusy(true);
    setError(null);
    try {
      const options = await api<{ challengeId: string; options: PublicKeyCredentialRequestOptionsJSON }>('POST', '/v1/customer/login/second-factor/passkey-options', { challengeId });
      const credential = await startAuthentication({ optionsJSON: options.options });
      setBusy(false);
      await complete({ method: 'passkey', webauthnChallengeId: options.challengeId, credential });
    } catch (failure) {
      setError(webauthnText(t, failure));
    } finally {
      setBusy(false);
    }
  }

  return (
    <>
      <Notice kind="info">{t('secondFactor.why')} {t('secondFactor.methodsHint')}</Notice>
      {methods.length > 1 ? (
        <div className="row" role="group" aria-label={t('stepUp.chooseMethod')}>
          {methods.map((m) => (
            <Button key={m} variant={m === method ? 'primary' : 'secondary'} aria-pressed={m === method} onClick={() => { setMethod(m); setError(null); }}>{t(`secondFactor.method.${m}`)}</Button>
          ))}
        </div>
      ) : null}
      <Card>
        {method === 'sms' ? <SmsCode challengeId={challengeId} busy={busy} onCode={(code) => complete({ method: 'sms', code })} onError={setError} /> : null}
        {method === 'totp' ? <CodeForm key="totp" label={t('stepUp.totpLabel')} busy={busy} onSubmit={(code) => complete({ method: 'totp', code })} /> : null}
        {method === 'recovery_code' ? <CodeForm key="recovery" label={t('secondFactor.recoveryLabel')} autoComplete="off" busy={busy} onSubmit={(code) => complete({ method: 'recovery_code', code })} /> : null}
        {method === 'passkey' ? <Button onClick={() => void usePasskey()} disabled={busy}>{t('stepUp.usePasskey')}</Button> : null}
      </Card>
      {error ? <Notice kind="error">{error}</Notice> : null}
      <button type="button" className="link-button" onClick={props.onRestart}>{t('secondFactor.restart')}</button>
    </>
  );
}

function SmsCode(props: { challengeId: string; busy: boolean; onCode(code: string): Promise<void>; onError(message: string | null): void }) {
  const { t } = useI18n();
  const [sent, setSent] = useState(false);
  async function send() {
    props.onError(null);
    try {
      await api('POST', '/v1/customer/login/second-factor/sms', { challengeId: props.challengeId });
      setSent(true);
    } catch (failure) {
      props.onError(problemText(t, failure));
    }
  }
  return (
    <div className="step-up-panel">
      <p>{sent ? t('secondFactor.smsSent') : t('stepUp.smsHint')}</p>
      <Button variant={sent ? 'secondary' : 'primary'} onClick={() => void send()}>{sent ? t('stepUp.smsResend') : t('stepUp.smsSend')}</Button>
      {sent ? <CodeForm label={t('stepUp.smsLabel')} busy={props.busy} onSubmit={props.onCode} /> : null}
    </div>
  );
}

/** A failed second step cannot tell a wrong code from a wrong password (decoy challenges): it names both. */
function secondStepText(t: (key: string) => string, failure: unknown): string {
  const code = problemCode(failure);
  if (code === 'second_factor_failed') return t('secondFactor.failed');
  if (code === 'login_challenge_invalid') return t('secondFactor.expired');
  return problemText(t, failure);
}
