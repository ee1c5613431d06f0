/**
 * Step-up for one sensitive action (STEP-01..03): Koban's server refuses a sensitive request unless it
 * carries a single-use grant bound to this session, the action and the exact parameters. This module
 * runs the whole ceremony in an accessible modal dialog and hands back the grant.
 *
 * How to use it (the provider is mounted once in web/wallet/main.tsx):
 *
 *   import { stepUpHeaders, useStepUp } from '../common/step-up.tsx';
 *   const stepUp = useStepUp();
 *   const grant = await stepUp({ action: 'top_up', params: { amount: '1000', fundingSourceId }, summary: '1,000円' });
 *   if (grant === null) return;                          // the customer cancelled: do nothing
 *   await api('POST', '/v1/wallet/top-ups', body, { headers: stepUpHeaders(grant) });
 *
 * - `params` must be exactly the binding fields the route hashes (see the route's summary in /docs):
 *   a grant for other values is refused with `step_up_required`. `summary` (optional) is shown in the
 *   dialog so the customer sees what they confirm ("what you see is what you sign").
 * - The customer proves a fresh factor they have: passkey (WebAuthn), authenticator-app code or an
 *   SMS code to the verified phone. Wrong codes are counted by the server; the dialog offers a restart.
 * - A step-up rotates the session: the new CSRF token is installed here (setCsrfToken), so later
 *   `api()` calls keep working; nothing else needs refreshing.
 * - A grant lives 5 minutes and is spent by the first request that uses it: ask for it right before
 *   the request, and ask again if that request fails after spending it.
 * - Within 10 minutes of a sign-up, on its session and device, the first PIN, card, top-up and passkey
 *   are covered by the sign-up's own codes: the server answers with the grant and no dialog is shown.
 */
import { createContext, useCallback, useContext, useEffect, useRef, useState, type FormEvent, type ReactNode } from 'react';
import { startAuthentication, type PublicKeyCredentialRequestOptionsJSON } from '@simplewebauthn/browser';
import { api, setCsrfToken } from '../../shared/api.ts';
import { useI18n } from '../../shared/i18n.tsx';
import { Button, Field, Notice } from '../../shared/ui.tsx';
import { problemCode, problemText, webauthnText } from '../account/problems.ts';

export type StepUpActionName =
  | 'top_up' | 'add_funding_source' | 'link_social' | 'unlink_social' | 'change_email' | 'change_phone' | 'change_password' | 'change_factors' | 'raise_limits' | 'send' | 'withdraw'
  | 'confirm_payment' | 'pay';

export interface StepUpAction {
  action: StepUpActionName;
  /** The action's binding fields, exactly as the route will receive them. */
  params: Record<string, string | number | boolean>;
  /** A short human description of what is confirmed (an amount, an address); shown in the dialog. */
  summary?: string;
}

export type RequestStepUp = (action: StepUpAction) => Promise<string | null>;

/** The header a sensitive route reads the grant from. */
export function stepUpHeaders(grant: string): Record<string, string> {
  return { 'x-step-up-grant': grant };
}

const StepUpContext = createContext<RequestStepUp | null>(null);

export function useStepUp(): RequestStepUp {
  const request = useContext(StepUpContext);
  if (request === null) throw new Error('useStepUp outside StepUpProvider (web/wallet/main.tsx mounts it)');
  return request;
}

type StartAnswer = { stepUpId: string; methods: string[]; grant?: string };
/** The server's first answer to a request: the ceremony to run, the grant itself, or a refusal. */
type FirstAnswer = { answer: StartAnswer } | { failure: unknown };

// The wallet asks for the sign-up's setup window: right after a sign-up on this device, its first PIN,
// card, top-up and passkey need no further code (the server decides; src/identity/step-up/setup-window.ts).
function startStepUp(action: StepUpAction): Promise<FirstAnswer> {
  return api<StartAnswer>('POST', '/v1/customer/step-up', { action: action.action, params: action.params, useSetupWindow: true })
    .then((answer) => ({ answer }), (failure: unknown) => ({ failure }));
}

