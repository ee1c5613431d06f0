/**
 * Today's sales of this till, with totals, and the two ways to give money back: cancel (today's payment,
 * everything not yet refunded) and refund (full or partial). Both need a reason and a confirmation.
 */
import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { formatYen, useI18n } from '../shared/i18n.tsx';
import { NoAnswerError } from '../shared/api.ts';
import { Button, Card, ConnectionLost, Field, NoAnswer, Notice } from '../shared/ui.tsx';
import { appendDigit } from './keypad.tsx';
import { ReceiptQr } from './receipt-qr.tsx';
import { newMerchantPaymentId, reasonKey, tillApi, type Sales, type TillPayment, type Totals } from './till-api.ts';

export const SALES_REFRESH_MS = 15_000;

type Action = { kind: 'cancel' | 'refund'; payment: TillPayment };

export function SalesScreen() {
  const { t } = useI18n();
  const [sales, setSales] = useState<Sales | null>(null);
  const [error, setError] = useState<string | null>(null);
  const [action, setAction] = useState<Action | null>(null);
  const [done, setDone] = useState(false);
  const [lastUpdatedAt, setLastUpdatedAt] = useState<number | null>(null);
  const [stale, setStale] = useState(false);
  const load = useCallback(async () => {
    try {
      setSales(await tillApi.sales());
      setError(null);
      setStale(false);
      setLastUpdatedAt(Date.now());
    } catch (failure) {
      setStale(true);
      if (failure instanceof NoAnswerError) return setError(null); // the connection-lost line says it
      const reason = reasonKey(failure, (k) => t(k) !== k);
      setError(t(reason.key, { code: reason.code }));
    }
  }, [t]);
  // Other tills of the store sell too: read the day again while the screen is visible.
  useEffect(() => {
    void load();
    const timer = window.setInterval(() => { if (document.visibilityState === 'visible') void load(); }, SALES_REFRESH_MS);
    return () => window.clearInterval(timer);
  }, [load]);

  if (sales === null) {
    return <Card>{error !== null ? <Notice kind="error">{error}</Notice> : stale ? <NoAnswer onRetry={() => void load()} /> : <p role="status">{t('loading')}</p>}</Card>;
  }
  return (
    <>
      {stale ? <ConnectionLost lastUpdatedAt={lastUpdatedAt} onRetry={() => void load()} /> : null}
      <TotalsCard title={t('sales.title', { date: sales.businessDate })} totals={sales.totals} />
      {done ? <Notice kind="success">{t('sales.done')}</Notice> : null}
      {error !== null ? <Notice kind="error">{error}</Notice> : null}
      {action !== null
        ? <ReverseForm action={action} onDone={() => { setAction(null); setDone(true); void load(); }} onBack={() => setAction(null)} />
        : null}
      <Card title={t('nav.sales')}>
        {sales.payments.length === 0 ? <p>{t('sales.empty')}</p> : (
          <ul className="till-sales">
            {sales.payments.map((payment) => (
              <SaleRow key={payment.paymentId} payment={payment} closed={sales.close !== null}
                onAction={(kind) => { setDone(false); setAction({ kind, payment }); }} />
            ))}
          </ul>
        )}
      </Card>
    </>
  );
}

export function TotalsCard(props: { title: string; totals: Totals }) {
  const { t, language } = useI18n();
  const { totals } = props;
  const line = (label: string, amount: string) => <><dt>{label}</dt><dd>{formatYen(amount, language)}</dd></>;
  return (
    <Card title={props.title}>
      <dl className="till-totals">
        {line(t('sales.payments', { count: totals.paymentsCount }), totals.gross)}
        {line(t('sales.cancels', { count: totals.cancelsCount }), totals.cancels === '0' ? '0' : `-${totals.cancels}`)}
        {line(t('sales.refunds', { count: totals.refundsCount }), totals.refunds === '0' ? '0' : `-${totals.refunds}`)}
        <dt className="till-net">{t('sales.net')}</dt><dd className="till-net">{formatYen(totals.net, language)}</dd>
      </dl>
    </Card>
  );
}

/** COMPLETED with some money refunded reads 「一部返金」; everything else is the payment's own status. */
export function shownStatus(payment: Pick<TillPayment, 'status' | 'refunded'>): string {
  return payment.status === 'COMPLETED' && payment.refunded !== '0' ? 'PARTIALLY_REFUNDED' : payment.status;
}

const REASON_PRESETS = ['returned', 'wrongAmount', 'double', 'customer'] as const;

