/**
 * Payments waiting for this customer (issues 13 and 14): a till charged the customer's code above the
 * confirmation amount, or Koban's risk checks asked the customer to confirm. No money moves until the
 * customer confirms here with the charge PIN (when risk held it, plus a code e-mailed to them: malware on the phone
 * has the PIN) or a passkey (a step-up bound to the payment and its amount, the one confirmation a thief with the
 * session, the PIN and the SIM cannot give), or declines; the till
 * shows "waiting for the customer" meanwhile. Shown on the pay screen the moment the till takes the code, and as a banner on the home screen.
 */
import { useEffect, useState, type FormEvent } from 'react';
import { api } from '../../shared/api.ts';
import { formatYen, useI18n } from '../../shared/i18n.tsx';
import { Button, Field, Notice } from '../../shared/ui.tsx';
import { problemText } from '../account/problems.ts';
import { stepUpHeaders, useStepUp } from '../common/step-up.tsx';
import type { PaidView } from './paid-screen.tsx';
import { usePaysWithPasskey } from '../common/pays-with-passkey.ts';

export interface WaitingConfirmation { paymentId: string; amount: string; merchantName: string; storeName: string | null; strength: 'pin' | 'strong'; expiresAt: string }
export interface ConfirmedPayment extends PaidView { status: string }

const POLL_MS = 3_000;

export async function waitingConfirmations(): Promise<WaitingConfirmation[]> {
  return (await api<{ confirmations: WaitingConfirmation[] }>('GET', '/v1/wallet/confirmations')).confirmations;
}

/** One payment to confirm or decline: amount and store big, the PIN, two buttons. */
export function ConfirmPaymentCard(props: { confirmation: WaitingConfirmation; onDone(payment: ConfirmedPayment): void }) {
  const { t, language } = useI18n();
  const { confirmation } = props;
  const [pin, setPin] = useState('');
  const [emailCode, setEmailCode] = useState('');
  const [sentTo, setSentTo] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const requestStepUp = useStepUp();
  // A customer who pays with a passkey releases with it alone: the PIN is what malware could have watched.
  const paysWithPasskey = usePaysWithPasskey();
  const where = confirmation.storeName === null ? confirmation.merchantName : `${confirmation.merchantName} ${confirmation.storeName}`;
  // Risk held it (strong): without a passkey, the PIN plus a code e-mailed to the customer — malware on the phone has the PIN.
  const needsEmailCode = confirmation.strength === 'strong';
  const sendEmailCode = async () => {
    setBusy(true);
    setError(null);
    try {
      const sent = await api<{ sentTo: string }>('POST', `/v1/wallet/confirmations/${encodeURIComponent(confirmation.paymentId)}/email-code`, {});
      setSentTo(sent.sentTo);
    } catch (failure) {
      setError(problemText(t, failure));
    }
    setBusy(false);
  };
  const ready = /^[0-9]{6}$/.test(pin) && (!needsEmailCode || /^[0-9]{6}$/.test(emailCode));
  const act = async (path: 'confirm' | 'decline', grant: string | null = null) => {
    setBusy(true);
    setError(null);
    try {
      const body = path !== 'confirm' || grant !== null ? {} : needsEmailCode ? { pin, emailCode } : { pin };
      const payment = await api<ConfirmedPayment>('POST', `/v1/wallet/confirmations/${encodeURIComponent(confirmation.paymentId)}/${path}`, body, grant === null ? {} : { headers: stepUpHeaders(grant) });
      props.onDone({ ...payment, merchantName: confirmation.merchantName, storeName: confirmation.storeName });
    } catch (failure) {
      setError(problemText(t, failure));
      setBusy(false);
    }
  };
  // The passkey's step-up is bound to this payment and its exact amount: a grant for another one releases nothing.
  const confirmWithPasskey = async () => {
    setError(null);
    const grant = await requestStepUp({ action: 'confirm_payment', params: { paymentId: confirmation.paymentId, amountMinor: confirmation.amount },
      summary: `${formatYen(confirmation.amount, language)} · ${where}` });
    if (grant !== null) await act('confirm', grant);
  };
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (ready) void act('confirm');
  };
  return (
    <section className="card confirm-payment" aria-labelledby={`confirm-${confirmation.paymentId}`} data-testid="confirm-payment">
      <h2 id={`confirm-${confirmation.paymentId}`}>{t('money.confirm.title')}</h2>
      <p className="confirm-amount">{formatYen(confirmation.amount, language)}</p>
      <p>{t('money.confirm.where', { where })}</p>
      <p>{t(confirmation.strength === 'strong' ? 'money.confirm.whyRisk' : 'money.confirm.whyAmount')}</p>
      {error === null ? null : <Notice kind="error">{error}</Notice>}
      {paysWithPasskey === true ? (
        <div className="row">
          <Button disabled={busy} onClick={() => void confirmWithPasskey()}>{t('money.confirm.passkey')}</Button>
          <Button variant="danger" disabled={busy} onClick={() => void act('decline')}>{t('money.confirm.decline')}</Button>
        </div>
      ) : (
        <form onSubmit={submit}>
          <Field label={t('money.confirm.pin')} type="password" inputMode="numeric" autoComplete="off" maxLength={6} value={pin} onChange={(event) => setPin(event.target.value.replace(/\D/g, ''))} />
          {needsEmailCode ? (
            <>
              {sentTo === null ? null : <p role="status">{t('money.confirm.emailCodeSent', { to: sentTo })}</p>}
              <Button variant="secondary" disabled={busy} onClick={() => void sendEmailCode()}>{t(sentTo === null ? 'money.confirm.sendEmailCode' : 'money.confirm.resendEmailCode')}</Button>
              {sentTo === null ? null : <Field label={t('money.confirm.emailCode')} inputMode="numeric" autoComplete="one-time-code" maxLength={6} value={emailCode} onChange={(event) => setEmailCode(event.target.value.replace(/\D/g, ''))} />}
            </>
          ) : null}
          <div className="row">
            <Button type="submit" disabled={busy || !ready}>{t('money.confirm.confirm')}</Button>
            <Button variant="danger" disabled={busy} onClick={() => void act('decline')}>{t('money.confirm.decline')}</Button>
          </div>
          <Button variant="secondary" disabled={busy} onClick={() => void confirmWithPasskey()}>{t('money.confirm.passkey')}</Button>
        </form>
      )}
    </section>
  );
}

/** The home screen's banner: every payment waiting for this customer, refreshed every few seconds. */
export function WaitingConfirmationsBanner(props: { onSettled(): void }) {
  const { t } = useI18n();
  const [waiting, setWaiting] = useState<WaitingConfirmation[]>([]);
  const [done, setDone] = useState<string | null>(null);
  const [round, setRound] = useState(0);
  useEffect(() => {
    let live = true;
    const read = () => waitingConfirmations().then((list) => { if (live) setWaiting(list); }, () => undefined);
    read();
    const timer = window.setInterval(read, POLL_MS);
    return () => { live = false; window.clearInterval(timer); };
  }, [round]);
  return (
    <>
      {done === null ? null : <Notice kind="success">{done}</Notice>}
      {waiting.map((confirmation) => (
        <ConfirmPaymentCard key={confirmation.paymentId} confirmation={confirmation} onDone={(payment) => {
          setDone(t(payment.status === 'COMPLETED' ? 'money.confirm.paid' : 'money.confirm.declined'));
          setRound((n) => n + 1);
          props.onSettled();
        }} />
      ))}
    </>
  );
}
