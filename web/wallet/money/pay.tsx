/**
 * Pay at a till: a one-time code (20 digits, 5 minutes, this device only) shown as a CODE128 barcode, a
 * QR and the digits, high-contrast and large. A countdown shows how long it lives; the code is replaced
 * automatically shortly before it expires (minting a new one revokes the old). The screen asks whether a
 * till took the code every second or so and, the moment one did, shows the payment instead.
 *
 * A customer who pays with a passkey (issue 13) taps to confirm each code with it: no code is made without
 * it, none is replaced on its own, and an expired one gives way to the button again.
 */
import JsBarcode from 'jsbarcode';
import QRCode from 'qrcode';
import { useEffect, useRef, useState } from 'react';
import { api } from '../../shared/api.ts';
import { formatYen, useI18n } from '../../shared/i18n.tsx';
import { Link } from '../../shared/router.tsx';
import { Button, Card, Notice } from '../../shared/ui.tsx';
import { problemCode, problemText } from '../account/problems.ts';
import { FrozenNotice, MoneyPage, useSummary } from './frame.tsx';
import { ConfirmPaymentCard, waitingConfirmations, type WaitingConfirmation } from './confirmations.tsx';
import { PaidScreen, paymentFeedbackEnabled, setPaymentFeedback, type PaidView } from './paid-screen.tsx';
import { stepUpHeaders, useStepUp } from '../common/step-up.tsx';
import { usePaysWithPasskey } from '../common/pays-with-passkey.ts';

interface Minted { codeId: string; code: string; expiresAt: string }
interface CodeStatus { status: 'live' | 'used' | 'expired'; paymentId: string | null }

/** Refresh this long before expiry, so a code is never shown in its last seconds. */
const REFRESH_BEFORE_MS = 20_000;
const POLL_MS = 1_000;

