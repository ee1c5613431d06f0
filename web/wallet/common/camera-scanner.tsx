/**
 * The phone's camera reading a store's QR (web/shared/qr-camera.ts). Without a camera (or permission) it
 * says so; the scan screen then offers pasting.
 */
import { useRef } from 'react';
import { useI18n } from '../../shared/i18n.tsx';
import { useQrCamera } from '../../shared/qr-camera.ts';
import { Notice } from '../../shared/ui.tsx';

export function CameraScanner(props: { onCode(text: string): void }) {
  const { t } = useI18n();
  const video = useRef<HTMLVideoElement>(null);
  const state = useQrCamera(video, props.onCode);
  return (
    <div className="camera">
      {state === 'unavailable' ? <Notice kind="info">{t('money.scan.noCamera')}</Notice> : null}
      <video ref={video} className={state === 'scanning' ? 'camera-video' : 'visually-hidden'} muted playsInline aria-label={t('money.scan.cameraLabel')} />
      {state === 'starting' ? <p role="status">{t('money.scan.starting')}</p> : null}
    </div>
  );
}