interface Pending { action: StepUpAction; first: FirstAnswer; resolve(grant: string | null): void }

export function StepUpProvider(props: { children: ReactNode }) {
  const [pending, setPending] = useState<Pending | null>(null);
  // Started here, once per request, and not in the dialog's effect (which React may run twice): a start
  // can spend a step of the setup window, and its grant must reach the caller.
  const request = useCallback<RequestStepUp>(async (action) => {
    const first = await startStepUp(action);
    if ('answer' in first && first.answer.grant !== undefined) return first.answer.grant;
    return new Promise((resolve) => {
      setPending((current) => {
        // One dialog at a time: a second request while one is open cancels the first.
        current?.resolve(null);
        return { action, first, resolve };
      });
    });
  }, []);
  const finish = useCallback((grant: string | null) => {
    setPending((current) => {
      current?.resolve(grant);
      return null;
    });
  }, []);
  return (
    <StepUpContext.Provider value={request}>
      {props.children}
      {pending === null ? null : <StepUpDialog key={JSON.stringify(pending.action)} action={pending.action} first={pending.first} onDone={finish} />}
    </StepUpContext.Provider>
  );
}

type Method = 'passkey' | 'totp' | 'sms';
const METHOD_ORDER: readonly Method[] = ['passkey', 'totp', 'sms'];

interface Started { stepUpId: string; methods: Method[] }
interface Verified { grant: string; csrfToken: string }

function StepUpDialog(props: { action: StepUpAction; first: FirstAnswer; onDone(grant: string | null): void }) {
  const { t } = useI18n();
  const dialog = useRef<HTMLDialogElement>(null);
  const [started, setStarted] = useState<Started | null>(null);
  const [method, setMethod] = useState<Method | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [dead, setDead] = useState(false);
  const [busy, setBusy] = useState(false);
  const [attempt, setAttempt] = useState(0);

  useEffect(() => {
    const element = dialog.current;
    if (element !== null && !element.open) element.showModal();
    return () => element?.close();
  }, []);

  useEffect(() => {
    let live = true;
    const apply = (first: FirstAnswer) => {
      if (!live) return;
      if ('failure' in first) {
        setError(problemText(t, first.failure));
        setDead(true);
        return;
      }
      if (first.answer.grant !== undefined) return props.onDone(first.answer.grant);
      const methods = METHOD_ORDER.filter((m) => first.answer.methods.includes(m));
      setStarted({ stepUpId: first.answer.stepUpId, methods });
      setMethod(methods[0] ?? null);
    };
    setStarted(null);
    setError(null);
    setDead(false);
    // The first answer came with the request; a restart asks again.
    if (attempt === 0) apply(props.first);
    else void startStepUp(props.action).then(apply);
    return () => { live = false; };
  }, [props.action, attempt]);

  async function verify(body: Record<string, unknown>) {
    if (started === null) return;
    setBusy(true);
    setError(null);
    try {
      const answer = await api<Verified>('POST', `/v1/customer/step-up/${started.stepUpId}/verify`, body);
      setCsrfToken(answer.csrfToken);
      props.onDone(answer.grant);
    } catch (failure) {
      setError(problemCode(failure) === 'step_up_failed' ? t('stepUp.failed') : problemText(t, failure));
    } finally {
      setBusy(false);
    }
  }

  async function usePasskey() {
    if (started === null) return;
    setBusy(true);
    setError(null);
    try {
      const options = await api<{ challengeId: string; options: PublicKeyCredentialRequestOptionsJSON }>('POST', `/v1/customer/step-up/${started.stepUpId}/passkey-options`, {});
      const credential = await startAuthentication({ optionsJSON: options.options });
      setBusy(false);
      await verify({ method: 'passkey', webauthnChallengeId: options.challengeId, credential });
    } catch (failure) {
      setError(problemCode(failure) === 'step_up_failed' ? t('stepUp.failed') : webauthnText(t, failure));
    } finally {
      setBusy(false);
    }
  }

  const titleId = 'step-up-title';
  return (
    <dialog ref={dialog} className="step-up" aria-labelledby={titleId} onCancel={(event) => { event.preventDefault(); props.onDone(null); }}>
      <h2 id={titleId}>{t('stepUp.title')}</h2>
      <p>{t(`stepUp.action.${props.action.action}`)}</p>
      {props.action.summary ? <p className="step-up-summary">{props.action.summary}</p> : null}
      {started === null && !dead ? <p role="status">{t('stepUp.starting')}</p> : null}
      {started !== null && started.methods.length > 1 ? (
        <div className="row" role="group" aria-label={t('stepUp.chooseMethod')}>
          {started.methods.map((m) => (
            <Button key={m} variant={m === method ? 'primary' : 'secondary'} aria-pressed={m === method} onClick={() => { setMethod(m); setError(null); }}>
              {t(`stepUp.method.${m}`)}
            </Button>
          ))}
        </div>
      ) : null}
      {started !== null && method === 'passkey' ? (
        <div className="step-up-panel">
          <p>{t('stepUp.passkeyHint')}</p>
          <Button onClick={() => void usePasskey()} disabled={busy}>{t('stepUp.usePasskey')}</Button>
        </div>
      ) : null}
      {started !== null && method === 'totp' ? <CodeForm key="totp" label={t('stepUp.totpLabel')} busy={busy} onSubmit={(code) => verify({ method: 'totp', code })} /> : null}
      {started !== null && method === 'sms' ? <SmsPanel stepUpId={started.stepUpId} busy={busy} onSubmit={(code) => verify({ method: 'sms', code })} onError={setError} /> : null}
      {error !== null ? <Notice kind="error">{error}</Notice> : null}
      <div className="row step-up-actions">
        {error !== null || dead ? <Button variant="secondary" onClick={() => setAttempt((n) => n + 1)}>{t('stepUp.restart')}</Button> : null}
        <Button variant="ghost" onClick={() => props.onDone(null)}>{t('common.cancel')}</Button>
      </div>
    </dialog>
  );
}

