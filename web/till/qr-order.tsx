/**
 * A dynamic QR for the keyed amount: the customer scans it with the Koban wallet and pays. The till
 * polls the order every second and shows the result the moment it is paid; staff can withdraw an
 * unpaid QR (it stops working at once).
 */
import QRCode from 'qrcode';
import { useEffect, useState } from 'react';
import { ApiError } from '../shared/api.ts';
import { formatYen, useI18n } from '../shared/i18n.tsx';
import { Button, Card, Notice } from '../shared/ui.tsx';
import { reasonKey, tillApi, type TillOrder } from './till-api.ts';

const POLL_MS = 1_000;

export function QrOrder(props: { amount: string; merchantPaymentId: string; onPaid(amount: string): void; onCancel(): void; onSessionEnded(): void }) {
  const { t, language } = useI18n();
  const [order, setOrder] = useState<TillOrder | null>(null);
  const [image, setImage] = useState<string | null>(null);
  const [error, setError] = useState<{ key: string; code: string } | null>(null);
  const { amount, merchantPaymentId, onPaid, onSessionEnded } = props;

  useEffect(() => {
    let stopped = false;
    let timer: number | undefined;
    const fail = (failure: unknown) => {
      if (failure instanceof ApiError && failure.problem.status === 401) return onSessionEnded();
      setError(reasonKey(failure, (k) => t(k) !== k));
    };
    const poll = async () => {
      try {
        const next = await tillApi.order(merchantPaymentId);
        if (stopped) return;
        setOrder(next);
        if (next.state === 'COMPLETED') return onPaid(next.amount);
        if (next.state !== 'WAITING') return;
      } catch (failure) {
        // A lost poll is retried; the order itself is safe on the server.
        if (failure instanceof ApiError) return fail(failure);
      }
      timer = window.setTimeout(() => void poll(), POLL_MS);
    };
    tillApi.createOrder(merchantPaymentId, amount)
      .then(async (created) => {
        if (stopped) return;
        setOrder(created);
        setImage(await QRCode.toDataURL(created.qrPayload, { errorCorrectionLevel: 'M', margin: 2, width: 320 }));
        timer = window.setTimeout(() => void poll(), POLL_MS);
      })
      .catch(fail);
    return () => {
      stopped = true;
      window.clearTimeout(timer);
    };
    // The order is created once per sale id; language changes do not recreate it.
  }, [merchantPaymentId, amount]);

  const withdraw = async () => {
    try {
      if (order !== null && order.state === 'WAITING') await tillApi.withdrawOrder(merchantPaymentId);
    } catch {
      // Paid meanwhile, or already gone: the sales list shows what happened.
    }
    props.onCancel();
  };

  return (
    <Card title={t('qr.title')}>
      <p className="till-due">{t('pay.amount', { amount: formatYen(amount, language) })}</p>
      {image !== null ? <img className="till-qr" src={image} alt={t('qr.image', { amount: formatYen(amount, language) })} /> : null}
      {error !== null ? <Notice kind="error">{t(error.key, { code: error.code })}</Notice> : null}
      {order?.state === 'EXPIRED' ? <Notice kind="error">{t('qr.expired')}</Notice> : null}
      {order?.state === 'WAITING' && error === null ? <p className="till-progress" role="status">{t('qr.waiting')}</p> : null}
      <div className="row till-actions">
        <Button variant="secondary" onClick={() => void withdraw()}>{t('qr.cancel')}</Button>
      </div>
    </Card>
  );
}
