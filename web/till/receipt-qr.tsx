/**
 * The receipt by QR (issue 17): a button that shows a QR of the payment's public receipt page
 * (src/payments/receipts.ts) for the customer to scan with their phone's camera. The page shows the
 * store, amount, time, receipt number and status, never who paid.
 */
import QRCode from 'qrcode';
import { useEffect, useState } from 'react';
import { useI18n } from '../shared/i18n.tsx';
import { Button } from '../shared/ui.tsx';

export function ReceiptQr(props: { url: string; receiptNumber: string }) {
  const { t } = useI18n();
  const [open, setOpen] = useState(false);
  const [image, setImage] = useState<string | null>(null);
  useEffect(() => {
    if (!open || image !== null) return;
    void QRCode.toDataURL(props.url, { errorCorrectionLevel: 'M', margin: 2, width: 240 }).then(setImage);
  }, [open, image, props.url]);
  return (
    <div className="till-receipt-qr">
      <Button variant="secondary" aria-expanded={open} onClick={() => setOpen((now) => !now)}>{t(open ? 'receipt.hide' : 'receipt.show')}</Button>
      {open && image !== null ? (
        <figure>
          <img src={image} width={240} height={240} alt={t('receipt.qrAlt', { number: props.receiptNumber })} />
          <figcaption className="hint">{t('receipt.scanHint')}</figcaption>
        </figure>
      ) : null}
    </div>
  );
}
