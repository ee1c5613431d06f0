/**
 * Scan a store's QR (camera, or a pasted code/URL where there is no camera) and pay it:
 * - a static EMVCo store QR: preview (merchant and store), the customer types the amount, confirms, pays;
 * - a dynamic order QR (…/qr/{codeId} or koban://qr/{codeId}): preview (merchant, store, amount), confirm, pay.
 * Merchant, store and amount are always on screen before the confirm button.
 */
import { useState, type FormEvent, type ReactNode } from 'react';
import { api } from '../../shared/api.ts';
import { formatYen, useI18n } from '../../shared/i18n.tsx';
import { Link } from '../../shared/router.tsx';
import { Button, Card, Field, Notice } from '../../shared/ui.tsx';
import { problemCode, problemText } from '../account/problems.ts';
import { CameraScanner } from '../common/camera-scanner.tsx';
import { ConfirmPaymentCard, waitingConfirmations, type WaitingConfirmation } from './confirmations.tsx';
import { FrozenNotice, MoneyPage, newIntentKey, useSummary } from './frame.tsx';
import { stepUpHeaders, useStepUp } from '../common/step-up.tsx';
import { usePaysWithPasskey } from '../common/pays-with-passkey.ts';

export type Scanned =
  | { kind: 'static'; payload: string; merchantName: string; storeName: string | null }
  | { kind: 'dynamic'; codeId: string; merchantName: string; storeName: string | null; amount: string | null; orderDescription: string | null };

export interface Paid { paymentId: string; amount: string; status: string }