export function PayPage() {
  const { t } = useI18n();
  const [paidCount, setPaidCount] = useState(0);
  // Read again once a till took the code: the success screen shows the new balance.
  const { summary } = useSummary(paidCount);
  const [minted, setMinted] = useState<Minted | null>(null);
  const [error, setError] = useState<{ code: string | null; text: string } | null>(null);
  const [paid, setPaid] = useState<PaidView | null>(null);
  // The till took the code but the payment waits for this customer's confirmation (confirmations.tsx).
  const [waiting, setWaiting] = useState<WaitingConfirmation | null>(null);
  const [generation, setGeneration] = useState(0);
  const now = useNow();
  useWakeLock(paid === null);
  const paysWithPasskey = usePaysWithPasskey();
  const stepUp = useStepUp();

  // Mint (again) whenever asked; a frozen wallet gets no code (the server would refuse it too). One mint per
  // generation however often React runs the effect (StrictMode runs it twice in development).
  const mint = useRef<{ generation: number; answer: Promise<Minted> } | null>(null);
  useEffect(() => {
    if (summary === null || summary.status !== 'active') {
      mint.current = null;
      return;
    }
    // A customer who pays with a passkey makes each code by tapping (mintWithPasskey).
    if (paysWithPasskey !== false) return;
    let live = true;
    setError(null);
    if (mint.current?.generation !== generation) mint.current = { generation, answer: api<Minted>('POST', '/v1/wallet/payment-codes', {}) };
    mint.current.answer.then((answer) => { if (live) setMinted(answer); }, (failure: unknown) => {
      if (live) setError({ code: problemCode(failure), text: problemText(t, failure) });
    });
    return () => { live = false; };
  }, [summary?.status, generation, paysWithPasskey]);

  async function mintWithPasskey() {
    setError(null);
    const grant = await stepUp({ action: 'pay', params: { method: 'code' } });
    if (grant === null) return;
    try {
      setMinted(await api<Minted>('POST', '/v1/wallet/payment-codes', {}, { headers: stepUpHeaders(grant) }));
    } catch (failure) {
      setError({ code: problemCode(failure), text: problemText(t, failure) });
    }
  }

  const remainingMs = minted === null ? 0 : new Date(minted.expiresAt).getTime() - now;
  useEffect(() => {
    if (minted === null || paid !== null) return;
    if (paysWithPasskey === true) {
      if (remainingMs <= 0) setMinted(null);
    } else if (remainingMs < REFRESH_BEFORE_MS) setGeneration((n) => n + 1);
  }, [minted?.codeId, paid, remainingMs < REFRESH_BEFORE_MS, remainingMs <= 0]);

  // Has a till taken it?
  useEffect(() => {
    if (minted === null || paid !== null || waiting !== null) return;
    let live = true;
    const timer = window.setInterval(() => {
      api<CodeStatus>('GET', `/v1/wallet/payment-codes/${encodeURIComponent(minted.codeId)}`).then(async (status) => {
        if (!live || status.status !== 'used' || status.paymentId === null) return;
        live = false;
        const held = (await waitingConfirmations().catch(() => [])).find((c) => c.paymentId === status.paymentId);
        if (held !== undefined) return setWaiting(held);
        const payments = await api<{ payments: PaidView[] }>('GET', '/v1/wallet/payments').catch(() => ({ payments: [] }));
        setPaid(payments.payments.find((p) => p.paymentId === status.paymentId) ?? { paymentId: status.paymentId, amount: '' });
        setPaidCount((n) => n + 1);
      }, () => undefined);
    }, POLL_MS);
    return () => { live = false; window.clearInterval(timer); };
  }, [minted?.codeId, paid, waiting]);

  if (summary?.status === 'frozen' || error?.code === 'wallet_frozen') {
    return <MoneyPage title={t('money.pay.title')} back="/"><FrozenNotice /></MoneyPage>;
  }
  if (waiting !== null) {
    return (
      <MoneyPage title={t('money.pay.title')} back="/">
        <ConfirmPaymentCard confirmation={waiting} onDone={(payment) => {
          setWaiting(null);
          if (payment.status === 'COMPLETED') {
            setPaid(payment);
            setPaidCount((n) => n + 1);
          } else {
            setMinted(null);
            setGeneration((n) => n + 1);
          }
        }} />
      </MoneyPage>
    );
  }
  if (paid !== null) {
    // Inside the page frame, so live notifications still arrive (the success screen covers it).
    return (
      <MoneyPage title={t('money.pay.title')} back="/">
        <PaidScreen paid={paid} balance={summary?.balance ?? null} onAgain={() => { setPaid(null); setMinted(null); setGeneration((n) => n + 1); }} />
      </MoneyPage>
    );
  }
  return (
    <MoneyPage title={t('money.pay.title')} back="/">
      {error === null ? null : <Notice kind="error">{error.text}</Notice>}
      {minted === null && paysWithPasskey === true ? (
        <section className="pay-passkey">
          <p>{t('money.pay.passkeyHint')}</p>
          <Button onClick={() => void mintWithPasskey()}>{t('money.pay.withPasskey')}</Button>
        </section>
      ) : minted === null ? (error === null ? <p role="status">{t('money.pay.minting')}</p> : <Button onClick={() => setGeneration((n) => n + 1)}>{t('money.pay.retry')}</Button>) : (
        <section className="pay-code" aria-label={t('money.pay.codeLabel')}>
          <p className="pay-hint">{t('money.pay.hint')}</p>
          <Barcode value={minted.code} label={t('money.pay.barcodeAlt')} />
          <QrImage value={minted.code} label={t('money.pay.qrAlt')} />
          <p className="pay-digits" aria-label={t('money.pay.digitsLabel')}>{minted.code.replace(/(\d{4})(?=\d)/g, '$1 ')}</p>
          <p className="pay-countdown" role="timer" aria-live="off">{t('money.pay.expiresIn', { time: clock(remainingMs) })}</p>
          <Button variant="secondary" onClick={() => (paysWithPasskey === true ? void mintWithPasskey() : setGeneration((n) => n + 1))}>{t('money.pay.refresh')}</Button>
        </section>
      )}
      {summary === null ? null : <PaySource balance={summary.balance} />}
      {paysWithPasskey === false && typeof window.PublicKeyCredential === 'function' ? <PasskeyOffer /> : null}
      <FeedbackSetting />
    </MoneyPage>
  );
}