function SmsPanel(props: { stepUpId: string; busy: boolean; onSubmit(code: string): Promise<void>; onError(message: string | null): void }) {
  const { t } = useI18n();
  const [sent, setSent] = useState(false);
  const [sending, setSending] = useState(false);
  async function send() {
    setSending(true);
    props.onError(null);
    try {
      await api('POST', `/v1/customer/step-up/${props.stepUpId}/sms`, {});
      setSent(true);
    } catch (failure) {
      props.onError(problemText(t, failure));
    } finally {
      setSending(false);
    }
  }
  return (
    <div className="step-up-panel">
      <p>{sent ? t('stepUp.smsSent') : t('stepUp.smsHint')}</p>
      <Button variant={sent ? 'secondary' : 'primary'} onClick={() => void send()} disabled={sending}>{sent ? t('stepUp.smsResend') : t('stepUp.smsSend')}</Button>
      {sent ? <CodeForm label={t('stepUp.smsLabel')} busy={props.busy} onSubmit={props.onSubmit} /> : null}
    </div>
  );
}

/** A 6-digit code field with its submit button; used by the step-up and sign-in screens. */
export function CodeForm(props: { label: string; busy: boolean; submitLabel?: string; autoComplete?: string; onSubmit(code: string): Promise<void> }) {
  const { t } = useI18n();
  const [code, setCode] = useState('');
  function submit(event: FormEvent) {
    event.preventDefault();
    void props.onSubmit(code.trim());
  }
  return (
    <form onSubmit={submit} className="code-form">
      <Field label={props.label} value={code} onChange={(event) => setCode(event.target.value)} inputMode="numeric" autoComplete={props.autoComplete ?? 'one-time-code'} maxLength={16} required />
      <Button type="submit" disabled={props.busy || code.trim() === ''}>{props.submitLabel ?? t('common.confirm')}</Button>
    </form>
  );
}
