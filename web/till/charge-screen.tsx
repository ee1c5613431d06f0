/**
 * One sale: key the amount, then either read the customer's code (barcode scanner, camera or typed) and
 * charge it, or show a dynamic QR the customer pays from their wallet. The result is shown big and at
 * once: the amount on success, the reason in the till's language on failure. A retry after a network
 * failure reuses the sale's merchantPaymentId, so the server answers what really happened.
 */
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { ApiError } from '../shared/api.ts';
import { formatYen, useI18n } from '../shared/i18n.tsx';
import { Button, Card, Field, Notice } from '../shared/ui.tsx';
import { CameraReader } from './camera-reader.tsx';
import { Keypad } from './keypad.tsx';
import { ReceiptQr } from './receipt-qr.tsx';
import { QrOrder } from './qr-order.tsx';
import { useScannerInput } from './scanner.ts';
import { newMerchantPaymentId, reasonKey, tillApi } from './till-api.ts';

export const PAYMENT_CODE = /^9[0-9]{19}$/;

type Step =
  | { kind: 'amount' }
  | { kind: 'read' }
  | { kind: 'charging' }
  | { kind: 'waiting'; code: string }
  | { kind: 'qr' }
  | { kind: 'paid'; amount: string; receipt?: { url: string; number: string } }
  | { kind: 'failed'; messageKey: string; code: string; retryable: boolean; lastCode: string | null };

export function ChargeScreen(props: { onSessionEnded(): void }) {
  const [amount, setAmount] = useState('');
  const [step, setStep] = useState<Step>({ kind: 'amount' });
  const [merchantPaymentId, setMerchantPaymentId] = useState(newMerchantPaymentId);
  const { t } = useI18n();

  const startOver = () => {
    setAmount('');
    setMerchantPaymentId(newMerchantPaymentId());
    setStep({ kind: 'amount' });
  };

  const charge = useCallback(async (code: string, again = false) => {
    if (!again) setStep({ kind: 'charging' });
    try {
      const payment = await tillApi.charge(merchantPaymentId, code, amount);
      // The customer confirms on their phone first: the same charge, sent again, answers the wait and then the outcome.
      if (payment.waitingForCustomer) return setStep({ kind: 'waiting', code });
      setStep({ kind: 'paid', amount: payment.amount, ...(payment.receiptUrl === null ? {} : { receipt: { url: payment.receiptUrl, number: payment.receiptNumber } }) });
    } catch (error) {
      if (error instanceof ApiError && error.problem.status === 401) return props.onSessionEnded();
      const { key, code: problemCode } = reasonKey(error, (k) => t(k) !== k);
      // Only a lost answer is retried with the same sale id; a refusal needs a new code (and so a new id).
      const retryable = !(error instanceof ApiError);
      if (!retryable) setMerchantPaymentId(newMerchantPaymentId());
      setStep({ kind: 'failed', messageKey: key, code: problemCode, retryable, lastCode: code });
    }
  }, [amount, merchantPaymentId, props, t]);

  if (step.kind === 'amount') return <Keypad amount={amount} onChange={setAmount} onCharge={() => setStep({ kind: 'read' })} onQr={() => setStep({ kind: 'qr' })} />;
  if (step.kind === 'read') return <ReadCode amount={amount} onCode={(code) => void charge(code)} onBack={() => setStep({ kind: 'amount' })} />;
  if (step.kind === 'charging') return <Card><p className="till-progress" role="status">{t('pay.charging')}</p></Card>;
  if (step.kind === 'waiting') return <WaitingForCustomer amount={amount} onPoll={() => void charge(step.code, true)} />;
  if (step.kind === 'qr') {
    return <QrOrder amount={amount} merchantPaymentId={merchantPaymentId} onPaid={(paid) => setStep({ kind: 'paid', amount: paid })} onCancel={startOver} onSessionEnded={props.onSessionEnded} />;
  }
  if (step.kind === 'paid') return <PaidResult amount={step.amount} receipt={step.receipt} onNext={startOver} />;
  return (
    <Card title={t('result.failed')}>
      <div className="till-result failure" role="alert">
        <p className="till-result-mark" aria-hidden="true">✕</p>
        <p className="till-result-heading">{t('result.failed')}</p>
        <p className="till-result-reason">{t(step.messageKey, { code: step.code })}</p>
      </div>
      <div className="row till-actions">
        {step.retryable && step.lastCode !== null
          ? <Button onClick={() => void charge(step.lastCode ?? '')}>{t('result.retry')}</Button>
          : <Button onClick={() => setStep({ kind: 'read' })}>{t('result.retry')}</Button>}
        <Button variant="secondary" onClick={startOver}>{t('result.next')}</Button>
      </div>
    </Card>
  );
}

