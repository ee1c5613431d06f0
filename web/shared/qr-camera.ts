/**
 * Reads one QR code from the rear camera: getUserMedia frames drawn to a canvas and decoded with jsQR
 * a few times a second. The camera stops at the first code read (so one QR is one action, never five a
 * second) and when the screen goes away. Used by the wallet's Scan and the till's camera reader.
 */
import jsQR from 'jsqr';
import { useEffect, useRef, useState, type RefObject } from 'react';

const SCAN_INTERVAL_MS = 200;

export type CameraState = 'starting' | 'scanning' | 'unavailable';

export function useQrCamera(video: RefObject<HTMLVideoElement | null>, onCode: (text: string) => void): CameraState {
  const [state, setState] = useState<CameraState>('starting');
  const latestOnCode = useRef(onCode);
  latestOnCode.current = onCode;
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
          latestOnCode.current(found.data.trim());
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
  }, [video]);
  return state;
}
