/**
 * The payment moment: a full-screen confirmation the clerk can read across the counter — amount, store,
 * time and the new balance — with a short vibration and a chime. Both respect the device: nothing when
 * the customer asked for reduced motion, or turned feedback off (a setting kept in this browser).
 */
import { useEffect, useRef } from 'react';
import { formatYen, useI18n } from '../../shared/i18n.tsx';
import { Link } from '../../shared/router.tsx';
import { Button } from '../../shared/ui.tsx';
import { formatWhen } from './frame.tsx';

export interface PaidView { paymentId: string; amount: string; merchantName?: string; storeName?: string | null; acceptedAt?: string | null }

const FEEDBACK_KEY = 'koban.paymentFeedback';
const VIBRATION_MS = [60, 40, 60];

export function paymentFeedbackEnabled(): boolean {
  return localStorage.getItem(FEEDBACK_KEY) !== 'off';
}

export function setPaymentFeedback(enabled: boolean): void {
  localStorage.setItem(FEEDBACK_KEY, enabled ? 'on' : 'off');
}

/** Vibration and a two-note chime, unless reduced motion is asked for or feedback is off. Returns what was played. */
export function playPaymentFeedback(): { vibrated: boolean; chimed: boolean } {
  const played = { vibrated: false, chimed: false };
  if (!paymentFeedbackEnabled() || matchMedia('(prefers-reduced-motion: reduce)').matches) return played;
  if (typeof navigator.vibrate === 'function') played.vibrated = navigator.vibrate(VIBRATION_MS);
  try {
    const audio = new AudioContext();
    const gain = audio.createGain();
    gain.gain.value = 0.08;
    gain.connect(audio.destination);
    [880, 1320].forEach((frequency, index) => {
      const tone = audio.createOscillator();
      tone.frequency.value = frequency;
      tone.connect(gain);
      tone.start(audio.currentTime + index * 0.12);
      tone.stop(audio.currentTime + index * 0.12 + 0.1);
    });
    window.setTimeout(() => void audio.close().catch(() => undefined), 600);
    played.chimed = true;
  } catch {
    // No audio on this device (or autoplay refused): the screen says it all anyway.
  }
  return played;
}

export function PaidScreen(props: { paid: PaidView; balance: string | null; onAgain(): void }) {
  const { t, language } = useI18n();
  const heading = useRef<HTMLHeadingElement>(null);
  useEffect(() => {
    heading.current?.focus();
    const played = playPaymentFeedback();
    document.documentElement.dataset.paymentFeedback = `${played.vibrated ? 'vibrated' : 'still'} ${played.chimed ? 'chimed' : 'silent'}`;
  }, [props.paid.paymentId]);
  const where = [props.paid.merchantName, props.paid.storeName].filter((part): part is string => typeof part === 'string' && part !== '');
  // "Koban Mart Koban Mart Shibuya": a store named after its merchant says the store only.
  const place = where.length === 2 && where[1]!.startsWith(where[0]!) ? where[1]! : where.join(' ');
  return (
    <section className="paid-screen" role="region" aria-labelledby="paid-heading" data-testid="paid-screen">
      <div className="paid-check" aria-hidden="true">✓</div>
      <h2 id="paid-heading" ref={heading} tabIndex={-1}>{t('money.pay.paid')}</h2>
      {props.paid.amount === '' ? null : <p className="paid-amount" data-testid="paid-amount">{formatYen(props.paid.amount, language)}</p>}
      <dl className="paid-facts">
        {place === '' ? null : <><dt>{t('money.paid.store')}</dt><dd>{place}</dd></>}
        <dt>{t('money.paid.time')}</dt><dd>{formatWhen(props.paid.acceptedAt ?? new Date().toISOString(), language)}</dd>
        <dt>{t('money.paid.balance')}</dt><dd data-testid="paid-balance">{props.balance === null ? '—' : formatYen(props.balance, language)}</dd>
      </dl>
      <div className="paid-actions">
        <Link to="/" className="button primary">{t('money.pay.done')}</Link>
        <Button variant="secondary" onClick={props.onAgain}>{t('money.pay.again')}</Button>
      </div>
    </section>
  );
}