const DYNAMIC = /(?:\/qr\/|^koban:\/\/qr\/)([A-Za-z0-9_-]{8,64})(?:[/?#].*)?$/;
const EMVCO = /^000201/;

/** What a scanned or pasted text is: an order QR's code id, a store QR's payload, or nothing Koban knows. */
export function classify(text: string): { kind: 'dynamic'; codeId: string } | { kind: 'static'; payload: string } | null {
  const trimmed = text.trim();
  const dynamic = DYNAMIC.exec(trimmed);
  if (dynamic?.[1] !== undefined) return { kind: 'dynamic', codeId: dynamic[1] };
  if (EMVCO.test(trimmed) && trimmed.length >= 16 && trimmed.length <= 512) return { kind: 'static', payload: trimmed };
  return null;
}

export function ScanPage() {
  const { t } = useI18n();
  const { summary } = useSummary();
  const [scanned, setScanned] = useState<Scanned | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [paste, setPaste] = useState('');
  const [camera, setCamera] = useState(false);
  const [busy, setBusy] = useState(false);

  async function read(text: string) {
    setError(null);
    setCamera(false);
    const found = classify(text);
    if (found === null) { setError(t('money.scan.unknown')); return; }
    setBusy(true);
    try {
      if (found.kind === 'dynamic') {
        const preview = await api<{ merchantName: string; storeName: string | null; amount: string | null; orderDescription: string | null }>('GET', `/v1/wallet/qr/${encodeURIComponent(found.codeId)}`);
        setScanned({ kind: 'dynamic', codeId: found.codeId, ...preview });
      } else {
        const preview = await api<{ merchantName: string; storeName: string | null }>('POST', '/v1/wallet/static-qr/preview', { payload: found.payload });
        setScanned({ kind: 'static', payload: found.payload, ...preview });
      }
    } catch (failure) {
      setError(problemText(t, failure));
    } finally {
      setBusy(false);
    }
  }

  function submitPaste(event: FormEvent) {
    event.preventDefault();
    void read(paste);
  }

  if (summary?.status === 'frozen') return <MoneyPage title={t('money.scan.title')} back="/"><FrozenNotice /></MoneyPage>;
  return (
    <MoneyPage title={t('money.scan.title')} back="/">
      {scanned !== null ? <Confirm scanned={scanned} onCancel={() => setScanned(null)} /> : (
        <>
          <Card title={t('money.scan.cameraTitle')}>
            {camera ? <CameraScanner onCode={(text) => void read(text)} /> : <Button onClick={() => setCamera(true)}>{t('money.scan.startCamera')}</Button>}
          </Card>
          <Card title={t('money.scan.pasteTitle')}>
            <form onSubmit={submitPaste}>
              <Field label={t('money.scan.pasteLabel')} hint={t('money.scan.pasteHint')} value={paste} onChange={(event) => setPaste(event.target.value)} autoComplete="off" spellCheck={false} required />
              <Button type="submit" disabled={busy || paste.trim() === ''}>{t('money.scan.read')}</Button>
            </form>
          </Card>
          {error === null ? null : <Notice kind="error">{error}</Notice>}
        </>
      )}
    </MoneyPage>
  );
}

/**
 * Merchant, store and amount, then the pay call (with the charge PIN when the server asks for it). Also the
 * order QR checkout page's (checkout.tsx): `onPaid` hears of the payment and `paidFooter` replaces the
 * "done" link; without `onCancel` there is no cancel button.
 */
export function Confirm(props: { scanned: Scanned; onCancel?: () => void; onPaid?: (paid: Paid) => void; paidFooter?: ReactNode }) {
  const { t, language } = useI18n();
  const { scanned } = props;
  const [amount, setAmount] = useState('');
  const [amountConfirmed, setAmountConfirmed] = useState(scanned.kind === 'dynamic');
  const [error, setError] = useState<{ code: string | null; text: string } | null>(null);
  const [busy, setBusy] = useState(false);
  const [paid, setPaid] = useState<Paid | null>(null);
  // Risk held the payment (202, status CREATED): it waits for a strong confirmation, asked for right here.
  const [held, setHeld] = useState<WaitingConfirmation | null>(null);
  // Asked for when the server says this payment needs strong confirmation (above the threshold, or risk asks).
  const [pin, setPin] = useState<string | null>(null);
  // One key per confirm screen: a double tap (or a retry after a lost answer) is one payment.
  const [intentKey] = useState(() => newIntentKey('scan'));
  const shownAmount = scanned.kind === 'dynamic' ? scanned.amount : amount;
  const paysWithPasskey = usePaysWithPasskey();
  const stepUp = useStepUp();

  // A customer who pays with a passkey confirms this very payment with it (the order, or the amount typed).
  async function passkeyProof(): Promise<Record<string, string> | null> {
    if (paysWithPasskey !== true) return {};
    const params: Record<string, string> = scanned.kind === 'dynamic' ? { method: 'order_qr', codeId: scanned.codeId } : { method: 'store_qr', amountMinor: amount };
    const grant = await stepUp({ action: 'pay', params, summary: `${formatYen(shownAmount ?? '0', language)} · ${[scanned.merchantName, scanned.storeName].filter(Boolean).join(' ')}` });
    return grant === null ? null : stepUpHeaders(grant);
  }

  async function pay() {
    setError(null);
    const headers = await passkeyProof();
    if (headers === null) return;
    setBusy(true);
    const confirmation = pin === null ? {} : { pin };
    try {
      const result = scanned.kind === 'dynamic'
        ? await api<Paid>('POST', `/v1/wallet/qr/${encodeURIComponent(scanned.codeId)}/pay`, confirmation, { headers })
        : await api<Paid>('POST', '/v1/wallet/static-qr/pay', { payload: scanned.payload, amount, idempotencyKey: intentKey, ...confirmation }, { headers });
      if (result.status === 'CREATED') {
        const waiting = (await waitingConfirmations()).find((w) => w.paymentId === result.paymentId);
        if (waiting !== undefined) setHeld(waiting);
        else setError({ code: null, text: t('money.scan.heldGone') });
        return;
      }
      setPaid(result);
      props.onPaid?.(result);
    } catch (failure) {
      const code = problemCode(failure);
      if (code === 'strong_confirmation_required') setPin('');
      setError({ code, text: code === 'strong_confirmation_required' ? t('money.scan.strongConfirmation') : problemText(t, failure) });
    } finally {
      setBusy(false);
    }
  }

  if (paid !== null) {
    return (
      <Card>
        <Notice kind="success"><strong>{t('money.scan.paid')}</strong></Notice>
        <p className="balance" data-testid="paid-amount">{formatYen(paid.amount, language)}</p>
        <p>{[scanned.merchantName, scanned.storeName].filter(Boolean).join(' ')}</p>
        {props.paidFooter ?? <Link to="/" className="button primary">{t('money.pay.done')}</Link>}
      </Card>
    );
  }
  if (error?.code === 'wallet_frozen') return <FrozenNotice />;
  if (held !== null) {
    return (
      <Card title={t('money.scan.heldTitle')}>
        <Notice kind="info">{t('money.scan.held')}</Notice>
        <ConfirmPaymentCard confirmation={held} onDone={(payment) => {
          setHeld(null);
          if (payment.status !== 'COMPLETED') {
            setError({ code: null, text: t('money.scan.heldGone') });
            return;
          }
          const result = { paymentId: payment.paymentId, amount: payment.amount, status: payment.status };
          setPaid(result);
          props.onPaid?.(result);
        }} />
      </Card>
    );
  }
  return (
    <Card title={t('money.scan.confirmTitle')}>
      <dl className="detail-list" data-testid="scan-preview">
        <dt>{t('money.scan.merchant')}</dt><dd>{scanned.merchantName}</dd>
        <dt>{t('money.scan.store')}</dt><dd>{scanned.storeName ?? '—'}</dd>
        {scanned.kind === 'dynamic' && scanned.orderDescription !== null ? <><dt>{t('money.detail.description')}</dt><dd>{scanned.orderDescription}</dd></> : null}
        {amountConfirmed && shownAmount !== null && shownAmount !== '' ? <><dt>{t('money.scan.amount')}</dt><dd className="confirm-amount">{formatYen(shownAmount, language)}</dd></> : null}
      </dl>
      {!amountConfirmed ? (
        <form onSubmit={(event) => { event.preventDefault(); if (/^[1-9][0-9]{0,9}$/.test(amount)) setAmountConfirmed(true); }}>
          <Field label={t('money.scan.amountLabel')} inputMode="numeric" pattern="[1-9][0-9]{0,9}" value={amount} onChange={(event) => setAmount(event.target.value.replace(/[^0-9]/g, ''))} required />
          <Button type="submit" disabled={!/^[1-9][0-9]{0,9}$/.test(amount)}>{t('money.scan.next')}</Button>
        </form>
      ) : (
        <form onSubmit={(event) => { event.preventDefault(); void pay(); }}>
          {pin === null ? null : <Field label={t('money.scan.pinLabel')} type="password" inputMode="numeric" autoComplete="off" maxLength={6} value={pin} onChange={(event) => setPin(event.target.value.replace(/[^0-9]/g, ''))} required />}
          <Button type="submit" disabled={busy || (pin !== null && pin.length !== 6)}>{t('money.scan.confirm', { amount: formatYen(shownAmount ?? '0', language) })}</Button>
        </form>
      )}
      {props.onCancel === undefined ? null : <Button variant="ghost" onClick={props.onCancel}>{t('common.cancel')}</Button>}
      {error === null ? null : <Notice kind="error">{error.text}</Notice>}
    </Card>
  );
}
