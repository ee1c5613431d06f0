/**
 * Reads a QR code from the tablet's camera: getUserMedia frames drawn to a canvas and decoded with jsQR
 * a few times a second. The customer's QR holds their payment code as plain digits.
 */
import jsQR from 'jsqr';
import { useEffect, useRef, useState } from 'react';
import { useI18n } from '../shared/i18n.tsx';
import { Button, Notice } from '../shared/ui.tsx';

const SCAN_INTERVAL_MS = 200;

export function CameraReader(props: { onCode(text: string): void; onStop(): void }) {
  const { t } = useI18n();
  const video = useRef<HTMLVideoElement>(null);
  const [denied, setDenied] = useState(false);
  const { onCode } = props;
  useEffect(() => {
    let stream: MediaStream | null = null;
    let timer: number | undefined;
    let stopped = false;
    const canvas = document.createElement('canvas');
    const context = canvas.getContext('2d', { willReadFrequently: true });
    const scan = () => {
      const element = video.current;
      if (stopped || element === null || context === null) return;
      if (element.readyState >= element.HAVE_ENOUGH_DATA && element.videoWidth > 0) {
        canvas.width = element.videoWidth;
        canvas.height = element.videoHeight;
        context.drawImage(element, 0, 0);
        const frame = context.getImageData(0, 0, canvas.width, canvas.height);
        const found = jsQR(frame.data, frame.width, frame.height, { inversionAttempts: 'dontInvert' });
        if (found !== null && found.data !== '') onCode(found.data.trim());
      }
      timer = window.setTimeout(scan, SCAN_INTERVAL_MS);
    };
    navigator.mediaDevices?.getUserMedia({ video: { facingMode: 'environment' }, audio: false })
      .then((media) => {
        if (stopped) { media.getTracks().forEach((track) => track.stop()); return; }
        stream = media;
        if (video.current !== null) {
          video.current.srcObject = media;
          void video.current.play();
        }
        scan();
      })
      .catch(() => setDenied(true)) ?? setDenied(true);
    return () => {
      stopped = true;
      window.clearTimeout(timer);
      stream?.getTracks().forEach((track) => track.stop());
    };
  }, [onCode]);
  return (
    <div className="till-camera">
      {denied ? <Notice kind="error">{t('pay.cameraDenied')}</Notice> : <video ref={video} muted playsInline aria-label={t('pay.cameraVideo')} />}
      <Button variant="secondary" onClick={props.onStop}>{t('pay.cameraStop')}</Button>
    </div>
  );
}