export function PaidResult(props: { amount: string; receipt?: { url: string; number: string } | undefined; onNext(): void }) {
  const { t, language } = useI18n();
  return (
    <Card title={t('result.success')}>
      <div className="till-result success" role="status">
        <p className="till-result-mark" aria-hidden="true">✓</p>
        <p className="till-result-heading">{t('result.success')}</p>
        <p className="till-result-amount">{formatYen(props.amount, language)}</p>
      </div>
      {props.receipt === undefined ? null : <ReceiptQr url={props.receipt.url} receiptNumber={props.receipt.number} />}
      <div className="row till-actions">
        <Button autoFocus onClick={props.onNext}>{t('result.next')}</Button>
      </div>
    </Card>
  );
}

/** The customer is confirming on their phone: say so, and ask again every few seconds with the same sale. */
function WaitingForCustomer(props: { amount: string; onPoll(): void }) {
  const { t, language } = useI18n();
  const { onPoll } = props;
  useEffect(() => {
    const timer = window.setInterval(onPoll, WAITING_POLL_MS);
    return () => window.clearInterval(timer);
  }, [onPoll]);
  return (
    <Card title={t('pay.waitingTitle')}>
      <div className="till-result" role="status" data-testid="till-waiting">
        <p className="till-result-heading">{t('pay.waitingTitle')}</p>
        <p className="till-result-amount">{formatYen(props.amount, language)}</p>
        <p className="till-result-reason">{t('pay.waitingBody')}</p>
      </div>
    </Card>
  );
}

const WAITING_POLL_MS = 2_000;

/** Waits for the code: a scanner anywhere on the page, the camera, or the staff typing it. */
function ReadCode(props: { amount: string; onCode(code: string): void; onBack(): void }) {
  const { t, language } = useI18n();
  const [typed, setTyped] = useState('');
  const [camera, setCamera] = useState(false);
  const { onCode } = props;
  useScannerInput(useCallback((scanned: string) => { if (PAYMENT_CODE.test(scanned)) onCode(scanned); }, [onCode]));
  const submitTyped = (event: FormEvent) => {
    event.preventDefault();
    const digits = typed.replace(/\D/g, '');
    if (PAYMENT_CODE.test(digits)) onCode(digits);
  };
  return (
    <Card title={t('pay.title')}>
      <p className="till-due">{t('pay.amount', { amount: formatYen(props.amount, language) })}</p>
      <Notice kind="info">{t('pay.scanner')}</Notice>
      {camera
        ? <CameraReader onCode={(text) => { if (PAYMENT_CODE.test(text)) onCode(text); }} onStop={() => setCamera(false)} />
        : <div className="row till-actions"><Button variant="secondary" onClick={() => setCamera(true)}>{t('pay.camera')}</Button></div>}
      <form onSubmit={submitTyped} className="till-typed">
        <Field label={t('pay.typed')} inputMode="numeric" autoComplete="off" value={typed} maxLength={24}
          onChange={(event) => setTyped(event.target.value)} data-scanner-ignore="true" />
        <Button type="submit" disabled={!PAYMENT_CODE.test(typed.replace(/\D/g, ''))}>{t('pay.typedSubmit')}</Button>
      </form>
      <div className="row till-actions">
        <Button variant="secondary" onClick={props.onBack}>{t('pay.back')}</Button>
      </div>
    </Card>
  );
}