function SaleRow(props: { payment: TillPayment; closed: boolean; onAction(kind: 'cancel' | 'refund'): void }) {
  const { t, language } = useI18n();
  const { payment } = props;
  const time = payment.acceptedAt === null ? '' : new Date(payment.acceptedAt).toLocaleTimeString(language === 'ja' ? 'ja-JP' : 'en-GB', { hour: '2-digit', minute: '2-digit', timeZone: 'Asia/Tokyo' });
  return (
    <li className="till-sale">
      <div className="till-sale-main">
        <span className="till-sale-time">{time}</span>
        <span className="till-sale-amount">{formatYen(payment.amount, language)}</span>
        <span className={`till-badge ${shownStatus(payment).toLowerCase()}`}>{t(`status.${shownStatus(payment)}`)}</span>
      </div>
      <p className="hint till-sale-meta">{t(`method.${payment.kind}`)}{payment.codeTail === null ? '' : ` ••••${payment.codeTail}`} · {t('sales.receipt', { number: payment.receiptNumber })}</p>
      {payment.refunded !== '0' ? <p className="hint">{t('sales.refunded', { amount: formatYen(payment.refunded, language) })}</p> : null}
      {payment.reasons.map((r) => <p key={`${r.kind}-${r.at}`} className="hint">{t(r.kind === 'cancel' ? 'sales.cancel' : 'sales.refund')}: {r.reason}</p>)}
      {payment.receiptUrl !== null ? <ReceiptQr url={payment.receiptUrl} receiptNumber={payment.receiptNumber} /> : null}
      {props.closed ? null : (
        <div className="row till-actions">
          {payment.cancelable ? <Button variant="secondary" onClick={() => props.onAction('cancel')} aria-label={`${t('sales.cancel')} ${formatYen(payment.amount, language)} ${time}`}>{t('sales.cancel')}</Button> : null}
          {payment.refundable !== '0' ? <Button variant="secondary" onClick={() => props.onAction('refund')} aria-label={`${t('sales.refund')} ${formatYen(payment.amount, language)} ${time}`}>{t('sales.refund')}</Button> : null}
        </div>
      )}
    </li>
  );
}

/** Reason (and amount for a refund), then an explicit confirmation; the refund id is fixed per form so a retry is safe. */
function ReverseForm(props: { action: Action; onDone(): void; onBack(): void }) {
  const { t, language } = useI18n();
  const { payment, kind } = props.action;
  const [reason, setReason] = useState('');
  const [amount, setAmount] = useState(kind === 'refund' ? payment.refundable : '');
  const [confirming, setConfirming] = useState(false);
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [merchantRefundId] = useState(() => newMerchantPaymentId().replace('till-', 'refund-'));
  // A cancel gives back what was not refunded yet: after a partial refund that is less than the sale.
  const shown = kind === 'cancel' ? payment.refundable : amount;
  const partlyRefunded = kind === 'cancel' && payment.refunded !== '0';
  const amountOk = kind === 'cancel' || (/^[1-9][0-9]*$/.test(amount) && BigInt(amount) <= BigInt(payment.refundable));

  const next = (event: FormEvent) => {
    event.preventDefault();
    if (reason.trim() === '') return setError(t('sales.reasonRequired'));
    if (!amountOk) return setError(t('sales.amountInvalid'));
    setError(null);
    setConfirming(true);
  };
  const confirm = async () => {
    setBusy(true);
    try {
      if (kind === 'cancel') await tillApi.cancel(payment.merchantPaymentId, reason.trim());
      else await tillApi.refund(payment.merchantPaymentId, merchantRefundId, amount, reason.trim());
      props.onDone();
    } catch (failure) {
      const found = reasonKey(failure, (k) => t(k) !== k);
      setError(t(found.key, { code: found.code }));
      setConfirming(false);
    } finally {
      setBusy(false);
    }
  };
  return (
    <Card title={`${t(kind === 'cancel' ? 'sales.cancel' : 'sales.refund')} ${formatYen(payment.amount, language)}`}>
      {confirming ? (
        <>
          <p className="till-confirm" role="alert">{partlyRefunded
            ? t('sales.confirmCancelPartly', { amount: formatYen(payment.amount, language), back: formatYen(shown, language) })
            : t(kind === 'cancel' ? 'sales.confirmCancel' : 'sales.confirmRefund', { amount: formatYen(shown, language) })}</p>
          <div className="row till-actions">
            <Button variant="secondary" onClick={() => setConfirming(false)}>{t('sales.back')}</Button>
            <Button variant="danger" disabled={busy} onClick={() => void confirm()}>{t('sales.confirm')}</Button>
          </div>
        </>
      ) : (
        <form onSubmit={next}>
          {kind === 'refund'
            ? <Field label={t('sales.refundAmount', { amount: formatYen(payment.refundable, language) })} inputMode="numeric" value={amount}
                onChange={(event) => setAmount([...event.target.value].reduce(appendDigit, ''))} />
            : null}
          <fieldset className="till-presets">
            <legend>{t('sales.presets')}</legend>
            <div className="row">
              {REASON_PRESETS.map((preset) => (
                <Button key={preset} variant="secondary" aria-pressed={reason === t(`sales.preset.${preset}`)} onClick={() => setReason(t(`sales.preset.${preset}`))}>{t(`sales.preset.${preset}`)}</Button>
              ))}
            </div>
          </fieldset>
          <Field label={t('sales.reason')} value={reason} maxLength={255} onChange={(event) => setReason(event.target.value)} error={error} />
          <div className="row till-actions">
            <Button variant="secondary" onClick={props.onBack}>{t('sales.back')}</Button>
            <Button type="submit">{t('sales.next')}</Button>
          </div>
        </form>
      )}
    </Card>
  );
}