/**
 * Without a passkey, a held payment is released with the PIN and an e-mailed code, and malware on this
 * phone can still spend in small steps at the usual stores (README, issue 13): the passkey closes that,
 * so the pay screen says so and links to where it is added.
 */
function PasskeyOffer() {
  const { t } = useI18n();
  return (
    <p className="pay-passkey-offer">
      {t('money.pay.passkeyOffer')} <Link to="/settings/passkeys">{t('money.pay.passkeyOfferLink')}</Link>
    </p>
  );
}

/** What the code pays from, and how much is there: a ¥0 wallet is warned before the clerk scans. */
function PaySource(props: { balance: string }) {
  const { t, language } = useI18n();
  const empty = props.balance === '0';
  return (
    <section className="pay-source" aria-label={t('money.pay.sourceLabel')}>
      <p className="pay-source-line"><span>{t('money.pay.source')}</span> <strong data-testid="pay-balance">{formatYen(props.balance, language)}</strong></p>
      {empty ? (
        <div className="notice error" role="alert">
          <p>{t('money.pay.emptyWarning')}</p>
          <Link to="/top-up" className="button primary">{t('money.home.emptyAction')}</Link>
        </div>
      ) : null}
    </section>
  );
}

/** The customer's own switch for the chime and vibration (the device's reduced-motion setting also silences them). */
function FeedbackSetting() {
  const { t } = useI18n();
  const [enabled, setEnabled] = useState(paymentFeedbackEnabled);
  return (
    <label className="feedback-setting">
      <input type="checkbox" checked={enabled} onChange={(event) => { setPaymentFeedback(event.target.checked); setEnabled(event.target.checked); }} />
      {t('money.pay.feedback')}
    </label>
  );
}

function Barcode(props: { value: string; label: string }) {
  const svg = useRef<SVGSVGElement>(null);
  useEffect(() => {
    if (svg.current !== null) JsBarcode(svg.current, props.value, { format: 'CODE128', displayValue: false, margin: 8, height: 90, width: 2, background: '#ffffff', lineColor: '#000000' });
  }, [props.value]);
  return <svg ref={svg} className="pay-barcode" role="img" aria-label={props.label} data-code={props.value} />;
}

/** A QR code of a text (also the Send screen's "send to me" link). */
export function QrImage(props: { value: string; label: string }) {
  const [src, setSrc] = useState<string | null>(null);
  useEffect(() => {
    let live = true;
    QRCode.toDataURL(props.value, { errorCorrectionLevel: 'M', margin: 2, width: 240, color: { dark: '#000000', light: '#ffffff' } }).then((url) => { if (live) setSrc(url); }, () => { if (live) setSrc(null); });
    return () => { live = false; };
  }, [props.value]);
  return src === null ? null : <img src={src} className="pay-qr" alt={props.label} width={240} height={240} />;
}

function clock(ms: number): string {
  const seconds = Math.max(0, Math.ceil(ms / 1000));
  return `${Math.floor(seconds / 60)}:${String(seconds % 60).padStart(2, '0')}`;
}

function useNow(): number {
  const [now, setNow] = useState(() => Date.now());
  useEffect(() => {
    const timer = window.setInterval(() => setNow(Date.now()), 1000);
    return () => window.clearInterval(timer);
  }, []);
  return now;
}

/** Keeps the screen on while a code is shown, where the browser allows it (Screen Wake Lock API). */
function useWakeLock(active: boolean): void {
  useEffect(() => {
    if (!active) return;
    const wakeLock = (navigator as Navigator & { wakeLock?: { request(type: 'screen'): Promise<{ release(): Promise<void> }> } }).wakeLock;
    let sentinel: { release(): Promise<void> } | null = null;
    let live = true;
    wakeLock?.request('screen').then((s) => { if (live) sentinel = s; else void s.release(); }, () => undefined);
    return () => { live = false; void sentinel?.release(); };
  }, [active]);
}
