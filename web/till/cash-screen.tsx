/**
 * 「現金チャージ」 (issue 19): read the customer's top-up code (scanner, camera or typed: 22 digits starting 81 —
 * a payment code is not accepted here, nor a top-up code on the お会計 screen), see the masked customer and what
 * the code can take, type the cash amount, confirm. When the customer is one of this merchant's staff, a second
 * clerk approves with their e-mail and authenticator code. A retry after a lost answer reuses the same
 * tillTopUpId, so the server answers what really happened and never credits twice.
 */
import { useCallback, useState, type FormEvent } from 'react';
import { api, ApiError } from '../shared/api.ts';
import { formatYen, useI18n } from '../shared/i18n.tsx';
import { Button, Card, Field, Notice } from '../shared/ui.tsx';
import { CameraReader } from './camera-reader.tsx';
import { PaidResult } from './charge-screen.tsx';
import { useScannerInput } from './scanner.ts';
import { reasonKey } from './till-api.ts';

export const TOP_UP_CODE = /^81[0-9]{20}$/;

interface Preview { maskedName: string; minAmount: string; maxAmount: string; secondClerkRequired: boolean }
interface CashTopUp { tillTopUpId: string; receiptNumber: string; status: string; amount: string }

type Step =
  | { kind: 'read' }
  | { kind: 'amount'; code: string; preview: Preview }
  | { kind: 'done'; amount: string }
  | { kind: 'failed'; messageKey: string; code: string };

const newTillTopUpId = () => `cash-${crypto.randomUUID()}`;

export function CashScreen(props: { onSessionEnded(): void }) {
  const { t } = useI18n();
  const [step, setStep] = useState<Step>({ kind: 'read' });
  const fail = (error: unknown) => {
    if (error instanceof ApiError && error.problem.status === 401) return props.onSessionEnded();
    const { key, code } = reasonKey(error, (k) => t(k) !== k);
    setStep({ kind: 'failed', messageKey: key, code });
  };
  const read = useCallback(async (code: string) => {
    try {
      setStep({ kind: 'amount', code, preview: await api<Preview>('POST', '/v1/till/cash-top-ups/preview', { code }) });
    } catch (error) {
      fail(error);
    }
  }, []);
  if (step.kind === 'read') return <ReadTopUpCode onCode={(code) => void read(code)} />;
  if (step.kind === 'amount') return <ConfirmCash code={step.code} preview={step.preview} onDone={(amount) => setStep({ kind: 'done', amount })} onFailed={fail} onBack={() => setStep({ kind: 'read' })} />;
  if (step.kind === 'done') return <PaidResult amount={step.amount} onNext={() => setStep({ kind: 'read' })} />;
  return (
    <Card title={t('cash.failed')}>
      <div className="till-result failure" role="alert">
        <p className="till-result-mark" aria-hidden="true">✕</p>
        <p className="till-result-heading">{t('cash.failed')}</p>
        <p className="till-result-reason">{t(step.messageKey, { code: step.code })}</p>
      </div>
      <div className="row till-actions"><Button onClick={() => setStep({ kind: 'read' })}>{t('result.next')}</Button></div>
    </Card>
  );
}

function ReadTopUpCode(props: { onCode(code: string): void }) {
  const { t } = useI18n();
  const [typed, setTyped] = useState('');
  const [camera, setCamera] = useState(false);
  const { onCode } = props;
  useScannerInput(useCallback((scanned: string) => { if (TOP_UP_CODE.test(scanned)) onCode(scanned); }, [onCode]));
  const digits = typed.replace(/\D/g, '');
  const submit = (event: FormEvent) => {
    event.preventDefault();
    if (TOP_UP_CODE.test(digits)) onCode(digits);
  };
  return (
    <Card title={t('cash.title')}>
      <Notice kind="info">{t('cash.scanner')}</Notice>
      {camera
        ? <CameraReader onCode={(text) => { if (TOP_UP_CODE.test(text)) onCode(text); }} onStop={() => setCamera(false)} />
        : <div className="row till-actions"><Button variant="secondary" onClick={() => setCamera(true)}>{t('pay.camera')}</Button></div>}
      <form onSubmit={submit} className="till-typed">
        <Field label={t('cash.typed')} inputMode="numeric" autoComplete="off" value={typed} maxLength={26} onChange={(event) => setTyped(event.target.value)} data-scanner-ignore="true" />
        {/^9[0-9]{19}$/.test(digits) ? <Notice kind="error">{t('reason.not_a_top_up_code')}</Notice> : null}
        <Button type="submit" disabled={!TOP_UP_CODE.test(digits)}>{t('cash.read')}</Button>
      </form>
    </Card>
  );
}

function ConfirmCash(props: { code: string; preview: Preview; onDone(amount: string): void; onFailed(error: unknown): void; onBack(): void }) {
  const { t, language } = useI18n();
  const [amount, setAmount] = useState('');
  const [clerk, setClerk] = useState({ email: '', totpCode: '' });
  const [tillTopUpId] = useState(newTillTopUpId);
  const [busy, setBusy] = useState(false);
  const { preview } = props;
  const inRange = /^[1-9][0-9]{0,8}$/.test(amount) && BigInt(amount) >= BigInt(preview.minAmount) && BigInt(amount) <= BigInt(preview.maxAmount);
  const clerkReady = !preview.secondClerkRequired || (clerk.email.includes('@') && /^[0-9]{6}$/.test(clerk.totpCode));
  const confirm = async (event: FormEvent) => {
    event.preventDefault();
    setBusy(true);
    try {
      const body = { tillTopUpId, code: props.code, amount, ...(preview.secondClerkRequired ? { secondClerk: clerk } : {}) };
      const done = await api<CashTopUp>('POST', '/v1/till/cash-top-ups', body);
      props.onDone(done.amount);
    } catch (error) {
      props.onFailed(error);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Card title={t('cash.confirmTitle')}>
      <form onSubmit={(event) => void confirm(event)}>
        <p className="till-due" data-testid="cash-customer">{t('cash.customer', { name: preview.maskedName })}</p>
        <p>{t('cash.range', { min: formatYen(preview.minAmount, language), max: formatYen(preview.maxAmount, language) })}</p>
        <Field label={t('cash.amount')} inputMode="numeric" autoComplete="off" value={amount} onChange={(event) => setAmount(event.target.value.replace(/[^0-9]/g, ''))} data-scanner-ignore="true" required />
        {amount === '' ? null : <p className="till-result-amount">{formatYen(amount, language)}</p>}
        {preview.secondClerkRequired ? (
          <fieldset>
            <legend>{t('cash.secondClerk')}</legend>
            <Notice kind="info">{t('cash.secondClerkWhy')}</Notice>
            <Field label={t('cash.clerkEmail')} type="email" autoComplete="off" value={clerk.email} onChange={(event) => setClerk({ ...clerk, email: event.target.value })} data-scanner-ignore="true" />
            <Field label={t('cash.clerkCode')} inputMode="numeric" autoComplete="off" maxLength={6} value={clerk.totpCode} onChange={(event) => setClerk({ ...clerk, totpCode: event.target.value.replace(/[^0-9]/g, '') })} data-scanner-ignore="true" />
          </fieldset>
        ) : null}
        <div className="row till-actions">
          <Button type="submit" disabled={busy || !inRange || !clerkReady}>{inRange ? t('cash.confirm', { amount: formatYen(amount, language) }) : t('cash.confirmEmpty')}</Button>
          <Button variant="secondary" onClick={props.onBack}>{t('pay.back')}</Button>
        </div>
      </form>
    </Card>
  );
}
