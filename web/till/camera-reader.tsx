/** The tablet's camera reading the customer's QR (web/shared/qr-camera.ts): it holds their payment code as digits. */
import { useRef } from 'react';
import { useI18n } from '../shared/i18n.tsx';
import { useQrCamera } from '../shared/qr-camera.ts';
import { Button, Notice } from '../shared/ui.tsx';

export function CameraReader(props: { onCode(text: string): void; onStop(): void }) {
  const { t } = useI18n();
  const video = useRef<HTMLVideoElement>(null);
  const state = useQrCamera(video, props.onCode);
  return (
    <div className="till-camera">
      {state === 'unavailable' ? <Notice kind="error">{t('pay.cameraDenied')}</Notice> : <video ref={video} muted playsInline aria-label={t('pay.cameraVideo')} />}
      <Button variant="secondary" onClick={props.onStop}>{t('pay.cameraStop')}</Button>
    </div>
  );
}
