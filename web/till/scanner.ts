/**
 * Barcode scanners are keyboards: they type the code's digits within a few milliseconds and press Enter.
 * While the charge screen waits for a code, every keystroke on the page is watched (the staff never has
 * to click a field first). Digits that arrive slower than a scanner types start a new buffer, so a
 * person tapping keys does not produce a code by accident; keys typed into a text field are the field's.
 */
import { useEffect } from 'react';

/** A scanner types a 20-digit code in well under a second; people need far longer between keys. */
export const SCANNER_KEY_GAP_MS = 80;
const BUFFER_MAX = 64;

export function useScannerInput(onScan: (text: string) => void): void {
  useEffect(() => {
    let buffer = '';
    let lastKeyAt = 0;
    const onKeyDown = (event: KeyboardEvent) => {
      const target = event.target as HTMLElement | null;
      if (target !== null && (target.tagName === 'INPUT' || target.tagName === 'TEXTAREA')) return;
      const now = performance.now();
      if (now - lastKeyAt > SCANNER_KEY_GAP_MS) buffer = '';
      lastKeyAt = now;
      if (event.key === 'Enter') {
        if (buffer !== '') {
          event.preventDefault();
          onScan(buffer);
        }
        buffer = '';
        return;
      }
      if (/^[0-9]$/.test(event.key) && buffer.length < BUFFER_MAX) buffer += event.key;
    };
    addEventListener('keydown', onKeyDown);
    return () => removeEventListener('keydown', onKeyDown);
  }, [onScan]);
}
