/**
 * Reads a QR code with the phone's camera: getUserMedia (rear camera) frames drawn to a canvas and
 * decoded with jsQR a few times a second. Stops the camera as soon as a code is read or the screen
 * goes away. Without a camera (or permission) it says so; the scan screen then offers pasting.
 */
import jsQR from 'jsqr';
import { useEffect, useRef, useState } from 'react';
import { useI18n } from '../../shared/i18n.tsx';
import { Notice } from '../../shared/ui.tsx';

const SCAN_INTERVAL_MS = 200;

export function CameraScanner(props: { onCode(text: string): void }) {
  const { t } = useI18n();
  const video = useRef<HTMLVideoElement>(null);
  const [state, setState] = useState<'starting' | 'scanning' | 'unavailable'>('starting');
  const onCode = useRef(props.onCode);
  onCode.current = props.onCode;
  useEffect(() => {
    let stream: MediaStream | null = null;
    let timer: number | undefined;
    let stopped = false;
    const canvas = document.createElement('canvas');
    const context = canvas.getContext('2d', { willReadFrequently: true });
    const stop = () => {
      stopped = true;
      window.clearTimeout(timer);
      stream?.getTracks().forEach((track) => track.stop());
    };
    const scan = () => {
      const element = video.current;
      if (stopped || element === null || context === null) return;
      if (element.readyState >= element.HAVE_ENOUGH_DATA && element.videoWidth > 0) {
        canvas.width = element.videoWidth;
        canvas.height = element.videoHeight;
        context.drawImage(element, 0, 0);
        const frame = context.getImageData(0, 0, canvas.width, canvas.height);
        const found = jsQR(frame.data, frame.width, frame.height, { inversionAttempts: 'attemptBoth' });
        if (found !== null && found.data.trim() !== '') {
          stop();
          onCode.current(found.data.trim());
          return;
        }
      }
      timer = window.setTimeout(scan, SCAN_INTERVAL_MS);
    };
    if (navigator.mediaDevices?.getUserMedia === undefined) setState('unavailable');
    else {
      navigator.mediaDevices.getUserMedia({ video: { facingMode: 'environment' }, audio: false }).then((media) => {
        if (stopped) { media.getTracks().forEach((track) => track.stop()); return; }
        stream = media;
        if (video.current !== null) {
          video.current.srcObject = media;
          void video.current.play().catch(() => undefined);
        }
        setState('scanning');
        scan();
      }, () => setState('unavailable'));
    }
    return stop;
  }, []);
  return (
    <div className="camera">
      {state === 'unavailable' ? <Notice kind="info">{t('money.scan.noCamera')}</Notice> : null}
      <video ref={video} className={state === 'scanning' ? 'camera-video' : 'visually-hidden'} muted playsInline aria-label={t('money.scan.cameraLabel')} />
      {state === 'starting' ? <p role="status">{t('money.scan.starting')}</p> : null}
    </div>
  );
}
